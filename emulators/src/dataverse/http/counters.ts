// Request counters per user, so benchmarks can report "Dataverse requests per message" (a batch counts once, as it
// does for Dataverse's request limit; its records count individually).

export interface UserCounters {
  requests: number;
  recordsRead: number;
  recordsWritten: number;
  executionMs: number;
  throttled: number;
  faulted: number;
  /** e.g. `GET obx_outboxmessages`, `POST $batch`, `PATCH obx_outboxmessages` -> count. */
  byOperation: Record<string, number>;
}

export interface RequestCounters {
  total: UserCounters;
  users: Record<string, UserCounters>;
}

function empty(): UserCounters {
  return { requests: 0, recordsRead: 0, recordsWritten: 0, executionMs: 0, throttled: 0, faulted: 0, byOperation: {} };
}

export class CounterBook {
  private total = empty();
  private users = new Map<string, UserCounters>();

  record(user: string, entry: { operation: string; recordsRead: number; recordsWritten: number; executionMs: number; throttled?: boolean; faulted?: boolean }): void {
    for (const c of [this.total, this.forUser(user)]) {
      c.requests++;
      c.recordsRead += entry.recordsRead;
      c.recordsWritten += entry.recordsWritten;
      c.executionMs += entry.executionMs;
      if (entry.throttled) c.throttled++;
      if (entry.faulted) c.faulted++;
      c.byOperation[entry.operation] = (c.byOperation[entry.operation] ?? 0) + 1;
    }
  }

  private forUser(user: string): UserCounters {
    let c = this.users.get(user);
    if (!c) {
      c = empty();
      this.users.set(user, c);
    }
    return c;
  }

  snapshot(): RequestCounters {
    const copy = (c: UserCounters): UserCounters => ({ ...c, byOperation: { ...c.byOperation } });
    return { total: copy(this.total), users: Object.fromEntries([...this.users].map(([k, v]) => [k, copy(v)])) };
  }

  reset(): void {
    this.total = empty();
    this.users.clear();
  }
}
