// Bad arguments fail fast with TypeError / RangeError (Azure SDK style), before anything connects.
import { createOutboxConsumer, createPostgresInbox, createSqliteInbox } from '../src/index';

describe('createOutboxConsumer arguments', () => {
  const inbox = createSqliteInbox({ filename: ':memory:' });
  afterAll(() => inbox.close());
  const base = { serviceBus: { connectionString: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true' }, entity: 'q', inbox, handler: () => undefined };

  it('rejects a concurrency that is not a positive integer', () => {
    expect(() => createOutboxConsumer({ ...base, concurrency: 0 })).toThrow(RangeError);
    expect(() => createOutboxConsumer({ ...base, concurrency: 1.5 })).toThrow(RangeError);
  });

  it('rejects batching sizes out of range (at most 64 messages per transaction)', () => {
    expect(() => createOutboxConsumer({ ...base, concurrency: 8, batching: { maxMessages: 65 } })).toThrow(RangeError);
    expect(() => createOutboxConsumer({ ...base, concurrency: 8, batching: { maxMessages: 0 } })).toThrow(RangeError);
    expect(() => createOutboxConsumer({ ...base, concurrency: 8, batching: { maxTransactions: 0.5 } })).toThrow(RangeError);
    expect(() => createOutboxConsumer({ ...base, concurrency: 8, batching: { maxMessages: 64, maxTransactions: 2 } })).not.toThrow();
  });

  it('rejects a missing entity and an empty handler map', () => {
    expect(() => createOutboxConsumer({ ...base, entity: '' })).toThrow(TypeError);
    expect(() => createOutboxConsumer({ ...base, entity: { topic: 't', subscription: '' } })).toThrow(TypeError);
    expect(() => createOutboxConsumer({ ...base, handler: {} })).toThrow(/at least one event type/);
  });

  it('names the entity path of a topic subscription', () => {
    expect(createOutboxConsumer({ ...base, entity: { topic: 'events', subscription: 'erp' } }).entityPath).toBe('events/Subscriptions/erp');
  });

  it('rejects inbox stores without a database or with unsafe identifiers', () => {
    expect(() => createPostgresInbox({})).toThrow(TypeError);
    expect(() => createPostgresInbox({ connectionString: 'postgres://x/y', schema: 'a-b' })).toThrow(TypeError);
  });
});
