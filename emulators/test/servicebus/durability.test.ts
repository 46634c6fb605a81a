// Kill -9 and restart: every acknowledged send survives, no completed message comes back, order is kept.
import { ServiceBusClient } from '@azure/service-bus';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { buildEmulatorConfig } from '@dataverse-outbox/emulators/servicebus';
import { fastRetries } from './support';

const mainTs = resolve(__dirname, '../../src/servicebus/main.ts');

interface Running {
  child: ChildProcess;
  connectionString: string;
}

function startCli(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', mainTs, ...args], {
    cwd: resolve(__dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${stderr}`)), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}: ${stderr}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const info = JSON.parse(line) as { connectionString: string };
      resolvePromise({ child, connectionString: info.connectionString });
    });
  });
}

function killHard(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null || child.signalCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

describe('Service Bus emulator: durability across kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-durable-'));
  const configFile = join(dir, 'Config.json');
  const dataFile = join(dir, 'servicebus.sqlite');
  const children: ChildProcess[] = [];
  writeFileSync(configFile, JSON.stringify(buildEmulatorConfig({ queues: [{ name: 'durable', lockDurationInMs: 30_000 }] })));

  afterAll(async () => {
    await Promise.all(children.map(killHard));
    rmSync(dir, { recursive: true, force: true });
  });

  it('after sending 1,000, completing 500 and a SIGKILL, exactly the other 500 arrive in order', async () => {
    const first = await startCli(['--config', configFile, '--data-file', dataFile]);
    children.push(first.child);
    const client = new ServiceBusClient(first.connectionString, fastRetries);
    const sender = client.createSender('durable');
    for (let b = 0; b < 10; b++) {
      await sender.sendMessages(Array.from({ length: 100 }, (_, i) => ({ body: b * 100 + i, messageId: `m-${b * 100 + i}` })));
    }
    const receiver = client.createReceiver('durable');
    let completed = 0;
    while (completed < 500) {
      const got = await receiver.receiveMessages(Math.min(100, 500 - completed), { maxWaitTimeInMs: 5000 });
      expect(got.length).toBeGreaterThan(0);
      for (const m of got) {
        expect(m.body).toBe(completed);
        await receiver.completeMessage(m);
        completed++;
      }
    }
    await killHard(first.child);
    await client.close().catch(() => undefined);

    const second = await startCli(['--config', configFile, '--data-file', dataFile]);
    children.push(second.child);
    const client2 = new ServiceBusClient(second.connectionString, fastRetries);
    const receiver2 = client2.createReceiver('durable', { receiveMode: 'receiveAndDelete' });
    const bodies: number[] = [];
    for (;;) {
      const got = await receiver2.receiveMessages(200, { maxWaitTimeInMs: 2000 });
      if (got.length === 0) break;
      bodies.push(...got.map((m) => m.body as number));
    }
    expect(bodies).toEqual(Array.from({ length: 500 }, (_, i) => 500 + i));
    // Sequence numbers continue after a restart; they are never reused.
    await client2.createSender('durable').sendMessages({ body: 'after-restart' });
    const [next] = await client2.createReceiver('durable').receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(next!.sequenceNumber!.toNumber()).toBe(1001);
    await client2.close();
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    expect(second.child.exitCode).toBe(0);
  });
});
