// The publisher lease in Dataverse (obx_outboxlease, alternate key obx_name): taken and renewed only with
// conditional writes, so two instances can never both believe they hold it. The loser gets 412.
import { OutboxLease, odataStringLiteral } from '@dataverse-outbox/contract';
import type { LeasePort, LeaseState, OperationOptions } from '../core/ports';
import { alternateKey, type DataverseClient, type EntityRecord, DataverseError } from '@dataverse-outbox/web-api';

const C = OutboxLease.columns;

interface LeaseRecord {
  id: string;
  owner?: string;
  until?: Date;
  etag?: string;
}

function toLease(r: EntityRecord): LeaseRecord {
  const until = typeof r[C.leaseUntil] === 'string' ? new Date(r[C.leaseUntil] as string) : undefined;
  return {
    id: String(r[C.id]),
    owner: typeof r[C.owner] === 'string' && r[C.owner] !== '' ? (r[C.owner] as string) : undefined,
    until: until && !Number.isNaN(until.getTime()) ? until : undefined,
    etag: typeof r['@odata.etag'] === 'string' ? (r['@odata.etag'] as string) : undefined,
  };
}

const isPrecondition = (e: unknown): boolean => e instanceof DataverseError && (e.code === 'PreconditionFailed' || e.code === 'DuplicateKey');

export class DataverseLeaseStore implements LeasePort {
  /** Last version we wrote, per scope: a renewal is then one conditional PATCH. */
  private readonly known = new Map<string, LeaseRecord>();

  constructor(
    private readonly client: DataverseClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private key(scope: string): string {
    // Encoded: a scope is validated at start (scopeNameProblem), but the store never relies on it.
    return alternateKey(C.name, scope);
  }

  private async get(scope: string, options: OperationOptions): Promise<LeaseRecord | undefined> {
    const r = await this.client.retrieve(OutboxLease.entitySetName, this.key(scope), { select: [C.id, C.name, C.owner, C.leaseUntil], abortSignal: options.abortSignal });
    return r ? toLease(r) : undefined;
  }

  private async write(scope: string, lease: LeaseRecord, owner: string | null, until: Date | null, options: OperationOptions): Promise<boolean> {
    try {
      const res = await this.client.update(
        OutboxLease.entitySetName,
        lease.id,
        { [C.owner]: owner, [C.leaseUntil]: until ? until.toISOString() : null },
        { ifMatch: lease.etag ?? '*', returnRepresentation: true, abortSignal: options.abortSignal },
      );
      const rec = res.record ? toLease(res.record) : { ...lease, owner: owner ?? undefined, until: until ?? undefined, etag: res.etag };
      this.known.set(scope, { ...rec, id: lease.id });
      return true;
    } catch (e) {
      if (isPrecondition(e)) {
        this.known.delete(scope);
        return false;
      }
      throw e;
    }
  }

  async tryAcquire(scope: string, owner: string, until: Date, options: OperationOptions = {}): Promise<boolean> {
    const mine = this.known.get(scope);
    if (mine?.owner === owner && mine.etag) {
      if (await this.write(scope, mine, owner, until, options)) return true;
    }
    const current = await this.get(scope, options);
    if (!current) {
      try {
        const res = await this.client.update(
          OutboxLease.entitySetName,
          this.key(scope),
          { [C.owner]: owner, [C.leaseUntil]: until.toISOString() },
          { ifNoneMatch: '*', returnRepresentation: true, abortSignal: options.abortSignal },
        );
        if (res.record) this.known.set(scope, toLease(res.record));
        else this.known.delete(scope);
        return true;
      } catch (e) {
        if (isPrecondition(e)) return false;
        throw e;
      }
    }
    const free = !current.owner || !current.until || current.until.getTime() <= this.clock().getTime();
    if (current.owner !== owner && !free) return false;
    return this.write(scope, current, owner, until, options);
  }

  async release(scope: string, owner: string | undefined, options: OperationOptions & { force?: boolean } = {}): Promise<boolean> {
    const current = await this.get(scope, options);
    this.known.delete(scope);
    if (!current || !current.owner) return false;
    if (!options.force && current.owner !== owner) return false;
    return this.write(scope, current, null, null, options);
  }

  async listScope(scope: string, options: OperationOptions = {}): Promise<LeaseState[]> {
    const leases: LeaseState[] = [];
    for await (const r of this.client.listAll(OutboxLease.entitySetName, {
      select: [C.id, C.name, C.owner, C.leaseUntil],
      // startswith is a LIKE in Dataverse ("_" matches any character): classifyLease checks the exact prefix.
      filter: `${C.name} eq ${odataStringLiteral(scope)} or startswith(${C.name},${odataStringLiteral(`${scope}:`)})`,
      maxPageSize: 5000,
      abortSignal: options.abortSignal,
    })) {
      const lease = toLease(r);
      if (typeof r[C.name] === 'string') leases.push({ scope: r[C.name] as string, owner: lease.owner, until: lease.until });
    }
    return leases;
  }

  async read(scope: string, options: OperationOptions = {}): Promise<LeaseState | undefined> {
    const current = await this.get(scope, options);
    return current ? { scope, owner: current.owner, until: current.until } : undefined;
  }
}
