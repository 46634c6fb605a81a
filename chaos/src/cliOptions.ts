// The chaos command line: options, their bounds and the reproduce line. Parsing starts nothing, so a bad value is
// refused with a message naming the option before any process, port or data folder exists.
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MAX_PARTITION_COUNT } from '@dataverse-outbox/contract';
import { repoRoot } from '@dataverse-outbox/stack';
import { parseSeed } from './random';
import { faultDescriptions, faultKinds, MAX_PUBLISHERS, type FaultKind } from './schedule';

export interface ChaosCliOptions {
  orders: number;
  seed: number;
  duration: number;
  ctShare: number;
  meanGap?: number;
  lease: number;
  partitions: number;
  publishers: number;
  kinds?: FaultKind[];
  blockedKeyRows?: number;
  quiescenceTimeout: number;
  brokenConsumer?: boolean;
  dataDir?: string;
  reportDir: string;
  /** The command line that reproduces the run. */
  reproduce: string;
}

/** Whole numbers from `min` to `max` (digits only: no 1e3, 0x10, 1.0 or blanks). */
function wholeNumber(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got ${JSON.stringify(v)}`);
    return n;
  };
}

/** Seconds from `min` to `max` (plain decimal: no Infinity, NaN, hex or exponents). */
function seconds(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = /^\d{1,7}(\.\d{1,3})?$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`must be a number of seconds from ${min} to ${max.toLocaleString('en-US')}, got ${JSON.stringify(v)}`);
    return n;
  };
}

function share(v: string): number {
  const n = /^0(\.\d{1,6})?$/.test(v) ? Number(v) : NaN;
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError(`must be a number from 0 to below 1, got ${JSON.stringify(v)}`);
  return n;
}

function seed(v: string): string {
  const t = v.trim();
  const control = [...t].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
  if (t === '' || t.length > 100 || control) throw new InvalidArgumentError('must be a number or a short text (1-100 characters, no control characters)');
  return t;
}

function kindList(v: string): FaultKind[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError(`names no fault kind; known: ${faultKinds.join(', ')}`);
  const bad = list.filter((k) => !(faultKinds as readonly string[]).includes(k));
  if (bad.length) throw new InvalidArgumentError(`unknown fault kind(s) ${bad.map((k) => JSON.stringify(k)).join(', ')}; known: ${faultKinds.join(', ')}`);
  return [...new Set(list)] as FaultKind[];
}

export function chaosCommand(): Command {
  return new Command()
    .name('npm run chaos --')
    .description('Runs real traffic through the real processes while killing and faulting them on a seeded schedule, then checks every invariant from the stores.')
    .option('--orders <n>', 'orders in total (outbox flow + change-tracking flow)', wholeNumber(1, 1_000_000), 500)
    .option('--seed <seed>', 'seed of the schedule and every random choice (number or text)', seed, String(Date.now() % 1_000_000))
    .option('--duration <seconds>', 'length of the chaos phase', seconds(10, 86_400), 60)
    .option('--ct-share <share>', 'share of orders that go through the change-tracking source', share, 0.2)
    .option('--mean-gap <seconds>', 'mean time between two chaos actions (default: duration/25, between 1.5 and 4 s)', seconds(0.25, 3600))
    // Whole seconds within the bounds of the publisher's own setting (OUTBOX_LEASE_DURATION_SECONDS), which the run sets.
    .option('--lease <seconds>', 'publisher lease duration (whole seconds)', wholeNumber(5, 3600), 6)
    // The publisher's own bound on the partition count (OUTBOX_PARTITION_COUNT); one application user per partition.
    .option('--partitions <n>', 'partitions of the scope (OUTBOX_PARTITION_COUNT), each published under its own application user', wholeNumber(1, MAX_PARTITION_COUNT), 1)
    .option('--publishers <n>', 'publisher worker processes sharing the partitions', wholeNumber(1, MAX_PUBLISHERS), 2)
    .option('--kinds <list>', `fault kinds, comma-separated (default all): ${faultKinds.join(', ')}`, kindList)
    .option('--blocked-key-rows <n>', 'rows behind the head row of each blocked-key fault (default: orders/5, 100 to 2,000)', wholeNumber(1, 100_000))
    .option('--quiescence-timeout <seconds>', 'how long to wait for quiescence after the chaos phase', seconds(1, 86_400), 180)
    .addOption(new Option('--broken-consumer', 'run the deliberately broken consumer (completes before commit): the run must FAIL'))
    .option('--data-dir <dir>', 'data folder (default: a new temporary folder)')
    .option('--report-dir <dir>', 'where to write chaos-<seed>.json and .md', path.join(repoRoot, 'docs', 'chaos'))
    .addHelpText('after', `\nFault kinds (every one is dealt in every run unless --kinds narrows them):\n${faultKinds.map((k) => `  ${k.padEnd(28)} ${faultDescriptions[k]}`).join('\n')}\n`)
    .showHelpAfterError();
}

/** Parses the arguments (without `node script`); throws commander's error for a bad one when `exitOverride` is set. */
export function parseChaosArgs(command: Command, args: readonly string[]): ChaosCliOptions {
  command.parse([...args], { from: 'user' });
  const o = command.opts<Omit<ChaosCliOptions, 'seed' | 'reproduce'> & { seed: string }>();
  const seedValue = parseSeed(o.seed);
  const reproduce = [
    'npm run chaos --',
    `--orders ${o.orders}`,
    `--seed ${seedValue}`,
    `--duration ${o.duration}`,
    ...(o.ctShare !== 0.2 ? [`--ct-share ${o.ctShare}`] : []),
    ...(o.meanGap ? [`--mean-gap ${o.meanGap}`] : []),
    ...(o.lease !== 6 ? [`--lease ${o.lease}`] : []),
    ...(o.partitions !== 1 ? [`--partitions ${o.partitions}`] : []),
    ...(o.publishers !== 2 ? [`--publishers ${o.publishers}`] : []),
    ...(o.kinds ? [`--kinds ${o.kinds.join(',')}`] : []),
    ...(o.blockedKeyRows ? [`--blocked-key-rows ${o.blockedKeyRows}`] : []),
    ...(o.brokenConsumer ? ['--broken-consumer'] : []),
  ].join(' ');
  return { ...o, seed: seedValue, reproduce };
}
