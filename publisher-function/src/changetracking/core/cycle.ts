// One change-tracking cycle of one source: lease -> checkpoint -> read the delta (or everything) page by page -> send
// in batches, in order -> save the new delta token only once every message it covers was sent. A refused token
// (expired after Dataverse's 7 days, or invalid) is never skipped over: it is recorded, reported at error level, and
// the whole table is read again; its messages carry the same ids as before, so duplicate detection drops the copies.
import { OutboxError } from '../../core/errors';
import type { LeaseKeeper } from '../../core/lease';
import type { OutboundMessage } from '../../core/mapping';
import type { Clock, Logger, MessageSenderPort, OperationOptions, SendOutcome } from '../../core/ports';
import type { SendSpan } from '../../core/tracing';
import type { ChangeTrackingSourceConfig } from './config';
import { ChangeTrackingError, isChangeTrackingError } from './errors';
import { toChangeMessage, toOmittedChangeMessage, type ChangeMessageFormat, type TrackedChange } from './mapping';
import type { ChangeCheckpoint, ChangeTrackingMetrics, CheckpointPort, DeltaReaderPort } from './ports';
import { startChangeSpan } from './tracing';

export interface ChangeCycleDeps {
  reader: DeltaReaderPort;
  checkpoints: CheckpointPort;
  sender: MessageSenderPort;
  lease: LeaseKeeper;
  clock: Clock;
  logger: Logger;
  metrics: ChangeTrackingMetrics;
  /** Messages per send (obx_BatchSize); also the page size unless the source sets its own. */
  batchSize: number;
  /** Save the delta token after an empty delta only when the last save is older than this (tokens expire). Default 1 h. */
  idleCheckpointIntervalInMs?: number;
  /** The source's target format (obx_MessageFormats); default: the default format. */
  messageFormat?: ChangeMessageFormat;
}

export type ChangeCycleMode = 'initial' | 'delta' | 'resync';

export interface ChangeCycleResult {
  source: string;
  outcome: 'ran' | 'no-lease';
  mode?: ChangeCycleMode;
  /** Changes read (rows and deletions). */
  read: number;
  /** Messages Service Bus accepted (duplicates it dropped included). */
  published: number;
  /** Rows too large for a message, sent as an id-only stand-in. */
  omitted: number;
  checkpointed: boolean;
  /** Set when this cycle had to resync, with the reason recorded on the checkpoint. */
  resyncReason?: string;
}

/**
 * Sends one message per span, in order, and ends each span with its message's outcome (error status on a refusal, and on
 * every span when the send throws or a message cannot be built). The spans are started by the caller.
 */
async function sendInSpans(
  sender: MessageSenderPort,
  target: string,
  spans: readonly SendSpan[],
  message: (index: number, traceParent: string) => OutboundMessage,
  options: OperationOptions,
): Promise<SendOutcome[]> {
  let outcomes: SendOutcome[];
  try {
    outcomes = await sender.send(target, spans.map((span, i) => message(i, span.traceParent)), options);
  } catch (e) {
    for (const span of spans) span.end({ ok: false, code: 'SendFailed' });
    throw e;
  }
  spans.forEach((span, i) => {
    const o = outcomes[i];
    span.end(o?.ok ? { ok: true } : { ok: false, code: o ? o.code : 'SendFailed' });
  });
  return outcomes;
}

export async function runChangeTrackingCycle(deps: ChangeCycleDeps, source: ChangeTrackingSourceConfig, options: OperationOptions = {}): Promise<ChangeCycleResult> {
  const { reader, checkpoints, sender, lease, clock, logger, metrics } = deps;
  const result: ChangeCycleResult = { source: source.name, outcome: 'ran', read: 0, published: 0, omitted: 0, checkpointed: false };
  if (!(await lease.ensure(options))) return { ...result, outcome: 'no-lease' };

  let checkpoint: ChangeCheckpoint | undefined = await checkpoints.read(source.name, options);
  const pageSize = source.pageSize ?? deps.batchSize;
  let deltaToken: string | undefined;

  const send = async (changes: readonly TrackedChange[]): Promise<void> => {
    for (let i = 0; i < changes.length; i += deps.batchSize) {
      const chunk = changes.slice(i, i + deps.batchSize);
      // A lost lease stops sending at once (another instance owns the source now).
      if (!lease.isHeld()) throw new OutboxError('LeaseLost', `lease ${lease.scope} lost while publishing source "${source.name}"; stopping before the next send`);
      // One new trace per change: its send span's context goes into the message.
      const spans = chunk.map((c) => startChangeSpan(source, c));
      const outcomes = await sendInSpans(sender, source.target, spans, (i, traceParent) => toChangeMessage(source, chunk[i]!, deps.messageFormat, traceParent), options);
      const tooLarge: { change: TrackedChange; refused: SendSpan }[] = [];
      const now = clock.now();
      for (let j = 0; j < chunk.length; j++) {
        const o = outcomes[j] ?? { ok: false as const, permanent: false, code: 'SendFailed', reason: 'no outcome reported' };
        const change = chunk[j]!;
        if (o.ok) {
          result.published++;
          metrics.published(1, source.target);
          if (change.kind === 'changed' && change.modifiedOn) metrics.publishLatency(now.getTime() - change.modifiedOn.getTime(), source.target);
        } else if (o.permanent && o.code === 'MessageSizeExceeded') {
          tooLarge.push({ change, refused: spans[j]! });
        } else {
          metrics.retried(chunk.length - j, source.target);
          throw new ChangeTrackingError('SendFailed', `source "${source.name}": Service Bus did not take the message for ${source.table} ${change.id} (${o.code}: ${o.reason}); the delta will be read again from the last checkpoint`, {
            source: source.name,
          });
        }
      }
      if (tooLarge.length > 0) {
        // The stand-in continues the refused send's trace: still one trace per change.
        const spans2 = tooLarge.map(({ change, refused }) => startChangeSpan(source, change, { traceParent: refused.traceParent, omitted: 'MessageSizeExceeded' }));
        const outcomes2 = await sendInSpans(
          sender,
          source.target,
          spans2,
          (k, traceParent) => toOmittedChangeMessage(source, tooLarge[k]!.change, 'MessageSizeExceeded', deps.messageFormat, traceParent),
          options,
        );
        tooLarge.forEach(({ change: c }, k) => {
          const o = outcomes2[k];
          if (!o?.ok) throw new ChangeTrackingError('SendFailed', `source "${source.name}": even the id-only message for ${source.table} ${c.id} was refused (${o ? `${o.code}: ${o.reason}` : 'no outcome'})`, { source: source.name });
          result.published++;
          result.omitted++;
          metrics.failed(1, source.target, 'MessageSizeExceeded');
          logger.warn('row too large for a message; sent its id with an @omitted marker instead', { source: source.name, table: source.table, id: c.id, target: source.target });
        });
      }
    }
  };

  const consume = async (token: string | undefined): Promise<void> => {
    for await (const page of reader.read(source, token, { ...options, pageSize })) {
      result.read += page.changes.length;
      await send(page.changes);
      if (page.deltaToken !== undefined) deltaToken = page.deltaToken;
    }
  };

  result.mode = checkpoint?.deltaToken ? 'delta' : 'initial';
  try {
    await consume(checkpoint?.deltaToken);
  } catch (e) {
    if (!(isChangeTrackingError(e) && (e.code === 'TokenExpired' || e.code === 'TokenInvalid')) || result.read > 0) throw e;
    const now = clock.now();
    const since = checkpoint?.lastSyncOn ? checkpoint.lastSyncOn.toISOString() : 'the last sync';
    const reason = `${e.code} at ${now.toISOString()}: ${e.message}. The whole table is read again (messages already sent are dropped as duplicates); rows deleted between ${since} and now cannot be seen and send no deletion message.`;
    // Loud on purpose: this is the one place where change tracking can lose information (deletions in the gap).
    logger.error('change tracking token refused; resyncing the whole table', { source: source.name, table: source.table, code: e.code, lastSyncOn: checkpoint?.lastSyncOn?.toISOString(), error: e.message });
    metrics.resync(source.name, e.code);
    // Recorded before the re-read, so the reason survives a crash during it.
    checkpoint = await checkpoints.write(
      source.name,
      checkpoint,
      { deltaToken: null, table: source.table, lastResyncOn: now, resyncReason: reason, resyncCount: (checkpoint?.resyncCount ?? 0) + 1 },
      options,
    );
    result.mode = 'resync';
    result.resyncReason = reason;
    await consume(undefined);
  }

  if (deltaToken === undefined) throw new ChangeTrackingError('InvalidResponse', `source "${source.name}": the read ended without a delta token`, { source: source.name });
  const idleEvery = deps.idleCheckpointIntervalInMs ?? 3_600_000;
  const now = clock.now();
  const stale = !checkpoint?.lastSyncOn || now.getTime() - checkpoint.lastSyncOn.getTime() >= idleEvery;
  if (result.read > 0 || result.mode !== 'delta' || stale || checkpoint?.deltaToken === undefined) {
    // Only now: every message this token covers was accepted by Service Bus.
    if (!lease.isHeld()) throw new OutboxError('LeaseLost', `lease ${lease.scope} lost before the checkpoint of source "${source.name}"; the next owner re-reads from the last checkpoint`);
    await checkpoints.write(source.name, checkpoint, { deltaToken, lastSyncOn: now, table: source.table }, options);
    result.checkpointed = true;
    metrics.checkpointed?.(source.name);
  }
  logger.debug('change tracking cycle', { source: source.name, mode: result.mode, read: result.read, published: result.published, checkpointed: result.checkpointed });
  return result;
}

