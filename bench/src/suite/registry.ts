// The suite, in run order. Suite benchmarks render their own sections; component scripts bring their markdown.
import { budgetBenchmark } from '../benchmarks/budget';
import { cleanupBenchmark } from '../benchmarks/cleanup';
import { growthBenchmark } from '../benchmarks/growth';
import { latencyBenchmark } from '../benchmarks/latency';
import { partitionsBenchmark } from '../benchmarks/partitions';
import type { ComponentBenchmark } from './component';
import type { Benchmark } from './types';

export const suiteBenchmarks: readonly Benchmark[] = [
  growthBenchmark as unknown as Benchmark,
  cleanupBenchmark as unknown as Benchmark,
  budgetBenchmark as unknown as Benchmark,
  latencyBenchmark as unknown as Benchmark,
  partitionsBenchmark as unknown as Benchmark,
];

export const componentBenchmarks: readonly ComponentBenchmark[] = [
  {
    name: 'publisher',
    title: 'Publisher: throughput, requests per message and latency against the naive baseline',
    summary: 'The publisher engine against the reference article\'s naive design (poll, send one, PATCH one), both on the emulators with the realistic profile and limits on.',
    script: 'publisher.bench.ts',
    args: { quick: [], full: [] },
    env: {
      quick: {
        PUBLISHER_BENCH_ROWS: '600',
        PUBLISHER_BENCH_BASELINE_ROWS: '40',
        PUBLISHER_BENCH_LATENCY_SECONDS: '1',
        PUBLISHER_BENCH_BASELINE_LATENCY_SECONDS: '1',
        PUBLISHER_BENCH_BASELINE_DRAIN_SECONDS: '2',
        // One idle poll (5 s) and a margin, so the window holds exactly one idle read.
        PUBLISHER_BENCH_IDLE_SECONDS: '6',
      },
      full: {},
    },
    expectedSeconds: { quick: 32, full: 200 },
  },
  {
    name: 'blocked-key',
    title: 'Blocked key: other keys\' latency and Dataverse writes with 10,000 rows behind a failing head row',
    summary: 'Other keys\' commit-to-publish p99 and the publisher\'s Dataverse writes with 10,000 rows waiting on one key whose head row keeps failing, against the same load without it, in the same run.',
    script: 'blockedKey.bench.ts',
    args: { quick: ['--seconds', '4', '--blocked-rows', '1000', '--rate', '20'], full: ['--seconds', '60', '--blocked-rows', '10000', '--rate', '20'] },
    expectedSeconds: { quick: 14, full: 150 },
  },
  {
    name: 'consumer',
    title: 'Consumer: messages/s with the PostgreSQL inbox',
    summary: 'The idempotent consumer (inbox row + handler write in the PostgreSQL inbox transaction, shared by the messages in flight, one commit per batch; complete; acknowledgement) at concurrency 1, 8 and 32 against a plain receiver, and the same consumer with one transaction per message.',
    script: 'consumer.bench.ts',
    // 2,000 messages: a run at concurrency 32 lasts about a second, so the start of the receiver weighs less in it.
    args: { quick: ['--messages', '40'], full: ['--messages', '2000'] },
    expectedSeconds: { quick: 5, full: 60 },
  },
  {
    name: 'dataverse-emulator',
    title: 'Dataverse emulator throughput',
    summary: 'Is the Dataverse emulator ever the bottleneck? Reads, writes, UpdateMultiple and the publish query against a bare HTTP server.',
    script: 'dataverse-emulator.bench.ts',
    args: { quick: ['--seed-rows', '1000', '--seconds', '0.5'], full: ['--seed-rows', '50000', '--seconds', '4'] },
    expectedSeconds: { quick: 5, full: 40 },
  },
  {
    name: 'servicebus-emulator',
    title: 'Service Bus emulator throughput',
    summary: 'Send and receive throughput of the Service Bus emulator through the official SDK (batches of 100, 1 KB bodies).',
    script: 'servicebus-emulator.bench.ts',
    args: { quick: [], full: [] },
    env: { quick: { SB_BENCH_MESSAGES: '1000' }, full: {} },
    expectedSeconds: { quick: 6, full: 40 },
  },
];
