/**
 * @jest-environment node
 * @jest-environment-options {"customExportConditions": ["development", "node", "node-addons", "require", "default"]}
 */
// The built control inside Microsoft's own PCF test harness (pcf-start 1.51, the page `npm start` of any PCF project
// opens), in headless chromium, offline: the harness's React files come from npm instead of its CDN and every other
// request off 127.0.0.1 is refused. A person's steps: open the harness, load a CSV of outbox rows into the dataset, pick
// the column types, Apply. The harness's dataset has no `sorting` and no `loadExactPage`, its webAPI alerts "not yet
// supported" on every call, and it signals new data with an empty `updatedProperties`: the control must render the
// rows and a health summary from them, with one notice and no page error or dialog.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutboxMessage, OutboxStatus, type OutboxStatusName } from '@dataverse-outbox/contract';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startHarnessServer, type HarnessServer } from './harnessServer';

const c = OutboxMessage.columns;
const controlDir = path.resolve(__dirname, '..', '..', 'out', 'controls', 'OutboxMonitor');
// Like the other browser test: the committed screenshot is refreshed only on request, so a test run never changes tracked files.
const screenshotPath =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? path.resolve(__dirname, '..', '..', '..', 'docs', 'images', 'pcf-start-harness.png')
    : path.join(os.tmpdir(), 'obx-pcf-start-harness.png');
const deadline = 20_000;

let server: HarnessServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const dialogs: string[] = [];
const refused: string[] = [];

/** The harness page asks unpkg.com for React 16.14.0; serve the same files from the installed npm packages. */
function reactFromNpm(url: URL): string | undefined {
  const match = /^\/(react|react-dom)@([^/]+)\/umd\/([\w.-]+\.js)$/.exec(url.pathname);
  if (url.hostname !== 'unpkg.com' || !match) return undefined;
  const [, name, version, file] = match as unknown as [string, string, string, string];
  const packageJson = require.resolve(`${name}/package.json`);
  const installed = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
  if (installed !== version) throw new Error(`the harness wants ${name}@${version} but ${installed} is installed`);
  return path.join(path.dirname(packageJson), 'umd', file);
}

const hour = 3_600_000;
const iso = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString();
const csvRows: { name: string; status: OutboxStatusName; attempts: number; createdMsAgo: number; lastError: string }[] = [
  { name: 'order-1001', status: 'Acked', attempts: 1, createdMsAgo: 5 * hour, lastError: '' },
  { name: 'order-1002', status: 'Published', attempts: 1, createdMsAgo: 2 * hour, lastError: '' },
  { name: 'order-1003', status: 'Pending', attempts: 0, createdMsAgo: 20 * 60_000, lastError: '' },
  { name: 'order-1004', status: 'Pending', attempts: 0, createdMsAgo: 60_000, lastError: '' },
  { name: 'order-1005', status: 'Failed', attempts: 10, createdMsAgo: 3 * hour, lastError: 'Target "erp-orders-v2" is not in obx_AllowedTargets' },
  { name: 'order-1006', status: 'DeadLettered', attempts: 1, createdMsAgo: 4 * hour, lastError: 'MaxDeliveryCountExceeded' },
  { name: 'order-1007', status: 'Cancelled', attempts: 0, createdMsAgo: 6 * hour, lastError: '' },
];

function csv(): string {
  const quote = (v: string | number): string => `"${String(v).replace(/"/g, '""')}"`;
  const header = [c.name, c.status, c.target, c.eventType, c.sessionKey, c.attempts, c.createdOn, c.lastError];
  const lines = csvRows.map((r) =>
    [r.name, OutboxStatus[r.status], 'erp-orders', 'SalesOrderWon', `account-${r.name.slice(-1)}`, r.attempts, iso(r.createdMsAgo), r.lastError].map(quote).join(','),
  );
  return `${header.join(',')}\n${lines.join('\n')}\n`;
}

beforeAll(async () => {
  if (!existsSync(path.join(controlDir, 'bundle.js'))) {
    throw new Error(`${controlDir}/bundle.js is missing: run npm run build -w pcf-outbox-monitor first (npm test builds it)`);
  }
  server = await startHarnessServer({ controlDir });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  await page.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    const local = reactFromNpm(url);
    if (local) return route.fulfill({ path: local, contentType: 'text/javascript; charset=utf-8' });
    refused.push(url.href);
    return route.abort();
  });
  page.on('pageerror', (error) => pageErrors.push(`${error.message}\n${error.stack ?? ''}`));
  page.on('dialog', (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(server.url);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

it('renders inside the harness with its sample data, one notice about the missing Web API and no alert', async () => {
  // The harness's own sample dataset (account rows: name, telephone1, address1_city) before any CSV is loaded.
  await page.getByRole('toolbar', { name: 'Outbox actions' }).waitFor({ timeout: deadline });
  await expect(page.locator('[data-id$="_container_error"]').count()).resolves.toBe(0);
  const notice = page.locator('[data-host-notice="no-web-api"]');
  await expect(notice.count()).resolves.toBe(1);
  await expect(notice.innerText()).resolves.toMatch(/no Dataverse Web API/);
  await page.getByRole('region', { name: 'Outbox health' }).waitFor({ timeout: deadline });
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
});

it('shows the rows and health of a CSV loaded into the dataset (updateView with empty updatedProperties)', async () => {
  await page.locator('input[type="file"]').setInputFiles({ name: 'outbox-rows.csv', mimeType: 'text/csv', buffer: Buffer.from(csv()) });
  // The harness lists each CSV column with a type picker (all SingleLine.Text at first): choose what Dataverse has.
  for (const [column, type] of [
    [c.status, 'OptionSet'],
    [c.attempts, 'Whole.None'],
    [c.createdOn, 'DateAndTime.DateAndTime'],
    [c.lastError, 'Multiple'],
  ] as const) {
    await page.locator('.io-panel', { has: page.getByText(column, { exact: true }) }).locator('select').selectOption(type);
  }
  await page.getByRole('button', { name: 'Apply the data' }).click();

  for (const row of csvRows) await page.getByText(row.name, { exact: true }).waitFor({ timeout: deadline });
  const grid = page.locator('[role="row"][aria-rowindex]');
  await expect(grid.filter({ hasText: 'order-' }).count()).resolves.toBe(csvRows.length);
  // Statuses in words (the harness formats choices as plain numbers, which the control does not show as labels).
  await expect(page.locator('[data-status="Failed"]').innerText()).resolves.toContain('Failed');
  await expect(page.locator('[data-status="unknown"]').count()).resolves.toBe(0);

  // Health from the loaded rows: counts by status, the oldest pending row (20 min, amber above 5 min, red above 10), levels.
  const counts: Record<OutboxStatusName, number> = { Pending: 2, Published: 1, Acked: 1, Failed: 1, DeadLettered: 1, Cancelled: 1 };
  for (const [name, count] of Object.entries(counts)) {
    await page.locator(`[data-count-status="${name}"]`).filter({ hasText: new RegExp(`: ${count}$`) }).waitFor({ timeout: deadline });
  }
  await expect(page.getByRole('group', { name: /^Failed: 1, Alert$/ }).count()).resolves.toBe(1);
  await expect(page.getByRole('group', { name: /^Dead-lettered: 1, Alert$/ }).count()).resolves.toBe(1);
  await expect(page.getByRole('group', { name: /^Oldest pending: 20 min, Alert$/ }).count()).resolves.toBe(1);
  await expect(page.getByRole('group', { name: /^Overall: Alert, Alert$/ }).count()).resolves.toBe(1);
  await expect(page.locator('[data-health-scope="loaded-rows"]').innerText()).resolves.toMatch(/7 rows loaded/);
  await expect(page.locator('[data-host-notice]').count()).resolves.toBe(1);

  // Operator actions need the Web API: off, with the reason on the button.
  await page.getByText('order-1005', { exact: true }).click();
  const retry = page.getByRole('button', { name: 'Retry selected rows' });
  await expect(retry.isDisabled()).resolves.toBe(true);
  await expect(retry.getAttribute('title')).resolves.toMatch(/Web API/);

  mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  expect(dialogs).toEqual([]);
  expect(pageErrors).toEqual([]);
  // Fluent asks CDNs for the Segoe UI and icon fonts (refused here: offline); nothing else may leave 127.0.0.1.
  expect(refused.filter((url) => !/\.woff2?$/.test(new URL(url).pathname))).toEqual([]);
});
