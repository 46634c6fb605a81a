// Settings refresh: the first read must succeed; later failures keep the last good settings; changes are reported.
import { OutboxError } from '../../src';
import { RefreshingSettings } from '../../src/core/refreshingSettings';

function logger() {
  const errors: string[] = [];
  return { errors, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => void errors.push(m) };
}

it('throws the first read error, then reads at most once per interval and keeps the last good settings on failure', async () => {
  const log = logger();
  const results: Array<{ batchSize: number } | Error> = [new OutboxError('InvalidSettings', 'obx_BatchSize must be a whole number'), { batchSize: 100 }, new Error('Dataverse 503'), { batchSize: 200 }];
  let reads = 0;
  const changes: number[] = [];
  const settings = new RefreshingSettings({
    read: async () => {
      const r = results[reads++]!;
      if (r instanceof Error) throw r;
      return r;
    },
    refreshIntervalInMs: 50,
    logger: log,
    what: 'settings',
    onChange: (next) => changes.push(next.batchSize),
  });
  await expect(settings.get()).rejects.toMatchObject({ code: 'InvalidSettings' });
  expect(settings.current).toBeUndefined();
  expect(await settings.get()).toEqual({ batchSize: 100 });
  expect(await settings.get()).toEqual({ batchSize: 100 });
  expect(reads).toBe(2);
  await new Promise((r) => setTimeout(r, 60));
  expect(await settings.get()).toEqual({ batchSize: 100 });
  expect(log.errors).toEqual(['settings refresh failed; keeping the last good settings']);
  await new Promise((r) => setTimeout(r, 60));
  expect(await settings.get()).toEqual({ batchSize: 200 });
  expect(changes).toEqual([200]);
});
