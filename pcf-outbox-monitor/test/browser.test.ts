/**
 * @jest-environment node
 * @jest-environment-options {"customExportConditions": ["development", "node", "node-addons", "require", "default"]}
 */
// The PRODUCTION bundle.js in a real chromium, hosted by host/server.ts with React 16 and Fluent UI 8 as platform
// globals and a PCF context backed by the Dataverse emulator over HTTP.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus, type OutboxStatusName } from '@dataverse-outbox/contract';
import type { Browser, Page } from 'playwright-core';
import { emulatorApi, launchChromium, openRecordingPage } from './browserSupport';
import { startMonitorHost, type MonitorHost } from '../host';

const c = OutboxMessage.columns;
const token = 'browser-test';
// The README's screenshot is refreshed only on request (UPDATE_SCREENSHOTS=1); ordinary runs write to the OS temp folder
// so a test run never modifies tracked files.
const screenshotPath = process.env.UPDATE_SCREENSHOTS === '1'
  ? path.resolve(__dirname, '..', '..', 'docs', 'images', 'monitor.png')
  : path.join(os.tmpdir(), 'obx-monitor-browser-test.png');
const deadline = 30_000;
/** The scheduled row's time: a whole second (Dataverse keeps no milliseconds), an hour ahead. */
const scheduledFor = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);

let dataverse: DataverseEmulator;
let host: MonitorHost;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const ids: Record<string, string> = {};

const api = emulatorApi(() => dataverse.apiUrl, token);

async function createRow(key: string, status: OutboxStatusName, extra: Record<string, unknown> = {}): Promise<void> {
  const row = await api('POST', OutboxMessage.entitySetName, {
    [c.name]: key,
    [c.messageId]: `msg-${key}`,
    [c.target]: 'erp-orders',
    [c.eventType]: 'SalesOrderWon',
    [c.sessionKey]: `account-${key.length % 3}`,
    [c.status]: OutboxStatus[status],
    [c.payload]: JSON.stringify({ order: key, lines: [{ sku: 'A-1', qty: 2 }] }),
    ...extra,
  });
  ids[key] = String(row[OutboxMessage.primaryIdAttribute]);
}

async function statusOf(key: string): Promise<number> {
  const row = await api('GET', `${OutboxMessage.entitySetName}(${ids[key]})?$select=${c.status}`);
  return row[c.status] as number;
}

async function countsFromEmulator(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [name, value] of Object.entries(OutboxStatus)) {
    const body = await api('GET', `${OutboxMessage.entitySetName}?$select=${c.name}&$filter=${c.status} eq ${value}&$count=true`);
    counts[name] = body['@odata.count'] as number;
  }
  return counts;
}

async function pollUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const until = Date.now() + deadline;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (last value ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    last = await read();
  }
  return last;
}

beforeAll(async () => {
  dataverse = await startDataverseEmulator({ port: 0 });
  const hour = 3_600_000;
  const now = Date.now();
  for (let i = 0; i < 6; i++) await createRow(`order-${1000 + i}`, 'Acked', { [c.publishedOn]: new Date(now - i * 3 * hour).toISOString(), [c.attempts]: 1 });
  for (let i = 0; i < 3; i++) await createRow(`order-${2000 + i}`, 'Published', { [c.publishedOn]: new Date(now - i * 2 * hour - 60_000).toISOString(), [c.attempts]: 1 });
  for (let i = 0; i < 3; i++) await createRow(`order-${3000 + i}`, 'Pending');
  // A scheduled event: Pending, never attempted, not sent before its time (contract scheduledUntil).
  await createRow('order-3003', 'Pending', { [c.attempts]: 0, [c.nextAttemptOn]: scheduledFor.toISOString() });
  await createRow('order-4000', 'Failed', {
    [c.attempts]: 10,
    [c.lastError]: 'Target "erp-orders-v2" is not in obx_AllowedTargets; the row will not be sent until an operator fixes the setting and retries.',
  });
  await createRow('order-5000', 'DeadLettered', { [c.attempts]: 1, [c.lastError]: 'MaxDeliveryCountExceeded: consumer rejected the message 10 times' });
  await createRow('order-6000', 'Cancelled');
  await createRow('<img src=x onerror="window.__pwned=1">', 'Failed', {
    [c.payload]: '{"html":"<script>window.__pwned = 2</script><b>bold</b>"}',
    [c.lastError]: '<script>window.__pwned = 3</script>',
  });

  host = await startMonitorHost({ dataverseUrl: dataverse.url, token, pageSize: 50 });
  browser = await launchChromium();
  page = await openRecordingPage(browser, { width: 1360, height: 1150 }, pageErrors);
  await page.goto(host.url);
  await page.waitForFunction(() => window.__obxHost?.ready === true, undefined, { timeout: deadline });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await dataverse?.close();
});

it('loads the production bundle with the platform libraries and shows every row', async () => {
  await page.getByText('order-4000').waitFor({ timeout: deadline });
  expect(await page.locator('[role="row"][aria-rowindex]').count()).toBeGreaterThanOrEqual(17);
  expect(await page.evaluate(() => window.__obxHost.errors)).toEqual([]);
});

it('shows the same counts as the emulator holds for the statuses health judges, and does not count finished rows', async () => {
  const expected = await countsFromEmulator();
  await page.locator('[data-count-status="Pending"]').waitFor({ timeout: deadline });
  for (const name of ['Pending', 'Failed', 'DeadLettered']) {
    await expect(page.locator(`[data-count-status="${name}"]`).innerText()).resolves.toMatch(new RegExp(`: ${expected[name]}$`));
  }
  for (const name of ['Published', 'Acked', 'Cancelled']) await expect(page.locator(`[data-count-status="${name}"]`).count()).resolves.toBe(0);
  expect(expected).toMatchObject({ Pending: 4, Failed: 2, DeadLettered: 1, Acked: 6, Published: 3, Cancelled: 1 });
  await expect(page.getByRole('group', { name: /^Failed: 2, Alert$/ }).count()).resolves.toBe(1);
  await expect(page.getByRole('img', { name: /Last 24 hours: 9 published, 2 failed/ }).count()).resolves.toBe(1);
});

it('renders HTML in payloads and errors as text and runs nothing', async () => {
  await page.getByRole('button', { name: 'Show payload and full error of <img src=x onerror="window.__pwned=1">' }).click();
  const payload = page.locator('pre[aria-label="Payload"]');
  await payload.waitFor({ timeout: deadline });
  await expect(payload.innerText()).resolves.toContain('<script>window.__pwned = 2</script><b>bold</b>');
  await expect(page.locator('pre[aria-label="Last error"]').innerText()).resolves.toBe('<script>window.__pwned = 3</script>');
  expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  expect(await page.locator('#control-root img, .ms-Panel img, .ms-Panel b').count()).toBe(0);
  await page.getByRole('button', { name: 'Close details' }).click();
  await page.locator('.ms-Panel').waitFor({ state: 'detached', timeout: deadline });
});

it('shows a scheduled row as "Scheduled until <time>" and the others of its status as Pending', async () => {
  const row = page.getByRole('row').filter({ hasText: 'order-3003' });
  const badge = row.locator('[data-scheduled="true"]');
  await badge.waitFor({ timeout: deadline });
  expect(await badge.textContent()).toBe(`Scheduled until ${scheduledFor.toISOString().slice(0, 10)} ${scheduledFor.toISOString().slice(11, 19)} UTC`);
  expect(await page.getByRole('row').filter({ hasText: 'order-3002' }).locator('[data-status]').textContent()).toBe('Pending');
});

it('opens a record on double click', async () => {
  await page.getByText('order-6000').dblclick();
  const opened = await page.evaluate(() => window.__obxHost.opened.map((r) => r.id.guid));
  expect(opened).toEqual([ids['order-6000']]);
});

it('retries a Failed row: it becomes Pending in the emulator and in the grid', async () => {
  const row = page.locator('[role="row"]', { hasText: 'order-4000' });
  // A plain click on a row selects only that row (the double-click test left another row selected).
  await row.getByText('order-4000', { exact: true }).click();
  await expect(row.getAttribute('aria-selected')).resolves.toBe('true');
  const retry = page.getByRole('button', { name: 'Retry selected rows' });
  await expect(retry.isEnabled()).resolves.toBe(true);
  await retry.click();
  const dialog = page.getByRole('alertdialog');
  await dialog.getByText('Retry 1 row?').waitFor({ timeout: deadline });
  await dialog.getByRole('button', { name: 'Retry', exact: true }).click();
  await page.getByRole('status', { name: 'Retry results' }).getByText('order-4000: queued again').waitFor({ timeout: deadline });

  await pollUntil('order-4000 to be Pending in the emulator', () => statusOf('order-4000'), (s) => s === OutboxStatus.Pending);
  const stored = await api('GET', `${OutboxMessage.entitySetName}(${ids['order-4000']})?$select=${c.attempts},${c.nextAttemptOn}`);
  expect(stored[c.attempts]).toBe(0);
  await row.locator('[data-status="Pending"]').waitFor({ timeout: deadline });
  await page.locator('[data-count-status="Failed"]', { hasText: 'Failed: 1' }).waitFor({ timeout: deadline });

  mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath, fullPage: true });
  expect(pageErrors).toEqual([]);
});

it('opens a row from the keyboard', async () => {
  const before = await page.evaluate(() => window.__obxHost.opened.length);
  await page.locator('[role="row"]', { hasText: 'order-5000' }).getByText('order-5000', { exact: true }).click();
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => window.__obxHost.opened.length > n, before, { timeout: deadline });
  expect(await page.evaluate(() => window.__obxHost.opened.at(-1)?.id.guid)).toBe(ids['order-5000']);
});

it('adapts to a narrow form section', async () => {
  await page.setViewportSize({ width: 480, height: 900 });
  await page.locator('[data-narrow="true"]').waitFor({ timeout: deadline });
  await expect(page.getByRole('columnheader', { name: /Session key/ }).count()).resolves.toBe(0);
  await expect(page.getByRole('columnheader', { name: /Status/ }).count()).resolves.toBe(1);
  await expect(page.getByRole('group', { name: /^Failed: 1/ }).count()).resolves.toBe(1);
  expect(pageErrors).toEqual([]);
});
