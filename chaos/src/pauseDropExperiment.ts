// Reproduction of an open finding (docs/reliability.md, "Open findings"): a publisher worker frozen (SIGSTOP, as a VM
// or GC pause) while Service Bus closes its connection cannot send for tens of seconds after it resumes, and a
// partition it holds, or is handed back, waits that long: the other worker may not claim it above its share while the
// frozen one is a live member. Not a test (it shows the stall; it asserts nothing about how long is right):
//   node --conditions=development --import tsx chaos/src/pauseDropExperiment.ts
//   PAUSE_MS=8000 (freeze), NO_DROP=1 (freeze only), NO_ACK_QUEUE=1 (the settings' ack queue does not exist, so the
//   acknowledgement listener keeps failing to attach), WATCH_S=60 (look this long after the resume)
// Two publisherMain.ts processes share 2 partitions (lease 6 s, standby poll 1 s) on in-process emulators; 20 keys get a
// row each every 200 ms. Every second it prints who holds which partition and the oldest Pending row per partition,
// then the longest wait after the resume; the workers' debug logs go to a temporary folder (printed).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutboxMessage, OutboxStatus, partitionOfSlot } from '@dataverse-outbox/contract';
import { startDataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { buildEmulatorConfig, startServiceBusEmulator } from '@dataverse-outbox/emulators/servicebus';
import { OutboxWriter } from '@dataverse-outbox/producer';
import { DataverseClient } from '@dataverse-outbox/publisher-function';
import { chaosEntryPoints, publisherNames, type PublisherName } from './processes';
import { readPartitionHolders } from './leases';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const C = OutboxMessage.columns;
const QUEUE = 'by-key';
const PARTITIONS = 2;

async function main(): Promise<void> {
  const pauseMs = Number(process.env.PAUSE_MS ?? 8000);
  const watchS = Number(process.env.WATCH_S ?? 60);
  const drop = !process.env.NO_DROP;
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'pause-drop-'));
  const t0 = Date.now();
  const say = (s: string): void => void process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}\n`);
  const dv = await startDataverseEmulator({ port: 0 });
  const queues = [{ name: QUEUE, requiresSession: true, requiresDuplicateDetection: true }, ...(process.env.NO_ACK_QUEUE ? [] : [{ name: 'outbox-acks' }])];
  const sb = await startServiceBusEmulator({ port: 0, config: buildEmulatorConfig({ queues }) });
  const admin = new DataverseClient(dv.url, { token: 'admin' }, { retryOptions: { retryDelayInMs: 50, maxRetries: 8 } });
  const producerClient = new DataverseClient(dv.url, { token: 'producer' });
  const writer = new OutboxWriter(producerClient);
  const names = publisherNames(2);
  const workers = new Map<PublisherName, ChildProcess>();
  for (const name of names) {
    const log = createWriteStream(path.join(logDir, `${name}.log`));
    const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', chaosEntryPoints.publisher], {
      env: {
        ...process.env,
        DATAVERSE_URL: dv.url,
        DATAVERSE_TOKEN: 'publisher',
        SERVICEBUS_CONNECTION_STRING: sb.connectionString,
        OUTBOX_SCOPE: 'default',
        OUTBOX_ALLOWED_TARGETS: JSON.stringify([QUEUE]),
        OUTBOX_LEASE_DURATION_SECONDS: '6',
        OUTBOX_STANDBY_POLL_SECONDS: '1',
        OUTBOX_PARTITION_COUNT: String(PARTITIONS),
        DATAVERSE_PARTITION_TOKENS: 'partition-0,partition-1',
        CHAOS_INSTANCE: name,
        CHAOS_LOG_LEVEL: 'debug',
      },
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    workers.set(name, child);
  }
  let producing = true;
  const load = (async () => {
    for (let n = 0; producing; n++) {
      await writer.transaction((tx) => {
        for (let k = 0; k < 20; k++) tx.enqueue({ target: QUEUE, sessionKey: `k${k}`, payload: { k, n }, messageId: `k${k}-${n}` });
      });
      await sleep(200);
    }
  })();
  let worstAfterResume = 0;
  const resume: { at?: number } = {};
  const look = async (): Promise<void> => {
    const holders = await readPartitionHolders(admin, PARTITIONS, names);
    const pending = await admin.retrieveMultiple(OutboxMessage.entitySetName, { select: [C.createdOn, C.partitionSlot], filter: `${C.status} eq ${OutboxStatus.Pending}` });
    const now = Date.now();
    const oldest = Array.from({ length: PARTITIONS }, (_, p) => {
      const ages = pending.value.filter((r) => partitionOfSlot(r[C.partitionSlot] as number, PARTITIONS) === p).map((r) => now - Date.parse(r[C.createdOn] as string));
      return ages.length ? Math.max(...ages) : 0;
    });
    if (resume.at !== undefined) worstAfterResume = Math.max(worstAfterResume, ...oldest);
    say(`${holders.map((h) => `p${h.partition} ${h.publisher ?? '(nobody)'}`).join(', ')} | oldest Pending ${oldest.map((a, p) => `p${p} ${(a / 1000).toFixed(0)} s`).join(', ')}`);
  };
  for (let i = 0; i < 12; i++) {
    await sleep(1000);
    await look();
  }
  const frozen = workers.get(names[1]!)!;
  say(`SIGSTOP ${names[1]} for ${pauseMs} ms${drop ? '; Service Bus drops every connection 2 s later' : ''}`);
  frozen.kill('SIGSTOP');
  await sleep(Math.min(2000, pauseMs));
  if (drop) say(`dropped ${sb.dropAllConnections()} connections`);
  await sleep(Math.max(0, pauseMs - 2000));
  frozen.kill('SIGCONT');
  resume.at = Date.now();
  say(`SIGCONT ${names[1]}`);
  for (let i = 0; i < watchS; i++) {
    await sleep(1000);
    await look();
  }
  producing = false;
  await load;
  for (const w of workers.values()) w.kill('SIGKILL');
  say(`longest wait of a Pending row after the resume: ${(worstAfterResume / 1000).toFixed(0)} s (lease 6 s); worker logs in ${logDir}`);
  await Promise.all([admin.close(), producerClient.close()]);
  await sb.close();
  await dv.close();
  process.exit(0);
}

void main();
