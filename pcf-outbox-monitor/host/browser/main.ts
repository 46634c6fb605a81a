// The host page's script: plays the part of the model-driven app around the control. It provides the platform
// libraries' globals (set by the page), a context (dataset + webAPI over the Dataverse Web API), and the
// init/updateView cycle, then mounts the production bundle's control exactly as registered.
import { OutboxMessage } from '@dataverse-outbox/contract';
import type * as ReactNS from 'react';
import type * as ReactDomNS from 'react-dom';
import { createHostDataset, type ViewColumn } from './dataset';
import { withPageToken } from './pageToken';
import { createHostClient, createWebApi } from './webApi';

export interface HostConfig {
  apiBase: string;
  pageSize: number;
  /** Fixed width for the control (px), or 0 to follow the window. */
  width: number;
  /** The host's per-page token; its proxy refuses Web API calls without it. */
  pageToken: string;
}

type ControlConstructor = new () => ComponentFramework.ReactControl<Record<string, unknown>, Record<string, unknown>>;

interface HostState {
  /** Records opened with openDatasetItem (the page has no forms to navigate to). */
  opened: ComponentFramework.EntityReference[];
  renders: number;
  ready: boolean;
  errors: string[];
}

declare global {
  interface Window {
    __OBX_HOST__: HostConfig;
    __obxHost: HostState;
    React: typeof ReactNS;
    ReactDOM: typeof ReactDomNS;
  }
}

const c = OutboxMessage.columns;
const view: ViewColumn[] = [
  { name: c.status, displayName: 'Status', dataType: 'OptionSet' },
  { name: c.name, displayName: 'Name', dataType: 'SingleLine.Text' },
  { name: c.target, displayName: 'Target', dataType: 'SingleLine.Text' },
  { name: c.eventType, displayName: 'Event type', dataType: 'SingleLine.Text' },
  { name: c.sessionKey, displayName: 'Session key', dataType: 'SingleLine.Text' },
  { name: c.attempts, displayName: 'Attempts', dataType: 'Whole.None' },
  { name: c.createdOn, displayName: 'Created on', dataType: 'DateAndTime.DateAndTime' },
  { name: c.lastError, displayName: 'Last error', dataType: 'Multiple' },
  // Not a grid column: it tells a scheduled row ("Scheduled until <time>") from a plain Pending one.
  { name: c.nextAttemptOn, displayName: 'Next attempt on', dataType: 'DateAndTime.DateAndTime' },
];

// Model-driven apps register Fluent's icon font before controls load. The host page has no font (and no internet), so it
// registers text glyphs (DejaVu Sans) for the icons Fluent's grid, checkboxes, panels and message bars use.
interface FluentGlobal {
  registerIcons(definition: { icons: Record<string, unknown> }, options?: { disableWarnings: boolean }): void;
  unregisterIcons(names: string[]): void;
}
const glyphs: Record<string, string> = {
  CheckMark: '\u2713',
  StatusCircleCheckmark: '\u2713',
  CircleRing: '\u25CB',
  StatusCircleRing: '\u25CB',
  SortUp: '\u2191',
  SortDown: '\u2193',
  ChevronDown: '\u25BE',
  ChevronUp: '\u25B4',
  Cancel: '\u2715',
  Clear: '\u2715',
  Info: '\u2139',
  Warning: '\u26A0',
  ErrorBadge: '\u2716',
  Error: '\u2716',
  Blocked2: '\u2716',
  Completed: '\u2714',
};
const fluent = (window as unknown as { FluentUIReact?: FluentGlobal }).FluentUIReact;
// The UMD build registers the MDL2 icon names against its (unreachable) web font: replace those entries.
fluent?.unregisterIcons(Object.keys(glyphs));
fluent?.registerIcons(
  {
    icons: Object.fromEntries(
      Object.entries(glyphs).map(([name, glyph]) => [name, window.React.createElement('span', { style: { fontFamily: 'DejaVu Sans, sans-serif' } }, glyph)]),
    ),
  },
  { disableWarnings: true },
);

const state: HostState = { opened: [], renders: 0, ready: false, errors: [] };
window.__obxHost = state;

function mount(Control: ControlConstructor): void {
  const config = window.__OBX_HOST__;
  const root = document.getElementById('control-root');
  if (!root) throw new Error('host page: #control-root is missing');
  const control = new Control();
  let updated: string[] = ['dataset'];
  let scheduled = false;
  const width = (): number => (config.width > 0 ? config.width : root.clientWidth);

  const render = (): void => {
    scheduled = false;
    context.updatedProperties = updated;
    updated = [];
    context.mode.allocatedWidth = width();
    window.ReactDOM.render(control.updateView(context), root);
    state.renders += 1;
  };
  // Like the platform: changes are batched into one updateView on the next task.
  const schedule = (property: string): void => {
    if (!updated.includes(property)) updated.push(property);
    if (!scheduled) {
      scheduled = true;
      setTimeout(render, 0);
    }
  };

  const hostFetch = withPageToken(config.pageToken);
  // In a model-driven app the session cookie authenticates every same-origin Web API call, the control's own fetch
  // included (its conditional writes with If-Match); here the page token plays that part, for this origin only.
  const pageFetch = window.fetch.bind(window);
  window.fetch = (input, init) =>
    new URL(input instanceof Request ? input.url : String(input), window.location.href).origin === window.location.origin
      ? hostFetch(input, init)
      : pageFetch(input, init);
  // One Web API client for the page's dataset and context.webAPI: no credential (the proxy adds it), the page token added by hostFetch.
  const client = createHostClient(config.apiBase, hostFetch);
  const dataset = createHostDataset({
    client,
    entity: OutboxMessage.logicalName,
    columns: view,
    defaultOrder: { column: c.createdOn, descending: true },
    onChange: () => schedule('dataset'),
    onOpen: (reference) => {
      state.opened.push(reference);
      const note = document.getElementById('host-note');
      if (note) note.textContent = `Would open ${reference.etn} ${reference.id.guid}`;
    },
  });

  const context = {
    parameters: {
      records: dataset,
      pageSize: { raw: config.pageSize, formatted: String(config.pageSize), type: 'Whole.None', error: false, errorMessage: '' },
    },
    updatedProperties: [] as string[],
    mode: {
      allocatedWidth: width(),
      allocatedHeight: -1,
      isControlDisabled: false,
      isVisible: true,
  label: 'Outbox Monitor',
      trackContainerResize: () => undefined,
      setControlState: () => true,
      setFullScreen: () => undefined,
    },
    webAPI: createWebApi(client),
    userSettings: { languageId: 1033, userId: '', userName: 'host', isRTL: false },
    client: { getClient: () => 'Web', getFormFactor: () => 1, isOffline: () => false },
  } as unknown as ComponentFramework.Context<Record<string, unknown>> & { updatedProperties: string[]; mode: { allocatedWidth: number } };

  window.addEventListener('resize', () => schedule('layout'));
  control.init(context, () => undefined, {});
  render();
  state.ready = true;
}

// The bundle registers its control through window.ComponentFramework.registerControl when the host provides it.
(window as unknown as { ComponentFramework: { registerControl: (name: string, ctor: ControlConstructor) => void } }).ComponentFramework = {
  registerControl: (name, ctor) => {
    if (name !== 'Obx.OutboxMonitor') {
      state.errors.push(`unexpected control ${name}`);
      return;
    }
    try {
      mount(ctor);
    } catch (error) {
      state.errors.push(error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error));
      throw error;
    }
  },
};
