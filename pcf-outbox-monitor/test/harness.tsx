// Mounts the real control class against the fake context the way the host does: init, then updateView on every
// change, rendering the element updateView returns.
import { act, cleanup, render, type RenderResult } from '@testing-library/react';
import { OutboxMonitor } from '../OutboxMonitor/index';
import { createFakeContext, type FakeContext, type FakeOptions } from './fakeContext';

export interface Mounted extends FakeContext {
  control: OutboxMonitor;
  view: RenderResult;
  /** A host update that is not a dataset change (resize, theme, ...). */
  update: (updatedProperties: string[], change?: (context: ComponentFramework.Context<never>) => void) => void;
}

export function mountMonitor(options: FakeOptions): Mounted {
  const fake = createFakeContext(options);
  // The page's fetch (the control's conditional writes go through it): the fake Web API over the same table.
  globalThis.fetch = fake.fetch;
  const control = new OutboxMonitor();
  control.init(fake.context);
  fake.context.updatedProperties = ['dataset'];
  const view = render(control.updateView(fake.context));
  fake.onDatasetChanged(() => {
    fake.context.updatedProperties = ['dataset'];
    view.rerender(control.updateView(fake.context));
  });
  return {
    ...fake,
    control,
    view,
    update: (updatedProperties, change) => {
      change?.(fake.context as unknown as ComponentFramework.Context<never>);
      fake.context.updatedProperties = updatedProperties;
      view.rerender(control.updateView(fake.context));
    },
  };
}

/** Lets pending Web API promises settle inside act, then unmounts: no state updates after a test ends. */
export async function settleAndCleanup(): Promise<void> {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
  cleanup();
}
