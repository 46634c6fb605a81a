// A whole demo run against a running stack: produce, follow the rows until every one is final (or a deadline), then
// summarise from the stores. The CLI (`npm run demo`) and the end-to-end test both call runDemo().
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { ErpDatabase } from '../config/erpDatabase';
import { DataverseClient } from '@dataverse-outbox/publisher-function';
import { readRunRows, readSalesOrders, terminalStatuses } from './observe';
import { correlationIdFor, runDemoProducer, type DemoProducerResult } from './producer';
import { summarise, type DemoSummary } from './summary';

export interface DemoTarget {
  dataverseUrl: string;
  dataverseToken: string;
  erpDatabase: ErpDatabase;
}

export interface RunDemoOptions {
  target: DemoTarget;
  orders: number;
  rate: number;
  badPerKind?: number;
  concurrency?: number;
  /** How long to wait for rows to become final after the last commit. Default 120 s. */
  settleTimeoutMs?: number;
  /** 'bar': cli-progress bars on a TTY (text lines otherwise); 'none': silent. */
  progress?: 'bar' | 'none';
  /** Where to write `<runId>.json` (the summary and every order). */
  resultsDir?: string;
  abortSignal?: AbortSignal;
}

export interface DemoRunResult {
  run: DemoProducerResult;
  summary: DemoSummary;
  resultsFile?: string;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

interface Progress {
  committed(committed: number, failed: number): void;
  delivery(counts: { final: number; acked: number; failed: number; deadLettered: number; published: number; pending: number }): void;
  stop(): void;
}

function createProgress(mode: 'bar' | 'none', total: number): Progress {
  if (mode === 'none') return { committed: () => undefined, delivery: () => undefined, stop: () => undefined };
  if (!process.stdout.isTTY) {
    // Logs and CI: a line every few seconds instead of redrawn bars.
    let last = 0;
    let text = '';
    const maybe = (line: string): void => {
      text = line;
      if (Date.now() - last < 3000) return;
      last = Date.now();
      process.stdout.write(`${line}\n`);
    };
    let c = '';
    return {
      committed: (n, f) => {
        c = `committed ${n}/${total}${f ? ` (${f} failed)` : ''}`;
        maybe(c);
      },
      delivery: (d) => maybe(`${c}; final ${d.final}/${total}: acked ${d.acked}, failed ${d.failed}, dead-lettered ${d.deadLettered}, published ${d.published}, pending ${d.pending}`),
      stop: () => text && process.stdout.write(`${text}\n`),
    };
  }
  const multi = new MultiBar(
    { clearOnComplete: false, hideCursor: true, format: '{label} |{bar}| {value}/{total} {detail}', barsize: 30, autopadding: true },
    Presets.shades_classic,
  );
  const commit: SingleBar = multi.create(total, 0, { label: 'Committing', detail: '' });
  const deliver: SingleBar = multi.create(total, 0, { label: 'Delivered ', detail: '' });
  const t0 = Date.now();
  return {
    committed: (n, f) => commit.update(n + f, { label: 'Committing', detail: `${((n + f) / Math.max(0.001, (Date.now() - t0) / 1000)).toFixed(1)}/s${f ? `  ${f} NOT committed` : ''}` }),
    delivery: (d) =>
      deliver.update(d.final, {
        label: 'Delivered ',
        detail: `acked ${d.acked}  failed ${d.failed}  dead-lettered ${d.deadLettered} | published ${d.published}  pending ${d.pending}`,
      }),
    stop: () => multi.stop(),
  };
}

export async function runDemo(options: RunDemoOptions): Promise<DemoRunResult> {
  const client = new DataverseClient(options.target.dataverseUrl, { token: options.target.dataverseToken });
  const progress = createProgress(options.progress ?? 'bar', options.orders);
  const signal = options.abortSignal;
  let producing = true;
  const runId = randomUUID();
  const correlationId = correlationIdFor(runId);
  let lastFinal = 0;

  const poll = async (): Promise<number> => {
    const rows = await readRunRows(client, correlationId, signal);
    const n = (s: string): number => rows.filter((r) => r.status === s).length;
    lastFinal = rows.filter((r) => terminalStatuses.has(r.status)).length;
    progress.delivery({ final: lastFinal, acked: n('Acked'), failed: n('Failed'), deadLettered: n('DeadLettered'), published: n('Published'), pending: n('Pending') });
    return lastFinal;
  };
  // Follow delivery while producing, one poll at a time.
  const follower = (async () => {
    while (producing && !signal?.aborted) {
      await poll().catch(() => undefined);
      await sleep(1000, signal);
    }
  })();

  let run: DemoProducerResult;
  try {
    run = await runDemoProducer({
      client,
      orders: options.orders,
      rate: options.rate,
      badPerKind: options.badPerKind,
      concurrency: options.concurrency,
      runId,
      abortSignal: signal,
      onProgress: (p) => progress.committed(p.committed, p.failed),
    });
  } finally {
    producing = false;
    await follower;
  }
  const committed = run.orders.filter((o) => o.committedAt !== undefined).length;
  const deadline = Date.now() + (options.settleTimeoutMs ?? 120_000);
  while (!signal?.aborted && Date.now() < deadline) {
    const final = await poll().catch(() => -1);
    if (final >= committed) break;
    await sleep(1000, signal);
  }
  progress.stop();

  const rows = await readRunRows(client, run.correlationId);
  const summary = summarise(run, rows, await readSalesOrders(options.target.erpDatabase));
  await client.close();
  let resultsFile: string | undefined;
  if (options.resultsDir) {
    mkdirSync(options.resultsDir, { recursive: true });
    resultsFile = path.join(options.resultsDir, `${run.runId}.json`);
    writeFileSync(resultsFile, `${JSON.stringify({ summary, orders: run.orders }, null, 2)}\n`);
    writeFileSync(path.join(options.resultsDir, 'last-run.json'), `${JSON.stringify({ summary, orders: run.orders }, null, 2)}\n`);
  }
  return { run, summary, resultsFile };
}
