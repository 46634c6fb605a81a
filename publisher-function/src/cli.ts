#!/usr/bin/env node
// `outbox`: operator CLI against any Dataverse URL. status | retry | replay | cancel | release-lease | tail.
import { Command, Option } from 'commander';
import Table from 'cli-table3';
import { SingleBar, Presets } from 'cli-progress';
import { OutboxStatus, type OutboxStatusName, type OutboxStatusValue } from '@dataverse-outbox/solution';
import { DefaultAzureCredential } from '@azure/identity';
import { DataverseClient } from './dataverse/client';
import { DataverseOutboxStore, type RowQuery } from './dataverse/outboxStore';
import { DataverseLeaseStore } from './dataverse/leaseStore';
import { readSettingsFromDataverse } from './dataverse/settingsSource';
import { parseSettings } from './core/settings';
import { computeHealth, formatCount } from './core/health';
import { parseStatusName, statusName } from './core/statusMachine';
import { releaseLease, runOperatorAction, type OperatorAction } from './operator';
import type { OutboxRow } from './core/row';

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

function connect(g: GlobalOptions): { client: DataverseClient; store: DataverseOutboxStore; lease: DataverseLeaseStore } {
  const url = g.url ?? process.env.DATAVERSE_URL;
  if (!url) throw new Error('Give --url or set DATAVERSE_URL (e.g. https://contoso.crm.dynamics.com).');
  const token = g.token ?? process.env.DATAVERSE_TOKEN;
  const client = new DataverseClient(url, token ? { token } : new DefaultAzureCredential());
  return { client, store: new DataverseOutboxStore(client), lease: new DataverseLeaseStore(client) };
}

const fmtDate = (d?: Date): string => (d ? d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
const short = (s: string | undefined, n: number): string => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

function rowsTable(rows: readonly OutboxRow[]): string {
  const t = new Table({ head: ['sequence', 'id', 'messageId', 'target', 'status', 'attempts', 'created', 'last error'] });
  for (const r of rows) t.push([r.sequence, r.id, short(r.messageId, 30), r.target, statusName(r.status), r.attempts, fmtDate(r.createdOn), short(r.lastError, 60)]);
  return t.toString();
}

function statusesOption(values: string[] | undefined): OutboxStatusValue[] | undefined {
  if (!values?.length) return undefined;
  return values.map((v) => {
    const s = parseStatusName(v);
    if (s === undefined) throw new Error(`Unknown status "${v}" (use one of ${Object.keys(OutboxStatus).join(', ')}).`);
    return s;
  });
}

function program(): Command {
  const cmd = new Command('outbox')
    .description('Operate a Dataverse Outbox: health, retry, replay, cancel, release a stuck lease, follow rows.')
    .option('--url <url>', 'Dataverse environment URL (default: DATAVERSE_URL)')
    .option('--token <token>', 'static bearer token (default: DATAVERSE_TOKEN; otherwise DefaultAzureCredential)')
    .option('--json', 'machine-readable output')
    .showHelpAfterError();

  cmd
    .command('status')
    .description('health: counts by status, oldest pending age, time since the last publish, lease owner')
    .option('--scope <scope>', 'lease scope', process.env.OUTBOX_SCOPE ?? 'default')
    .action(async (o: { scope: string }) => {
      const g = cmd.opts<GlobalOptions>();
      const { client, store, lease } = connect(g);
      const settings = parseSettings(await readSettingsFromDataverse(client), process.env);
      const [counts, oldest, latest, l] = await Promise.all([store.countByStatus(), store.oldestPending(), store.latest(), lease.read(o.scope)]);
      const h = computeHealth({ now: new Date(), counts: counts.counts, countsCapped: counts.capped, oldestPendingCreatedOn: oldest?.createdOn, lastPublishedOn: latest.lastPublishedOn, leaseOwner: l?.owner, leaseUntil: l?.until, lastError: latest.lastError, publisherEnabled: settings.publisherEnabled, thresholds: settings.healthThresholds });
      process.exitCode = h.level === 'red' ? 2 : 0;
      if (g.json) return void process.stdout.write(`${JSON.stringify(h, null, 2)}\n`);
      const t = new Table();
      t.push(
        { health: h.level.toUpperCase() },
        ...(Object.entries(h.counts) as [OutboxStatusName, number][]).map(([k, v]) => ({ [k]: formatCount(v, h.countsCapped.includes(k)) })),
        { 'oldest pending': h.oldestPendingAgeSeconds === null ? '-' : `${h.oldestPendingAgeSeconds} s` },
        { 'since last publish': h.secondsSinceLastPublish === null ? '-' : `${h.secondsSinceLastPublish} s` },
        { 'lease owner': `${h.leaseOwner ?? '-'}${h.leaseActive ? '' : ' (expired)'}` },
        { 'last error': short(h.lastError ?? '-', 80) },
      );
      process.stdout.write(`${t.toString()}\n${h.reasons.map((r) => `- ${r}`).join('\n')}${h.reasons.length ? '\n' : ''}`);
    });

  const bulk = (name: OperatorAction, description: string): void => {
    cmd
      .command(`${name} [ids...]`)
      .description(description)
      .option('--target <target>', 'only rows for this queue/topic')
      .option('--event-type <type>', 'only rows of this event type')
      .option('--error-contains <text>', 'only rows whose last error contains this text')
      .option('--since <date>', 'only rows created on or after this date (ISO-8601)')
      .addOption(new Option('--status <status...>', 'only rows in these statuses'))
      .option('--top <n>', 'at most this many rows', (v) => Number(v))
      .option('--dry-run', 'list the rows, change nothing')
      .action(async (ids: string[], o: { target?: string; eventType?: string; errorContains?: string; since?: string; status?: string[]; top?: number; dryRun?: boolean }) => {
        const g = cmd.opts<GlobalOptions>();
        const { store } = connect(g);
        const query: RowQuery = { target: o.target, eventType: o.eventType, errorContains: o.errorContains, createdAfter: o.since ? new Date(o.since) : undefined, top: o.top };
        const statuses = statusesOption(o.status);
        if (statuses) query.statuses = statuses;
        if (!ids.length && !o.target && !o.eventType && !o.errorContains && !o.since && !o.status) {
          throw new Error(`Name row ids, or select rows with --target/--event-type/--error-contains/--since/--status (e.g. "outbox ${name} --status ${name === 'retry' ? 'Failed' : name === 'replay' ? 'DeadLettered' : 'Pending'}").`);
        }
        if (o.dryRun) {
          const rows = ids.length ? await store.readByIds(ids) : await store.query(query);
          return void process.stdout.write(g.json ? `${JSON.stringify(rows, null, 2)}\n` : `${rowsTable(rows)}\n${rows.length} row(s) would be considered.\n`);
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
        if (g.json) return void process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        process.stdout.write(`${name}: ${result.changed.length} row(s) changed, ${result.skipped.length} skipped.\n`);
        if (result.skipped.length) {
          const t = new Table({ head: ['id', 'status', 'why skipped'] });
          for (const s of result.skipped.slice(0, 50)) t.push([s.id, s.status, s.why]);
          process.stdout.write(`${t.toString()}\n`);
        }
      });
  };
  bulk('retry', 'move Failed rows back to Pending (attempts reset)');
  bulk('replay', 'publish DeadLettered, Published or Acked rows again (obx_replaycount + 1, messageId#r<n>)');
  bulk('cancel', 'cancel Pending, Failed or DeadLettered rows');

  cmd
    .command('release-lease')
    .description('release the publisher lease of a scope (e.g. held by a crashed instance)')
    .option('--scope <scope>', 'lease scope', process.env.OUTBOX_SCOPE ?? 'default')
    .option('--owner <owner>', 'release only if this owner holds it')
    .action(async (o: { scope: string; owner?: string }) => {
      const g = cmd.opts<GlobalOptions>();
      const { lease } = connect(g);
      const r = await releaseLease(lease, o.scope, { owner: o.owner, force: o.owner === undefined });
      process.stdout.write(g.json ? `${JSON.stringify(r)}\n` : r.released ? `Lease "${o.scope}" released (was held by ${r.previousOwner}).\n` : `Lease "${o.scope}" was not released (held by ${r.previousOwner ?? 'nobody'}).\n`);
    });

  cmd
    .command('tail')
    .description('follow outbox rows as they change (Ctrl+C to stop)')
    .option('--interval <seconds>', 'poll interval', (v) => Number(v), 2)
    .option('--status <status...>', 'only these statuses')
    .action(async (o: { interval: number; status?: string[] }) => {
      const g = cmd.opts<GlobalOptions>();
      const { client } = connect(g);
      const store = new DataverseOutboxStore(client);
      const statuses = statusesOption(o.status);
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
        await new Promise((r) => setTimeout(r, Math.max(0.5, o.interval) * 1000));
      }
    });
  return cmd;
}

program()
  .parseAsync(process.argv)
  .catch((e: unknown) => {
    process.stderr.write(`outbox: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
