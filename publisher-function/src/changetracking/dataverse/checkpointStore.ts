// The checkpoint of each change-tracking source in Dataverse (obx_changecheckpoint, alternate key obx_name), written
// only with conditional writes so that an instance that lost its lease can never move a checkpoint backwards.
import { ChangeCheckpoint as T } from '@dataverse-outbox/contract';
import type { OperationOptions } from '../../core/ports';
import { alternateKey, type DataverseClient, type EntityRecord, DataverseError } from '@dataverse-outbox/web-api';
import { ChangeTrackingError } from '../core/errors';
import type { ChangeCheckpoint, CheckpointChanges, CheckpointPort } from '../core/ports';

const C = T.columns;

function date(v: unknown): Date | undefined {
  if (typeof v !== 'string') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function toCheckpoint(r: EntityRecord): ChangeCheckpoint {
  return {
    name: String(r[C.name]),
    table: str(r[C.table]),
    deltaToken: str(r[C.deltaToken]),
    lastSyncOn: date(r[C.lastSyncOn]),
    lastResyncOn: date(r[C.lastResyncOn]),
    resyncReason: str(r[C.resyncReason]),
    resyncCount: typeof r[C.resyncCount] === 'number' ? (r[C.resyncCount] as number) : 0,
    id: str(r[C.id]),
    etag: str(r['@odata.etag']),
  };
}

const SELECT = [C.id, C.name, C.table, C.deltaToken, C.lastSyncOn, C.lastResyncOn, C.resyncReason, C.resyncCount];

export class DataverseCheckpointStore implements CheckpointPort {
  constructor(private readonly client: DataverseClient) {}

  private key(name: string): string {
    return alternateKey(C.name, name);
  }

  async read(name: string, options: OperationOptions = {}): Promise<ChangeCheckpoint | undefined> {
    const r = await this.client.retrieve(T.entitySetName, this.key(name), { select: SELECT, abortSignal: options.abortSignal });
    return r ? toCheckpoint(r) : undefined;
  }

  async write(name: string, current: ChangeCheckpoint | undefined, changes: CheckpointChanges, options: OperationOptions = {}): Promise<ChangeCheckpoint> {
    const record: EntityRecord = {};
    if (changes.table !== undefined) record[C.table] = changes.table;
    if (changes.deltaToken !== undefined) record[C.deltaToken] = changes.deltaToken;
    if (changes.lastSyncOn !== undefined) record[C.lastSyncOn] = changes.lastSyncOn.toISOString();
    if (changes.lastResyncOn !== undefined) record[C.lastResyncOn] = changes.lastResyncOn.toISOString();
    if (changes.resyncReason !== undefined) record[C.resyncReason] = changes.resyncReason.slice(0, T.maxLength.obx_resyncreason);
    if (changes.resyncCount !== undefined) record[C.resyncCount] = changes.resyncCount;
    if (changes.deltaToken && changes.deltaToken.length > T.maxLength.obx_deltatoken) {
      throw new ChangeTrackingError('InvalidResponse', `source "${name}": the delta token is longer than ${T.maxLength.obx_deltatoken} characters`, { source: name });
    }
    try {
      const res = current?.id
        ? await this.client.update(T.entitySetName, current.id, record, { ifMatch: current.etag ?? '*', returnRepresentation: true, abortSignal: options.abortSignal })
        : await this.client.update(T.entitySetName, this.key(name), record, { ifNoneMatch: '*', returnRepresentation: true, abortSignal: options.abortSignal });
      if (res.record) return toCheckpoint(res.record);
      const again = await this.read(name, options);
      if (!again) throw new ChangeTrackingError('CheckpointConflict', `checkpoint "${name}" disappeared right after it was written`, { source: name });
      return again;
    } catch (e) {
      if (e instanceof DataverseError && (e.code === 'PreconditionFailed' || e.code === 'DuplicateKey')) {
        throw new ChangeTrackingError('CheckpointConflict', `checkpoint "${name}" was changed by someone else (another publisher instance?); this run stops and nothing is lost`, {
          source: name,
          cause: e,
        });
      }
      throw e;
    }
  }
}
