// The physical ceiling of a publishing design under Dataverse's service protection limits, computed from the limits
// and the latency model: requests per window, execution time per window and concurrent requests, each divided by what
// one message costs. Pure arithmetic, unit-tested, and compared with measurements in the budget benchmark.

export interface LimitsModel {
  windowMs: number;
  maxRequests: number;
  maxExecutionMs: number;
  maxConcurrent: number;
}

export interface LatencyModel {
  perRequestMs: number;
  perRecordWrittenMs: number;
  perRecordReadMs: number;
}

/** What one published message costs one application user, on average. */
export interface MessageCost {
  requestsPerMessage: number;
  executionMsPerMessage: number;
  /** Messages one in-flight request carries (for the concurrency limit) and how long it lasts. */
  messagesPerRequest: number;
  requestDurationMs: number;
}

export interface Ceiling {
  byRequests: number;
  byExecutionTime: number;
  byConcurrency: number;
  /** The lowest of the three: messages per second one application user can sustain. */
  messagesPerSecond: number;
  binding: 'requests' | 'execution time' | 'concurrency';
}

export function ceilingOf(limits: LimitsModel, cost: MessageCost): Ceiling {
  const windowS = limits.windowMs / 1000;
  const byRequests = limits.maxRequests / windowS / cost.requestsPerMessage;
  const byExecutionTime = limits.maxExecutionMs / windowS / cost.executionMsPerMessage;
  const byConcurrency = (limits.maxConcurrent * cost.messagesPerRequest) / (cost.requestDurationMs / 1000);
  const messagesPerSecond = Math.min(byRequests, byExecutionTime, byConcurrency);
  const binding = messagesPerSecond === byRequests ? 'requests' : messagesPerSecond === byExecutionTime ? 'execution time' : 'concurrency';
  return { byRequests, byExecutionTime, byConcurrency, messagesPerSecond, binding };
}

/** The reference article's design: one GET per poll of `pollSize` rows, then one PATCH per row. */
export function naiveCost(latency: LatencyModel, pollSize: number): MessageCost {
  const patch = latency.perRequestMs + latency.perRecordWrittenMs;
  const poll = latency.perRequestMs + latency.perRecordReadMs * pollSize;
  return { requestsPerMessage: 1 + 1 / pollSize, executionMsPerMessage: patch + poll / pollSize, messagesPerRequest: 1, requestDurationMs: patch };
}

export interface BatchedOptions {
  batchSize: number;
  /** Acknowledgements applied by the same application user (the worker's default). */
  acksOnSameUser: boolean;
  /** Acks per receive (AckListener default 100) and ids per read (the store reads by id in chunks of 50). */
  ackBatch?: number;
  idChunk?: number;
}

/** The publisher: one read of `batchSize` rows and one $batch marking them, per cycle; acks: reads by id + one $batch. */
export function batchedCost(latency: LatencyModel, o: BatchedOptions): MessageCost {
  const b = o.batchSize;
  const read = latency.perRequestMs + latency.perRecordReadMs * b;
  const mark = latency.perRequestMs + latency.perRecordWrittenMs * b;
  let requests = 2 / b;
  let execution = (read + mark) / b;
  if (o.acksOnSameUser) {
    const a = ackCost(latency, o.ackBatch ?? 100, o.idChunk ?? 50);
    requests += a.requestsPerMessage;
    execution += a.executionMsPerMessage;
  }
  return { requestsPerMessage: requests, executionMsPerMessage: execution, messagesPerRequest: b, requestDurationMs: mark };
}

/** Applying acknowledgements: per `ackBatch` acks, ceil(ackBatch / idChunk) reads by id and one $batch of updates. */
export function ackCost(latency: LatencyModel, ackBatch = 100, idChunk = 50): MessageCost {
  const reads = Math.ceil(ackBatch / idChunk);
  const execution = reads * latency.perRequestMs + ackBatch * latency.perRecordReadMs + latency.perRequestMs + ackBatch * latency.perRecordWrittenMs;
  return { requestsPerMessage: (reads + 1) / ackBatch, executionMsPerMessage: execution / ackBatch, messagesPerRequest: ackBatch, requestDurationMs: latency.perRequestMs + ackBatch * latency.perRecordWrittenMs };
}
