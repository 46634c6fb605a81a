// kill -9 of the change-tracking worker after it sent a delta's messages and before its checkpoint write landed: the
// next run reads the same changes again and re-sends them with the same messageIds; duplicate detection drops them.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Settings } from '@dataverse-outbox/contract';
import { DataverseLeaseStore } from '../../src';
import { CT_QUEUE, drainSessions, eventually, startCtEnv, type CtEnv } from './support';

jest.setTimeout(180_000);

const SOURCE = { name: 'opportunities', table: 'opportunity', entitySet: 'opportunities', columns: ['name'], target: CT_QUEUE, eventType: 'OpportunityChanged' };

let env: CtEnv | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await env?.close();
});

it('re-sends with the same messageIds after a kill -9 between send and checkpoint; duplicates are dropped', async () => {
  env = await startCtEnv({ [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([SOURCE]) });
  const ids = await env.crm.createMultiple('opportunities', 'opportunity', [{ name: 'R1' }, { name: 'R2' }, { name: 'R3' }]);
  // The checkpoint write hangs: the worker has sent, and dies before Dataverse has its checkpoint.
  const fault = env.dv.injectFault({ kind: 'timeout', rate: 1, entitySet: 'obx_changecheckpoints', method: 'PATCH', timeoutMs: 120_000 });

  const workspace = path.resolve(__dirname, '..', '..');
  let output = '';
  child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(workspace, 'src', 'changetracking', 'main.ts')], {
    cwd: workspace,
    env: {
      PATH: process.env.PATH,
      DATAVERSE_URL: env.dv.url,
      DATAVERSE_TOKEN: 'publisher-app',
      SERVICEBUS_CONNECTION_STRING: env.sb.connectionString,
      OUTBOX_ALLOWED_TARGETS: JSON.stringify([CT_QUEUE]),
      [Settings.ChangeTrackingSources.appSetting]: JSON.stringify([SOURCE]),
      OUTBOX_CHANGE_TRACKING_POLL_MS: '200',
      OUTBOX_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));

  await eventually(async () => (env!.dv.listFaults().find((f) => f.id === fault.id)?.hits ?? 0) > 0, `the worker's checkpoint write (output so far: ${output.slice(-500)})`, 90_000);
  child.kill('SIGKILL');
  await eventually(async () => child!.exitCode !== null || child!.signalCode !== null, 'the worker to die');
  env.dv.removeFault(fault.id);
  expect(await env.checkpoint('opportunities')).toBeUndefined();

  // The dead worker's lease would expire on its own; an operator releases it to go on at once.
  await new DataverseLeaseStore(env.client).release('changetracking:opportunities', undefined, { force: true });
  const publisher = env.newPublisher();
  const reports = await publisher.runOnce();
  expect(reports[0]).toMatchObject({ outcome: 'ran', mode: 'initial', read: 3, published: 3, checkpointed: true });

  const messages = await drainSessions(env.serviceBus, CT_QUEUE);
  expect(messages.map((m) => m.sessionId).sort()).toEqual([...ids].sort());
  expect(new Set(messages.map((m) => m.messageId)).size).toBe(3);
});
