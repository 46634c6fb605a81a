// `npm run reset`: wipes the local stack's data folder (Dataverse rows, Service Bus messages, the ERP's SQLite database,
// logs, demo results). Refuses while the stack runs.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { dataLayout, defaultDataDir } from '../paths';
import { checkRunning } from '../state';

const program = new Command()
  .name('npm run reset --')
  .description('Deletes everything the local stack keeps between runs (the data folder).')
  .option('--data-dir <dir>', 'data folder to wipe', defaultDataDir)
  .showHelpAfterError();
program.parse();
const { dataDir } = program.opts<{ dataDir: string }>();
const layout = dataLayout(dataDir);
const relative = path.relative(process.cwd(), layout.root);
const shown = relative && !relative.startsWith('..') ? relative : layout.root;

const running = checkRunning(layout);
if (running.running) {
  const who = running.orchestrator
    ? `npm start (pid ${running.state?.pid})`
    : `components left over from a stack that did not stop cleanly (${running.livingComponents.map((c) => `${c.name} pid ${c.pid}`).join(', ')})`;
  process.stderr.write(`Not resetting: the local stack is running from ${shown}/ (${who}).\nStop it first (Ctrl+C in its terminal${running.orchestrator ? '' : '; or start and stop it once: npm start cleans up left-over components'}), then run \`npm run reset\` again.\n`);
  process.exit(2);
}
if (!existsSync(layout.root)) {
  process.stdout.write(`Nothing to reset: ${shown}/ does not exist.\n`);
  process.exit(0);
}
rmSync(layout.root, { recursive: true, force: true });
process.stdout.write(`Reset: deleted ${shown}/ (outbox rows, Service Bus messages, ERP database, logs, demo results).\n`);
const pgUrl = process.env.DATABASE_URL;
if (pgUrl && running.state?.erpDatabase.kind === 'postgres') {
  const schema = running.state.erpDatabase.schema ?? 'erp_sales';
  process.stdout.write(`Note: the ERP's PostgreSQL data (schema "${schema}" in DATABASE_URL) is not touched; drop it with: DROP SCHEMA "${schema}" CASCADE;\n`);
}
