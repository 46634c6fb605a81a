// `npm run demo -- --orders 500 --rate 50`: wins opportunities against the running local stack (found through the state
// file `npm start` writes), shows progress, and prints a summary measured from the stores.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { formatSummary } from '../demo/summary';
import { runDemo } from '../demo/run';
import { registerTraceRecorder } from '../tracing/recorder';
import { dataLayout, defaultDataDir } from '../paths';
import { checkRunning, type StackState } from '../state';
import { breakErp, fixErp, type ErpOutageChange } from '../demo/erpOutage';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}
function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of at least 0');
  return n;
}
function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function findStack(dataDir: string): StackState {
  const layout = dataLayout(dataDir);
  const running = checkRunning(layout);
  if (!running.orchestrator || running.state?.status !== 'running') {
    process.stderr.write(
      running.orchestrator && running.state?.status === 'starting'
        ? 'The local stack is still starting; wait for "Dataverse Outbox is running" in its terminal, then run the demo again.\n'
        : `The local stack is not running (no live stack in ${layout.root}). Start it first with \`npm start\` in another terminal.\n`,
    );
    process.exit(2);
  }
  return running.state;
}

async function produce(o: { orders: number; rate: number; bad?: number; concurrency: number; timeout: number; dataDir: string }): Promise<void> {
  const state = findStack(o.dataDir);
  const layout = dataLayout(o.dataDir);
  const ctl = new AbortController();
  process.once('SIGINT', () => {
    process.stdout.write('\nCtrl+C: stopping the producer; summarising what was sent so far.\n');
    ctl.abort();
  });
  process.stdout.write(`Winning ${o.orders} opportunities at ${o.rate}/s against ${state.urls.dataverseApi}\n`);
  // The producer's spans (one per win, the parent of the row's trace) beside the publisher's and the consumer's.
  const recorder = registerTraceRecorder({ file: path.join(layout.tracesDir, 'demo-producer.jsonl'), serviceName: 'demo-producer' });
  const result = await runDemo({
    target: { dataverseUrl: state.urls.dataverse, dataverseToken: state.dataverseToken, erpDatabase: state.erpDatabase },
    orders: o.orders,
    rate: o.rate,
    badPerKind: o.bad,
    concurrency: o.concurrency,
    settleTimeoutMs: o.timeout * 1000,
    progress: 'bar',
    resultsDir: layout.demoDir,
    abortSignal: ctl.signal,
  });
  await recorder.close();
  process.stdout.write(`\n${formatSummary(result.summary)}\n`);
  const details = path.relative(process.cwd(), result.resultsFile ?? '');
  process.stdout.write(`\n  Monitor     ${state.urls.monitor}\n  Details     ${details && !details.startsWith('..') ? details : result.resultsFile}\n`);
  const s = result.summary;
  const ok = s.complete && s.erp.missing === 0 && s.erp.duplicated === 0 && s.failedWithoutReason === 0;
  process.exit(ok ? 0 : 1);
}

async function outage(action: 'break' | 'fix', dataDir: string): Promise<void> {
  const state = findStack(dataDir);
  const change = action === 'break' ? await breakErp(state.erpDatabase) : await fixErp(state.erpDatabase);
  const messages: Record<ErpOutageChange, string> = {
    broken:
      'The ERP is broken: its sales_order table is gone (renamed to sales_order_unavailable).\n' +
      'Run `npm run demo -- --orders 40` now: every order fails in the consumer, is retried (Service Bus redelivers it up to 5 times),\n' +
      'then dead-lettered; within a minute the publisher marks those rows Dead-lettered in the monitor.\n' +
      'Then `npm run demo -- fix-consumer`, select the dead-lettered rows in the monitor and press Replay.',
    'already-broken': 'The ERP is already broken (sales_order_unavailable exists). Fix it with `npm run demo -- fix-consumer`.',
    'no-table-yet': 'The ERP has no sales_order table yet: run the demo once first, then break it.',
    fixed: 'The ERP is fixed: sales_order is back. Replay the dead-lettered rows from the monitor (filter Dead-lettered, select, Replay).',
    'already-fixed': 'The ERP is not broken; nothing to fix.',
  };
  process.stdout.write(`${messages[change]}\n  Monitor: ${state.urls.monitor}\n`);
}

async function main(): Promise<void> {
  const program = new Command()
    .name('npm run demo --')
    .description('Wins opportunities in the local stack: each win is one change set (opportunity Won + SalesOrderWon outbox row).')
    .option('--orders <n>', 'opportunities to win', positiveInt, 500)
    .option('--rate <n>', 'orders per second', positive, 50)
    .option('--bad <n>', 'deliberately bad rows of each kind (target not allowed, malformed payload, oversize); default orders/200, at least 1', nonNegativeInt)
    .option('--concurrency <n>', 'change sets in flight at once', positiveInt, 8)
    .option('--timeout <seconds>', 'how long to wait for every row to become final after the last commit', positive, 120)
    .option('--data-dir <dir>', 'data folder of the running stack', defaultDataDir)
    .enablePositionalOptions()
    .showHelpAfterError()
    .action((o: { orders: number; rate: number; bad?: number; concurrency: number; timeout: number; dataDir: string }) => produce(o));
  program
    .command('break-consumer')
    .description("makes the ERP's sales_order table unavailable: messages are retried, then dead-lettered")
    .option('--data-dir <dir>', 'data folder of the running stack', defaultDataDir)
    .action((o: { dataDir: string }) => outage('break', o.dataDir));
  program
    .command('fix-consumer')
    .description("brings the ERP's sales_order table back (then replay the dead-lettered rows from the monitor)")
    .option('--data-dir <dir>', 'data folder of the running stack', defaultDataDir)
    .action((o: { dataDir: string }) => outage('fix', o.dataDir));
  await program.parseAsync();
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
