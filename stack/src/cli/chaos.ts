// `npm run chaos -- --orders 2000 --seed 7 --duration 300`: a chaos run on its own stack (temporary data folder), the
// report printed and written as JSON + markdown. Exit code 0 when every invariant held, 1 when one broke (the seed to
// reproduce it is printed), 2 for bad arguments.
import { setMaxListeners } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseSeed } from '../chaos/random';
import { formatConsole, formatMarkdown } from '../chaos/report';
import { runChaos } from '../chaos/run';
import { faultDescriptions, faultKinds, type FaultKind } from '../chaos/schedule';
import { repoRoot } from '../paths';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}
function seconds(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('must be a positive number of seconds');
  return n;
}
function share(v: string): number {
  const n = Number(v);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('must be a number from 0 to below 1');
  return n;
}
function kindList(v: string): FaultKind[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = list.filter((k) => !(faultKinds as readonly string[]).includes(k));
  if (bad.length) throw new InvalidArgumentError(`unknown fault kind(s) ${bad.join(', ')}; known: ${faultKinds.join(', ')}`);
  return list as FaultKind[];
}

async function main(): Promise<void> {
  const program = new Command()
    .name('npm run chaos --')
    .description('Runs real traffic through the real processes while killing and faulting them on a seeded schedule, then checks every invariant from the stores.')
    .option('--orders <n>', 'orders in total (outbox flow + change-tracking flow)', positiveInt, 500)
    .option('--seed <seed>', 'seed of the schedule and every random choice (number or text)', String(Date.now() % 1_000_000))
    .option('--duration <seconds>', 'length of the chaos phase', seconds, 60)
    .option('--ct-share <share>', 'share of orders that go through the change-tracking source', share, 0.2)
    .option('--mean-gap <seconds>', 'mean time between two chaos actions (default: duration/25, between 1.5 and 4 s)', seconds)
    .option('--lease <seconds>', 'publisher lease duration', seconds, 6)
    .option('--kinds <list>', `fault kinds, comma-separated (default all): ${faultKinds.join(', ')}`, kindList)
    .option('--blocked-key-rows <n>', 'rows behind the head row of each blocked-key fault (default: orders/5, 100 to 2,000)', positiveInt)
    .option('--quiescence-timeout <seconds>', 'how long to wait for quiescence after the chaos phase', seconds, 180)
    .addOption(new Option('--broken-consumer', 'run the deliberately broken consumer (completes before commit): the run must FAIL'))
    .option('--data-dir <dir>', 'data folder (default: a new temporary folder)')
    .option('--report-dir <dir>', 'where to write chaos-<seed>.json and .md', path.join(repoRoot, 'docs', 'chaos'))
    .addHelpText('after', `\nFault kinds (every one is dealt in every run unless --kinds narrows them):\n${faultKinds.map((k) => `  ${k.padEnd(28)} ${faultDescriptions[k]}`).join('\n')}\n`)
    .showHelpAfterError();
  program.parse();
  const o = program.opts<{
    orders: number;
    seed: string;
    duration: number;
    ctShare: number;
    meanGap?: number;
    lease: number;
    kinds?: FaultKind[];
    blockedKeyRows?: number;
    quiescenceTimeout: number;
    brokenConsumer?: boolean;
    dataDir?: string;
    reportDir: string;
  }>();
  const seed = parseSeed(o.seed);
  const reproduce = ['npm run chaos --', `--orders ${o.orders}`, `--seed ${seed}`, `--duration ${o.duration}`, ...(o.ctShare !== 0.2 ? [`--ct-share ${o.ctShare}`] : []), ...(o.meanGap ? [`--mean-gap ${o.meanGap}`] : []), ...(o.lease !== 6 ? [`--lease ${o.lease}`] : []), ...(o.kinds ? [`--kinds ${o.kinds.join(',')}`] : []), ...(o.blockedKeyRows ? [`--blocked-key-rows ${o.blockedKeyRows}`] : []), ...(o.brokenConsumer ? ['--broken-consumer'] : [])].join(' ');
  const ctl = new AbortController();
  // The demo producer adds an abort listener per wait; a long run adds thousands.
  setMaxListeners(0, ctl.signal);
  process.once('SIGINT', () => {
    process.stdout.write('\nCtrl+C: stopping the chaos phase; checking what is there.\n');
    ctl.abort();
  });
  process.stdout.write(`Chaos run: ${o.orders} orders, seed ${seed}, ${o.duration} s of chaos\n`);
  const report = await runChaos({
    orders: o.orders,
    seed,
    durationMs: o.duration * 1000,
    ctShare: o.ctShare,
    meanGapMs: o.meanGap ? o.meanGap * 1000 : undefined,
    leaseDurationMs: o.lease * 1000,
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
