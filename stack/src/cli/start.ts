// `npm start`: builds what is missing, starts the local stack, prints what runs where, stops it in order on Ctrl+C.
// Parsing and printing only; the work is in startStack() (the same path the end-to-end test takes).
import path from 'node:path';
import { Command } from 'commander';
import { ensureMonitorBundle } from '../build';
import { ACK_QUEUE, CANARY_QUEUE, ERP_SALES_QUEUE } from '../config/localStack';
import { dataLayout, defaultDataDir } from '../paths';
import { prepareStack, StackAlreadyRunningError, type LocalStack, type StackEvent } from '../stack';

const rel = (p: string): string => {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
};
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const say = (line = ''): boolean => process.stdout.write(`${line}\n`);

function describe(event: StackEvent): string | undefined {
  switch (event.kind) {
    case 'starting':
      return `  … ${event.title}: starting`;
    case 'ready':
      return `  ✓ ${event.title}: ready (${secs(event.ms)})`;
    case 'settings': {
      const created = event.applied.filter((a) => a.change === 'created').length;
      return `  ✓ Outbox settings: ${created ? `${created} demo values loaded` : 'kept from the previous run'} (allowed targets ${event.applied.find((a) => a.schemaName === 'obx_AllowedTargets')?.value ?? '?'})`;
    }
    case 'orphans-killed':
      return `  ! Stopped ${event.count} component(s) left running by a previous stack that did not shut down cleanly`;
    case 'exited':
      return `  ! ${event.title} exited on its own (${event.info.signal ?? `code ${event.info.code}`})${event.willRestart ? ': restarting' : ': not restarting (too many restarts); see its log'}`;
    case 'restarted':
      return `  ✓ ${event.title}: running again`;
    case 'stopping':
      return undefined;
    case 'stopped':
      return `  ✓ ${event.title}: stopped`;
  }
}

/** ` --data-dir <dir>` when the stack runs from another folder than the default, for the commands the banner suggests. */
const dirOptionOf = (stack: LocalStack): string => (path.resolve(stack.layout.root) === path.resolve(defaultDataDir) ? '' : ` --data-dir ${stack.layout.root}`);

function banner(stack: LocalStack, ms: number): void {
  const logs = stack.layout.logs;
  const db = stack.erpDatabase.kind === 'sqlite' ? `SQLite ${rel(stack.erpDatabase.file)}` : `PostgreSQL (DATABASE_URL), schema ${stack.erpDatabase.schema ?? 'erp_sales'}`;
  say();
  say(`Dataverse Outbox is running (ready in ${secs(ms)}).`);
  say();
  say(`  Monitor          ${stack.urls.monitor}`);
  say(`  Dataverse API    ${stack.urls.dataverseApi}   (emulator; bearer token "${stack.dataverseToken}")`);
  say(`  Service Bus      ${stack.serviceBusConnectionString}`);
  say(`                   queues ${ERP_SALES_QUEUE} (sessions), ${ACK_QUEUE}, ${CANARY_QUEUE} (canary); admin ${stack.urls.serviceBusAdmin}/entities`);
  say(`  Publisher        worker, lease scope "default"`);
  say(`  ERP consumer     ${ERP_SALES_QUEUE} -> ${db}`);
  say(`  Data and logs    ${rel(stack.layout.root)}/  (logs in ${rel(logs)}/<component>.log)`);
  say(`  Traces           ${rel(stack.layout.tracesDir)}/<component>.jsonl  (one event's spans: npm run trace -- <row id | message id>${dirOptionOf(stack)})`);
  say();
  const dirOption = dirOptionOf(stack);
  say(`  Try it:  npm run demo -- --orders 500 --rate 50${dirOption}     (in another terminal), then open the monitor.`);
  say(`  Stop:    Ctrl+C here (data is kept; \`${dirOption ? `npm run reset --${dirOption}` : 'npm run reset'}\` wipes it).`);
  say();
}

async function main(): Promise<void> {
  // Output piped to a program that ends first (| tee, | head, a closed terminal) must not crash the orchestrator
  // halfway through stopping the components.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const program = new Command()
    .name('npm start --')
    .description('Starts the whole product locally: Dataverse and Service Bus emulators, publisher worker, ERP consumer, monitor page.')
    .option('--data-dir <dir>', 'where data and logs are kept', defaultDataDir)
    .option('--no-build', 'do not build the monitor control bundle even if it is missing or stale')
    .showHelpAfterError();
  program.parse();
  const opts = program.opts<{ dataDir: string; build: boolean }>();
  const t0 = Date.now();
  const layout = dataLayout(opts.dataDir);
  say(`Starting Dataverse Outbox locally (data in ${rel(layout.root)}/)`);

  if (opts.build) {
    const status = await ensureMonitorBundle(path.join(layout.logs, 'build.log'), (ms) => {
      if (process.stdout.isTTY) process.stdout.write(`\r  … building the monitor control (PCF bundle): ${Math.round(ms / 1000)} s`);
    });
    if (process.stdout.isTTY && status !== 'fresh') process.stdout.write('\r\x1b[K');
    say(status === 'fresh' ? '  ✓ Monitor control bundle: up to date' : `  ✓ Monitor control bundle: built (${status === 'missing' ? 'was missing' : 'sources changed'}, ${secs(Date.now() - t0)})`);
  }

  let stack: LocalStack | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      say(`\n${signal} again: killing every component now.`);
      for (const c of stack?.components.values() ?? []) void c.kill();
      setTimeout(() => process.exit(1), 500);
      return;
    }
    stopping = true;
    say(`\n${signal}: stopping (publisher and consumer finish what they hold; press Ctrl+C again to kill at once)`);
    const done = stack ? stack.stop() : Promise.resolve();
    done.then(
      () => {
        const reset = path.resolve(layout.root) === path.resolve(defaultDataDir) ? 'npm run reset' : `npm run reset -- --data-dir ${layout.root}`;
        say(`Stopped. Data kept in ${rel(layout.root)}/ (\`${reset}\` wipes it).`);
        process.exit(0);
      },
      (e: unknown) => {
        say(`Stop failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('Ctrl+C'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    stack = await prepareStack({
      dataDir: layout.root,
      databaseUrl: process.env.DATABASE_URL || undefined,
      // Same variable as the consumer's: the ERP's PostgreSQL schema (default erp_sales).
      databaseSchema: process.env.ERP_DB_SCHEMA || undefined,
      autoRestart: true,
      onEvent: (e) => {
        const line = describe(e);
        if (line && (!stopping || e.kind === 'stopped')) say(line);
      },
    });
    await stack.start();
  } catch (e) {
    if (stopping) return;
    if (e instanceof StackAlreadyRunningError) {
      say(`\n${e.message}`);
      process.exit(2);
    }
    say(`\nThe stack could not start: ${e instanceof Error ? e.message : String(e)}`);
    say(`Logs: ${rel(layout.logs)}/`);
    process.exit(1);
  }
  if (stopping) return;
  banner(stack, Date.now() - t0);
}

void main();
