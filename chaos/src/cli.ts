// `npm run chaos -- --orders 2000 --seed 7 --duration 300`: a chaos run on its own stack (temporary data folder), the
// report printed and written as JSON + markdown. Exit code 0 when every invariant held, 1 when one broke (the seed to
// reproduce it is printed), 2 for bad arguments.
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chaosCommand, parseChaosArgs } from './cliOptions';
import { formatConsole, formatMarkdown } from './report';
import { runChaos } from './run';

async function main(): Promise<void> {
  const o = parseChaosArgs(chaosCommand(), process.argv.slice(2));
  const seed = o.seed;
  const reproduce = o.reproduce;
  const ctl = new AbortController();
  // The demo producer adds an abort listener per wait; a long run adds thousands.
  setMaxListeners(0, ctl.signal);
  process.once('SIGINT', () => {
    process.stdout.write('\nCtrl+C: stopping the chaos phase; checking what is there.\n');
    ctl.abort();
  });
  process.stdout.write(`Chaos run: ${o.orders} orders, seed ${seed}, ${o.duration} s of chaos, ${o.publishers} publisher(s) sharing ${o.partitions} partition(s)\n`);
  const report = await runChaos({
    orders: o.orders,
    seed,
    durationMs: o.duration * 1000,
    ctShare: o.ctShare,
    meanGapMs: o.meanGap ? o.meanGap * 1000 : undefined,
    leaseDurationMs: o.lease * 1000,
    partitions: o.partitions,
    publishers: o.publishers,
    kinds: o.kinds,
    blockedKeyRows: o.blockedKeyRows,
    quiescenceTimeoutMs: o.quiescenceTimeout * 1000,
    brokenConsumer: o.brokenConsumer,
    dataDir: o.dataDir,
    reproduce,
    abortSignal: ctl.signal,
    onLine: (l) => process.stdout.write(`${l}\n`),
  });
  mkdirSync(o.reportDir, { recursive: true });
  const base = path.join(o.reportDir, `chaos-${seed}-${o.orders}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, formatMarkdown(report));
  process.stdout.write(`\n${formatConsole(report)}\n\n  report        ${base}.md (and .json)\n  data          ${report.dataDir}\n`);
  process.exit(report.ok ? 0 : 1);
}

main().catch((e: unknown) => {
  process.stderr.write(`chaos: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
