// Bad input gets a clear, specific error and the emulator keeps serving everyone else.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as amqpConnect, type Connection } from 'rhea';
import {
  isServiceBusEmulatorConfigError,
  parseEmulatorConfig,
  startServiceBusEmulator,
  type EmulatorConfig,
} from '@dataverse-outbox/emulators/servicebus';
import { startHarness, type Harness } from './support';

describe('Service Bus emulator: bad input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ queues: [{ name: 'work' }] }, { maxMessageSizeInBytes: 65_536 });
  });
  afterAll(async () => h.close());

  it('refuses an oversize message with MessageSizeExceeded and keeps the link usable', async () => {
    const sender = h.client.createSender('work');
    const batch = await sender.createMessageBatch();
    expect(batch.maxSizeInBytes).toBe(65_536);
    await expect(sender.sendMessages({ body: Buffer.alloc(70_000, 1) })).rejects.toMatchObject({ code: 'MessageSizeExceeded' });
    await sender.sendMessages({ body: 'small' });
    const [m] = await h.client.createReceiver('work', { receiveMode: 'receiveAndDelete' }).receiveMessages(1, { maxWaitTimeInMs: 3000 });
    expect(m!.body).toBe('small');
  });

  it('refuses unknown entities with MessagingEntityNotFound for senders, receivers and management', async () => {
    await expect(h.client.createSender('missing').sendMessages({ body: 1 })).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
    await expect(h.client.createReceiver('missing').receiveMessages(1, { maxWaitTimeInMs: 1000 })).rejects.toMatchObject({
      code: 'MessagingEntityNotFound',
    });
    await expect(h.client.createReceiver('missing').peekMessages(1)).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
    await expect(h.client.createReceiver('work/Subscriptions/x').receiveMessages(1, { maxWaitTimeInMs: 1000 })).rejects.toMatchObject({
      code: 'MessagingEntityNotFound',
    });
  });

  it('survives a client that disconnects in the middle of a transfer, and one that sends garbage', async () => {
    const connection: Connection = amqpConnect({ host: '127.0.0.1', port: h.emulator.port, max_frame_size: 512, reconnect: false });
    connection.on('error', () => undefined);
    connection.on('disconnected', () => undefined);
    const sender = connection.open_sender('work');
    await new Promise<void>((r) => sender.once('sendable', () => r()));
    const socket = (connection as unknown as { socket: { write: (b: Buffer) => boolean; destroy(): void } }).socket;
    const write = socket.write.bind(socket);
    let written = 0;
    socket.write = (buffer: Buffer): boolean => {
      written += buffer.length;
      if (written > 4096) {
        write(buffer.subarray(0, Math.floor(buffer.length / 2)));
        socket.destroy();
        return false;
      }
      return write(buffer);
    };
    sender.send({ message_id: 'half', body: Buffer.alloc(20_000, 7) });

    const garbage = netConnect(h.emulator.port, '127.0.0.1');
    garbage.on('error', () => undefined);
    garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\nthis is not AMQP at all'));
    await new Promise((r) => setTimeout(r, 300));
    garbage.destroy();

    await h.client.createSender('work').sendMessages({ body: 'still serving', messageId: 'ok' });
    const got = await h.client.createReceiver('work', { receiveMode: 'receiveAndDelete' }).receiveMessages(10, { maxWaitTimeInMs: 2000 });
    expect(got.map((m) => m.messageId)).toEqual(['ok']);
  });
});

describe('Service Bus emulator: configuration errors', () => {
  const valid: EmulatorConfig = {
    UserConfig: { Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q', Properties: { LockDuration: 'PT1M', MaxDeliveryCount: 3 } }] }] },
  };

  function pathOfError(config: unknown): string {
    try {
      parseEmulatorConfig(config);
    } catch (e) {
      if (isServiceBusEmulatorConfigError(e)) return e.path;
      throw e;
    }
    throw new Error('configuration was accepted');
  }

  it('names the JSON path of the bad field', () => {
    expect(pathOfError({ UserConfig: { Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q', Properties: { LockDuration: '1 minute' } }] }] } })).toBe(
      'UserConfig.Namespaces[0].Queues[0].Properties.LockDuration',
    );
    expect(pathOfError({ UserConfig: { Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q', Properties: { MaxDeliveryCount: '3' } }] }] } })).toBe(
      'UserConfig.Namespaces[0].Queues[0].Properties.MaxDeliveryCount',
    );
    expect(
      pathOfError({ UserConfig: { Namespaces: [{ Name: 'ns', Topics: [{ Name: 't', Subscriptions: [{ Name: 's', Rules: [{ Name: 'r', Properties: { FilterType: 'Regex' } }] }] }] }] } }),
    ).toBe('UserConfig.Namespaces[0].Topics[0].Subscriptions[0].Rules[0].Properties.FilterType');
    expect(
      pathOfError({ UserConfig: { Namespaces: [{ Name: 'ns', Topics: [{ Name: 't', Subscriptions: [{ Name: 's', Rules: [{ Name: 'r', Properties: { FilterType: 'Sql' } }] }] }] }] } }),
    ).toBe('UserConfig.Namespaces[0].Topics[0].Subscriptions[0].Rules[0].Properties.SqlFilter');
    expect(pathOfError({ UserConfig: { Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q', Properties: { LockDurration: 'PT1M' } }] }] } })).toBe(
      'UserConfig.Namespaces[0].Queues[0].Properties.LockDurration',
    );
    expect(pathOfError({ UserConfig: { Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q' }, { Name: 'Q' }] }] } })).toBe('UserConfig.Namespaces[0].Queues[1].Name');
    expect(pathOfError('{ not json')).toBe('$');
    expect(parseEmulatorConfig(valid)).toEqual(valid);
  });

  it('refuses to start with a malformed file, naming the file and the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
    try {
      const file = join(dir, 'Config.json');
      writeFileSync(file, JSON.stringify({ UserConfig: { Namespaces: [{ Name: 'ns', Queues: [{ Name: 'q', Properties: { MaxDeliveryCount: 0 } }] }] } }));
      await expect(startServiceBusEmulator({ config: file })).rejects.toThrow(
        /Config\.json at UserConfig\.Namespaces\[0\]\.Queues\[0\]\.Properties\.MaxDeliveryCount/,
      );
      const cli = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', resolve(__dirname, '../../src/servicebus/main.ts'), '--config', file], {
        cwd: resolve(__dirname, '../..'),
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(cli.status).toBe(1);
      expect(cli.stderr).toContain('UserConfig.Namespaces[0].Queues[0].Properties.MaxDeliveryCount');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("accepts Microsoft's emulator sample Config.json as is and serves its entities", async () => {
    const sample = {
      UserConfig: {
        Namespaces: [
          {
            Name: 'sbemulatorns',
            Queues: [
              {
                Name: 'queue.1',
                Properties: {
                  DeadLetteringOnMessageExpiration: false,
                  DefaultMessageTimeToLive: 'PT1H',
                  DuplicateDetectionHistoryTimeWindow: 'PT20S',
                  ForwardDeadLetteredMessagesTo: '',
                  ForwardTo: '',
                  LockDuration: 'PT1M',
                  MaxDeliveryCount: 3,
                  RequiresDuplicateDetection: false,
                  RequiresSession: false,
                },
              },
            ],
            Topics: [
              {
                Name: 'topic.1',
                Properties: { DefaultMessageTimeToLive: 'PT1H', DuplicateDetectionHistoryTimeWindow: 'PT20S', RequiresDuplicateDetection: false },
                Subscriptions: [
                  {
                    Name: 'subscription.1',
                    Properties: { DeadLetteringOnMessageExpiration: false, DefaultMessageTimeToLive: 'PT1H', LockDuration: 'PT1M', MaxDeliveryCount: 3, ForwardDeadLetteredMessagesTo: '', ForwardTo: '', RequiresSession: false },
                    Rules: [
                      {
                        Name: 'app-prop-filter-1',
                        Properties: {
                          FilterType: 'Correlation',
                          CorrelationFilter: { ContentType: 'application/text', CorrelationId: 'id1', Label: 'subject1', MessageId: 'msgid1', ReplyTo: 'someQueue', ReplyToSessionId: 'sessionId', SessionId: 'session1', To: 'xyz' },
                        },
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
        Logging: { Type: 'File' },
      },
    };
    const emulator = await startServiceBusEmulator({ config: sample as EmulatorConfig });
    try {
      expect(emulator.listEntities().map((e) => e.name)).toEqual(['queue.1', 'topic.1/Subscriptions/subscription.1']);
    } finally {
      await emulator.close();
    }
  });

  it('refuses port 5672 and a non-loopback host', async () => {
    await expect(startServiceBusEmulator({ port: 5672 })).rejects.toThrow(RangeError);
    await expect(startServiceBusEmulator({ host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(RangeError);
  });
});
