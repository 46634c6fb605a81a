// `npm run trace -- <row id | message id | trace id>`: one business event's trace as the local stack recorded it
// (producer, publish, consumer, acknowledgement), as a waterfall: where did the time go? Reads `<data>/traces/`.
import path from 'node:path';
import { Command } from 'commander';
import { dataLayout, defaultDataDir } from '../paths';
import { readSpanFiles, renderWaterfall, spansOfTrace, traceIdsFor } from '../tracing/traceFiles';

const program = new Command()
  .name('npm run trace --')
  .description("Shows one event's trace from the local stack's span files: each span's start, duration and component.")
  .argument('<id>', 'an outbox row id, a message id (obx_messageid) or a W3C trace id (32 hex digits)')
  .option('--data-dir <dir>', 'data folder of the stack', defaultDataDir)
  .option('--json', 'print the spans as JSON instead of a waterfall')
  .showHelpAfterError();
program.parse();
const [query] = program.args as [string];
const { dataDir, json } = program.opts<{ dataDir: string; json?: boolean }>();
const layout = dataLayout(dataDir);
const spans = readSpanFiles(layout.tracesDir);
if (spans.length === 0) {
  process.stderr.write(`No spans in ${path.relative(process.cwd(), layout.tracesDir) || layout.tracesDir}: start the stack with \`npm start\` and send something (\`npm run demo\`).\n`);
  process.exit(2);
}
const traceIds = traceIdsFor(spans, query);
if (traceIds.length === 0) {
  process.stderr.write(`No recorded span names ${JSON.stringify(query.slice(0, 100))} (as an outbox row id, a message id or a trace id).\n`);
  process.exit(1);
}
for (const traceId of traceIds) {
  const trace = spansOfTrace(spans, traceId);
  if (json) {
    process.stdout.write(`${JSON.stringify({ traceId, spans: trace }, null, 2)}\n`);
    continue;
  }
  process.stdout.write(`Trace ${traceId} (${trace.length} spans)\n${renderWaterfall(trace)}\n\n`);
}
