#!/usr/bin/env node
// `outbox`: operator CLI against any Dataverse URL. status | retry | replay | cancel | release-lease | canary | tail.
import { Command, Option, type OutputConfiguration } from 'commander';
import Table from 'cli-table3';
import { SingleBar, Presets } from 'cli-progress';
import type { HealthCountedStatus, OutboxStatusValue } from '@dataverse-outbox/contract';
import { createOperatorAdapters, type OperatorAdapters } from './bootstrap';
import type { RowQuery } from './dataverse/outboxStore';
import { readSettingsFromDataverse } from './dataverse/settingsSource';
import { parseSettings } from './core/settings';
import { getOutboxHealth } from './health';
import { allowedFromText, defaultCanaryTarget, formatCount, operatorActionRules, statusName } from '@dataverse-outbox/contract';
import { httpUrlProblem, redactSecrets } from './core/redact';
import { scopeNameProblem } from './core/lease';
import { partitionIds, releaseLease, runOperatorAction, selectRows, type OperatorAction } from './operator';
import type { OutboxRow } from './core/row';
import { describeCanary, runDataverseCanary } from './canary';
import { parseCanaryTimeout, parseErrorText, parseEventType, parseIntervalSeconds, parseOwner, parseScope, parseSince, parseStatus, parseTarget, parseToken, parseTop, parseUrl } from './cliOptions';

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

function connect(g: GlobalOptions): OperatorAdapters {
  const url = g.url ?? process.env.DATAVERSE_URL?.trim();
  if (!url) throw new Error('Give --url or set DATAVERSE_URL (e.g. https://contoso.crm.dynamics.com).');
  const urlProblem = httpUrlProblem(url);
  if (urlProblem) throw new Error(`DATAVERSE_URL is not valid: ${urlProblem}.`);
  const token = g.token ?? (process.env.DATAVERSE_TOKEN?.trim() || undefined);
  if (token !== undefined && !/^[\x21-\x7e]{1,16384}$/.test(token)) throw new Error('DATAVERSE_TOKEN must be printable ASCII without spaces (the value is not shown).');
  // An operator wants the cause at once: no retries when Dataverse cannot be reached (429s are still waited out).
  return createOperatorAdapters(url, token, { retryOptions: { retryUnreachable: false } });
}

const fmtDate = (d?: Date): string => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
const short = (s: string | undefined, n: number): string => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

function rowsTable(rows: readonly OutboxRow[]): string {
  const t = new Table({ head: ['sequence', 'id', 'messageId', 'target', 'status', 'attempts', 'created', 'last error'] });
  for (const r of rows) t.push([r.sequence, r.id, short(r.messageId, 30), r.target, statusName(r.status), r.attempts, fmtDate(r.createdOn), short(r.lastError, 60)]);
  return t.toString();
}

/** --scope, or OUTBOX_SCOPE (validated the same way: commander does not parse defaults), or "default". */
function scopeOf(given: string | undefined): string {
  if (given !== undefined) return given;
  const env = process.env.OUTBOX_SCOPE?.trim();
  if (!env) return 'default';
  const problem = scopeNameProblem(env);
  if (problem) throw new Error(`OUTBOX_SCOPE ${problem}.`);
  return env;
}

export interface ProgramOptions {
  /** Throw commander errors instead of exiting (tests). */
  exitOverride?: boolean;
  output?: OutputConfiguration;
}

/** The `outbox` command tree. Every option value is parsed and checked before any request is made. */
export function program(options: ProgramOptions = {}): Command {
  const cmd = new Command('outbox');
  if (options.exitOverride) cmd.exitOverride();
  if (options.output) cmd.configureOutput(options.output);
  cmd
    .description('Operate a Dataverse Outbox: health, retry, replay, cancel, release a stuck lease, follow rows.')
    .option('--url <url>', 'Dataverse environment URL (default: DATAVERSE_URL)', parseUrl)
    .option('--token <token>', 'static bearer token (default: DATAVERSE_TOKEN; otherwise DefaultAzureCredential)', parseToken)
    .option('--json', 'machine-readable output')
    .showHelpAfterError();

  cmd
    .command('status')
    .description('health: Pending, Failed and DeadLettered counts (bounded: "100+"), oldest pending age, time since the last publish, lease owner (each partition\'s with obx_PartitionCount > 1)')
    .option('--scope <scope>', 'lease scope (default: OUTBOX_SCOPE, else "default")', parseScope)
    .action(async (o: { scope?: string }) => {
      const g = cmd.opts<GlobalOptions>();
      const scope = scopeOf(o.scope);
      const { client, store, lease } = connect(g);
      const settings = parseSettings(await readSettingsFromDataverse(client), process.env);
      const h = await getOutboxHealth({ store, lease, scope, settings });
      process.exitCode = h.level === 'red' ? 2 : 0;
      if (g.json) return void process.stdout.write(`${JSON.stringify(h, null, 2)}\n`);
      const t = new Table();
      t.push(
        { health: h.level.toUpperCase() },
        ...(Object.entries(h.counts) as [HealthCountedStatus, number][]).map(([k, v]) => ({ [k]: formatCount(v, h.countsCapped.includes(k)) })),
        { 'oldest pending': h.oldestPendingAgeSeconds === null ? '-' : `${h.oldestPendingAgeSeconds} s` },
        { 'since last publish': h.secondsSinceLastPublish === null ? '-' : `${h.secondsSinceLastPublish} s` },
        ...(h.partitions
          ? h.partitions.map((p) => ({ [`partition ${p.partition}`]: p.active ? (p.owner ?? '-') : 'no publisher' }))
          : [{ 'lease owner': `${h.leaseOwner ?? '-'}${h.leaseActive ? '' : ' (expired)'}` }]),
        { 'last error': short(h.lastError ?? '-', 80) },
      );
      process.stdout.write(`${t.toString()}\n${h.reasons.map((r) => `- ${r}`).join('\n')}${h.reasons.length ? '\n' : ''}`);
    });

  const bulk = (name: OperatorAction, description: string): void => {
    cmd
      .command(`${name} [ids...]`)
      .description(description)
      .option('--target <target>', 'only rows for this queue/topic', parseTarget)
      .option('--event-type <type>', 'only rows of this event type', parseEventType)
      .option('--error-contains <text>', 'only rows whose last error contains this text', parseErrorText)
      .option('--since <date>', 'only rows created on or after this date (ISO-8601)', (v: string) => parseSince(v))
      .addOption(new Option('--status <status...>', 'only rows in these statuses').argParser(parseStatus))
      .option('--top <n>', 'at most this many rows (1-100,000)', parseTop)
      .option('--dry-run', 'list the rows, change nothing')
      .action(async (ids: string[], o: { target?: string; eventType?: string; errorContains?: string; since?: Date; status?: OutboxStatusValue[]; top?: number; dryRun?: boolean }) => {
        const g = cmd.opts<GlobalOptions>();
        const query: RowQuery = { target: o.target, eventType: o.eventType, errorContains: o.errorContains, createdAfter: o.since, top: o.top };
        if (o.status?.length) query.statuses = o.status;
        if (!ids.length && !o.target && !o.eventType && !o.errorContains && !o.since && !o.status) {
          throw new Error(`Name row ids, or select rows with --target/--event-type/--error-contains/--since/--status (e.g. "outbox ${name} --status ${statusName(operatorActionRules[name].allowedFrom[0])}").`);
        }
        const { store } = connect(g);
        if (o.dryRun) {
          const { invalid } = partitionIds(ids);
          const rows = await selectRows(store, name, ids.length ? { ids } : { query });
          if (invalid.length) process.exitCode = 1;
          if (g.json) return void process.stdout.write(`${JSON.stringify({ rows, failed: invalid }, null, 2)}\n`);
          process.stdout.write(`${rowsTable(rows)}\n${rows.length} row(s) would be considered.\n`);
          for (const f of invalid) process.stderr.write(`outbox: ${name}: ${f.why}\n`);
          return;
        }
        const bar = g.json || !process.stderr.isTTY ? undefined : new SingleBar({ format: `${name} [{bar}] {value}/{total} rows`, stream: process.stderr }, Presets.shades_classic);
        const result = await runOperatorAction(store, name, ids.length ? { ids } : { query }, {
          onProgress: (done, total) => {
            if (!bar) return;
            if (done === 0) bar.start(total, 0);
            else bar.update(done);
          },
        });
        bar?.stop();
        // One bad id never stops the others, but the command did not do all it was asked: say so in the exit code.
        if (result.failed.length) process.exitCode = 1;
        if (g.json) return void process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${name}: ${result.changed.length} row(s) changed, ${result.skipped.length} skipped${result.failed.length ? `, ${result.failed.length} failed` : ''}.\n`);
        if (result.skipped.length) {
          const t = new Table({ head: ['id', 'status', 'why skipped'] });
          for (const s of result.skipped.slice(0, 50)) t.push([s.id, s.status, s.why]);
          process.stdout.write(`${t.toString()}\n`);
        }
        // An invalid id is named by its error (shortened: it may be long or hostile); a row id by itself.
        for (const f of result.failed) process.stderr.write(`outbox: ${name}: ${f.kind === 'invalid-id' ? f.why : `${f.id}: ${f.why}`}\n`);
      });
  };
  // The statuses each action takes are the contract's (contract/src/operatorActions.ts): the help names them from there.
  bulk('retry', `move ${allowedFromText('retry')} rows back to Pending (attempts reset, last error cleared)`);
  bulk('replay', `publish ${allowedFromText('replay')} rows again (obx_replaycount + 1, messageId#r<n>; the earlier answer and error cleared)`);
  bulk('cancel', `cancel ${allowedFromText('cancel')} rows`);

  cmd
    .command('release-lease')
    .description('release the publisher lease of a scope (e.g. held by a crashed instance)')
    .option('--scope <scope>', 'lease scope (default: OUTBOX_SCOPE, else "default")', parseScope)
    .option('--owner <owner>', 'release only if this owner holds it', parseOwner)
    .action(async (o: { scope?: string; owner?: string }) => {
      const g = cmd.opts<GlobalOptions>();
      const scope = scopeOf(o.scope);
      const { lease } = connect(g);
      const r = await releaseLease(lease, scope, { owner: o.owner, force: o.owner === undefined });
      process.stdout.write(g.json ? `${JSON.stringify(r)}\n` : r.released ? `Lease "${scope}" released (was held by ${r.previousOwner}).\n` : `Lease "${scope}" was not released (held by ${r.previousOwner ?? 'nobody'}).\n`);
    });

  cmd
    .command('canary')
    .description('write one canary row (event type outbox.canary) and wait until it is Acked: each leg\'s time; exits 1 naming the leg that stalled (published: the publisher; acked: the responder or the ack listener)')
    .option('--target <target>', `canary queue, listed in obx_AllowedTargets (default: OUTBOX_CANARY_TARGET, else "${defaultCanaryTarget}")`, parseTarget)
    .option('--timeout <seconds>', 'how long to wait for the ack (1-3600)', parseCanaryTimeout, 120)
    .action(async (o: { target?: string; timeout: number }) => {
      const g = cmd.opts<GlobalOptions>();
      const env = process.env.OUTBOX_CANARY_TARGET?.trim();
      const target = o.target ?? (env ? parseTarget(env) : defaultCanaryTarget);
      const { client, store } = connect(g);
      const r = await runDataverseCanary(client, store, { target, timeoutMs: o.timeout * 1000, pollMs: 500 });
      process.exitCode = r.ok ? 0 : 1;
      process.stdout.write(g.json ? `${JSON.stringify(r, null, 2)}\n` : `${describeCanary(r)}\n`);
      if (!r.ok) process.stderr.write(`outbox: canary: stalled at "${r.stalledLeg}": ${r.reason}\n`);
    });

  cmd
    .command('tail')
    .description('follow outbox rows as they change (Ctrl+C to stop)')
    .option('--interval <seconds>', 'poll interval in seconds (0.5-3600)', parseIntervalSeconds, 2)
    .addOption(new Option('--status <status...>', 'only these statuses').argParser(parseStatus))
    .action(async (o: { interval: number; status?: OutboxStatusValue[] }) => {
      const g = cmd.opts<GlobalOptions>();
      const { store } = connect(g);
      const statuses = o.status;
      let since = new Date(Date.now() - 60_000);
      const seen = new Map<string, string>();
      for (;;) {
        const rows = await store.query({ statuses, top: 500, modifiedAfter: since, order: 'recently-modified' });
        const changed = rows.filter((r) => seen.get(r.id) !== `${r.status}:${r.attempts}`);
        for (const r of changed) {
          seen.set(r.id, `${r.status}:${r.attempts}`);
          const line = g.json ? JSON.stringify({ ...r, payload: undefined }) : `${fmtDate(r.modifiedOn)}  ${r.sequence}  ${statusName(r.status).padEnd(12)} ${r.target}  ${r.messageId}${r.lastError ? `  ${short(r.lastError, 80)}` : ''}`;
          process.stdout.write(`${line}\n`);
        }
        since = new Date(Date.now() - 5000);
        await new Promise((r) => setTimeout(r, o.interval * 1000));
      }
    });
  return cmd;
}

if (require.main === module) {
  program()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      process.stderr.write(`outbox: ${redactSecrets(e instanceof Error ? e.message : String(e))}\n`);
      process.exitCode = 1;
    });
}
