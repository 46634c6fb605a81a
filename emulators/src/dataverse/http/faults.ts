// Fault injection: the next N matching requests (or a share of them) fail with 429 (+Retry-After), 503, a timeout (the
// request is held and the connection closed without an answer) or a dropped connection. A rule can match one entity set
// and/or one HTTP method, and can strike before the request runs or after it has committed (the caller then does not
// know its write succeeded: the case idempotent producers and publishers must survive).

export type FaultKind = '429' | '503' | 'timeout' | 'drop';

export interface FaultRuleInput {
  kind: FaultKind;
  /** Fail the next `count` matching requests (default 1 when `rate` is not given). */
  count?: number;
  /** Or fail this share (0..1) of matching requests until the rule is removed. */
  rate?: number;
  /** Only requests to this entity set (e.g. `obx_outboxmessages`, or `$batch`). */
  entitySet?: string;
  /** Only this HTTP method. */
  method?: string;
  /** 'before' (default): the request does not run. 'after': it runs and commits, then the fault hides the answer. */
  phase?: 'before' | 'after';
  /** Retry-After seconds for 429 (default 1). */
  retryAfterSeconds?: number;
  /** How long a 'timeout' holds the request before closing the connection (default 130,000 ms, Dataverse's 2 min + margin). */
  timeoutMs?: number;
}

export interface FaultRule extends FaultRuleInput {
  readonly id: string;
  /** Matching requests this rule still fails (count rules). */
  remaining?: number;
  hits: number;
}

function validate(input: FaultRuleInput): void {
  if (!['429', '503', 'timeout', 'drop'].includes(input.kind)) throw new RangeError(`Unknown fault kind '${String(input.kind)}'`);
  if (input.count !== undefined && (!Number.isInteger(input.count) || input.count <= 0)) throw new RangeError('count must be a positive integer');
  if (input.rate !== undefined && !(input.rate > 0 && input.rate <= 1)) throw new RangeError('rate must be in (0, 1]');
  if (input.phase !== undefined && input.phase !== 'before' && input.phase !== 'after') throw new RangeError("phase must be 'before' or 'after'");
  if ((input.kind === '429' || input.kind === '503') && input.phase === 'after') throw new RangeError(`a ${input.kind} fault can only strike before the request runs`);
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  private seq = 0;
  private state: number;

  constructor(seed = 0x9e3779b9) {
    this.state = seed >>> 0;
  }

  /** Deterministic PRNG (mulberry32) so rate-based runs are reproducible. */
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  add(input: FaultRuleInput): FaultRule {
    validate(input);
    const rule: FaultRule = {
      ...input,
      method: input.method?.toUpperCase(),
      id: `fault-${++this.seq}`,
      remaining: input.rate === undefined ? (input.count ?? 1) : input.count,
      hits: 0,
    };
    this.rules.push(rule);
    return { ...rule };
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule that strikes this request, if any (consumes one of its count). */
  match(method: string, entitySet: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.method && rule.method !== method) continue;
      if (rule.entitySet && rule.entitySet !== entitySet) continue;
      if (rule.rate !== undefined && this.random() >= rule.rate) continue;
      rule.hits++;
      if (rule.remaining !== undefined) {
        rule.remaining--;
        if (rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
      }
      return { ...rule };
    }
    return undefined;
  }
}
