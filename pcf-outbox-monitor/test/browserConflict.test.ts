/**
 * @jest-environment node
 * @jest-environment-options {"customExportConditions": ["development", "node", "node-addons", "require", "default"]}
 */
// Conflicts in a real browser: the PRODUCTION bundle in chromium (host page, Dataverse emulator over HTTP). "The
// publisher" writes a row after the operator saw it, or between the control's read and its PATCH (the PATCH is held in
// the browser while the publisher writes): the control sends the row's ETag, shows the conflict on that row's line,
// changes the other selected row, and Dataverse keeps what the publisher wrote.
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus } from '@dataverse-outbox/contract';
import type { Browser, Page } from 'playwright-core';
import { emulatorApi, launchChromium, openRecordingPage } from './browserSupport';
import { startMonitorHost, type MonitorHost } from '../host';

const c = OutboxMessage.columns;
const token = 'browser-conflict-test';
const deadline = 30_000;

let dataverse: DataverseEmulator;
let host: MonitorHost;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const ids: Record<string, string> = {};
const ifMatchSent: string[] = [];

const api = emulatorApi(() => dataverse.apiUrl, token);

async function createRow(name: string, status: number): Promise<void> {
  const row = await api('POST', OutboxMessage.entitySetName, { [c.name]: name, [c.messageId]: `msg-${name}`, [c.target]: 'erp-orders', [c.status]: status });
  ids[name] = String(row[OutboxMessage.primaryIdAttribute]);
}

async function statusOf(name: string): Promise<unknown> {
  return (await api('GET', `${OutboxMessage.entitySetName}(${ids[name]})?$select=${c.status}`))[c.status];
}

async function select(names: string[]): Promise<void> {
  for (const [i, name] of names.entries()) {
    const row = page.locator('[role="row"]', { hasText: name });
    if (i === 0) await row.getByText(name, { exact: true }).click();
    else await row.getByRole('checkbox', { name: 'Select row' }).click();
  }
  await page.getByText(`${names.length} selected`, { exact: true }).waitFor({ timeout: deadline });
}

async function confirm(action: 'Cancel' | 'Retry', rows: number): Promise<void> {
  await page.getByRole('button', { name: `${action} selected rows` }).click();
  const dialog = page.getByRole('alertdialog');
  await dialog.getByText(`${action} ${rows} rows?`).waitFor({ timeout: deadline });
  await dialog.getByRole('button', { name: action, exact: true }).click();
}

beforeAll(async () => {
  dataverse = await startDataverseEmulator({ port: 0 });
  await createRow('seen-pending', OutboxStatus.Pending);
  await createRow('other-pending', OutboxStatus.Pending);
  await createRow('racing-failed', OutboxStatus.Failed);
  await createRow('other-failed', OutboxStatus.Failed);
  host = await startMonitorHost({ dataverseUrl: dataverse.url, token, pageSize: 50 });
  browser = await launchChromium();
  page = await openRecordingPage(browser, { width: 1360, height: 1000 }, pageErrors);
  // Every PATCH the control sends: record its If-Match; for the racing row, let the publisher write first.
  await page.route('**/api/data/v9.2/**', async (route) => {
    const request = route.request();
    if (request.method() === 'PATCH') {
      ifMatchSent.push((await request.allHeaders())['if-match'] ?? '(none)');
      if (request.url().includes(ids['racing-failed'])) {
        await api('PATCH', `${OutboxMessage.entitySetName}(${ids['racing-failed']})`, { [c.status]: OutboxStatus.Cancelled });
      }
    }
    await route.continue();
  });
  await page.goto(host.url);
  await page.waitForFunction(() => window.__obxHost?.ready === true, undefined, { timeout: deadline });
  await page.getByText('other-failed').waitFor({ timeout: deadline });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await dataverse?.close();
});

it('a row published after the operator saw it Pending is shown as a conflict; the other row is cancelled', async () => {
  await select(['seen-pending', 'other-pending']);
  await api('PATCH', `${OutboxMessage.entitySetName}(${ids['seen-pending']})`, { [c.status]: OutboxStatus.Published });
  await confirm('Cancel', 2);
  const results = page.getByRole('status', { name: 'Cancel results' });
  await results.getByText('seen-pending: this row changed since you opened it: now Published; refresh and try again').waitFor({ timeout: deadline });
  await results.getByText('other-pending: cancelled').waitFor({ timeout: deadline });
  await expect(results.locator('[data-result="conflict"]').count()).resolves.toBe(1);
  expect(await statusOf('seen-pending')).toBe(OutboxStatus.Published);
  expect(await statusOf('other-pending')).toBe(OutboxStatus.Cancelled);
  // The view refreshed: the grid shows the publisher's status.
  await page.locator('[role="row"]', { hasText: 'seen-pending' }).locator('[data-status="Published"]').waitFor({ timeout: deadline });
  await page.getByRole('button', { name: 'Close results' }).click();
});

it('a row changed between the read and the PATCH gets 412 in the browser and keeps what the publisher wrote', async () => {
  await select(['racing-failed', 'other-failed']);
  const before = ifMatchSent.length;
  await confirm('Retry', 2);
  const results = page.getByRole('status', { name: 'Retry results' });
  await results.getByText('racing-failed: this row changed since you opened it: now Cancelled; refresh and try again').waitFor({ timeout: deadline });
  await results.getByText('other-failed: queued again').waitFor({ timeout: deadline });
  expect(await statusOf('racing-failed')).toBe(OutboxStatus.Cancelled);
  expect(await statusOf('other-failed')).toBe(OutboxStatus.Pending);
  const sent = ifMatchSent.slice(before);
  expect(sent).toHaveLength(2);
  for (const etag of sent) expect(etag).toMatch(/^W\/"\d+"$/);
  expect(pageErrors).toEqual([]);
});
