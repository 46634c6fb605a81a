// Takes docs/images/local-stack-monitor.png from a running local stack (after `npm start` and `npm run demo`):
//   node --conditions=development --import tsx stack/scripts/screenshot-monitor.ts [--data-dir .outbox-data] [--out file]
import path from 'node:path';
import { dataLayout, defaultDataDir, readState, repoRoot } from '@dataverse-outbox/stack';
import { openBrowser, readMonitorCounts } from '../test/helpers/browser';

async function main(): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const state = readState(dataLayout(arg('--data-dir') ?? defaultDataDir));
  if (state?.status !== 'running') throw new Error('The local stack is not running: npm start first.');
  const out = arg('--out') ?? path.join(repoRoot, 'docs', 'images', 'local-stack-monitor.png');
  const browser = await openBrowser({ width: 1280, height: 760 });
  try {
    const counts = await readMonitorCounts(browser.page, state.urls.monitor);
    await browser.page.waitForTimeout(1000);
    await browser.page.screenshot({ path: out });
    process.stdout.write(`${out}: ${JSON.stringify(counts)}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
