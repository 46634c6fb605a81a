/**
 * @jest-environment node
 * @jest-environment-options {"customExportConditions": ["development", "node", "node-addons", "require", "default"]}
 */
// The row timeline in the PRODUCTION bundle.js in a real chromium (hosted as in browser.test.ts, the Dataverse emulator
// over HTTP): rows with real commit, publish and acknowledgement times, the details panel's steps and durations as
// rendered, and the screenshot for docs/monitor.md.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDataverseEmulator, type DataverseEmulator } from '@dataverse-outbox/emulators/dataverse';
import { OutboxMessage, OutboxStatus, type OutboxStatusName } from '@dataverse-outbox/contract';
import type { Browser, Page } from 'playwright-core';
import { emulatorApi, launchChromium, openRecordingPage } from './browserSupport';
import { formatDuration, formatUtc } from '../OutboxMonitor/core/format';
import { startMonitorHost, type MonitorHost } from '../host';

const c = OutboxMessage.columns;
const token = 'browser-timeline-test';
// Refreshed only on request (UPDATE_SCREENSHOTS=1), like docs/images/monitor.png: a test run never modifies tracked files.
const screenshotPath =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? path.resolve(__dirname, '..', '..', 'docs', 'images', 'monitor-timeline.png')
    : path.join(os.tmpdir(), 'obx-monitor-timeline-test.png');
const deadline = 30_000;
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
/** Whole seconds (Dataverse keeps no milliseconds), a little in the past so the emulator's modifiedon comes after. */
const base = Math.floor(Date.now() / 1000) * 1000 - 2_000;
const t = (secondsBeforeBase: number): string => new Date(base - secondsBeforeBase * 1000).toISOString();

let dataverse: DataverseEmulator;
let host: MonitorHost;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const ids: Record<string, string> = {};

const api = emulatorApi(() => dataverse.apiUrl, token);

async function createRow(key: string, status: OutboxStatusName, extra: Record<string, unknown>): Promise<void> {
  const row = await api('POST', OutboxMessage.entitySetName, {
    [c.name]: key,
    [c.messageId]: `msg-${key}`,
    [c.target]: 'erp-orders',
    [c.eventType]: 'SalesOrderWon',
    [c.sessionKey]: 'account-42',
    [c.status]: OutboxStatus[status],
    [c.payload]: JSON.stringify({ order: key, lines: [{ sku: 'A-1', qty: 2 }] }),
    ...extra,
  });
  ids[key] = String(row[OutboxMessage.primaryIdAttribute]);
}

/** The rendered steps as "label | time | took". */
async function renderedSteps(): Promise<string[]> {
  return page.locator('section[aria-label="Timeline"] tbody tr').evaluateAll((rows) =>
    rows.map((tr) => {
      const [step, time, took] = Array.from(tr.querySelectorAll('td'));
      const label = Array.from(step?.childNodes ?? []).filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('');
      return [label, time?.textContent, took?.textContent].join(' | ');
    }),
  );
}

async function openDetails(name: string): Promise<void> {
  await page.getByRole('button', { name: `Show payload and full error of ${name}` }).click();
  await page.locator('section[aria-label="Timeline"] tbody tr').first().waitFor({ timeout: deadline });
}

async function closeDetails(): Promise<void> {
  await page.getByRole('button', { name: 'Close details' }).click();
  await page.locator('.ms-Panel').waitFor({ state: 'detached', timeout: deadline });
}

beforeAll(async () => {
  dataverse = await startDataverseEmulator({ port: 0 });
  // Committed 47 min before it went out (three failed sends: a retried outage), processed 38 s after, acknowledged when
  // the emulator stored the row (modifiedon: a couple of seconds after processing).
  await createRow('order-7001', 'Acked', {
    overriddencreatedon: t(47 * 60 + 40),
    [c.attempts]: 4,
    [c.publishedOn]: t(40),
    [c.ackedOn]: t(2),
    [c.traceContext]: `00-${traceId}-00f067aa0ba902b7-01`,
  });
  // Published 5 minutes ago and not answered yet: the consumer step says how long so far.
  await createRow('order-7002', 'Published', { overriddencreatedon: t(6 * 60), [c.attempts]: 1, [c.publishedOn]: t(5 * 60) });
  // The consumer's clock is behind the publisher's: processed "before" it was published.
  await createRow('order-7003', 'Acked', { overriddencreatedon: t(600), [c.attempts]: 1, [c.publishedOn]: t(590), [c.ackedOn]: t(650) });

  host = await startMonitorHost({ dataverseUrl: dataverse.url, token, pageSize: 50 });
  browser = await launchChromium();
  page = await openRecordingPage(browser, { width: 1360, height: 900 }, pageErrors);
  await page.goto(host.url);
  await page.waitForFunction(() => window.__obxHost?.ready === true, undefined, { timeout: deadline });
  await page.getByText('order-7001').waitFor({ timeout: deadline });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  await dataverse?.close();
});

it("shows an acknowledged row's steps with their times and durations, the longest wait widest and bold, and its trace id", async () => {
  const stored = await api('GET', `${OutboxMessage.entitySetName}(${ids['order-7001']})?$select=${c.createdOn},${c.modifiedOn},${c.ackedOn}`);
  const modifiedOn = new Date(String(stored[c.modifiedOn]));
  const ackedOn = new Date(String(stored[c.ackedOn]));
  expect(modifiedOn.getTime()).toBeGreaterThanOrEqual(ackedOn.getTime());
  const ackTook = (modifiedOn.getTime() - ackedOn.getTime()) / 1000;

  await openDetails('order-7001');
  expect(await renderedSteps()).toEqual([
    `Committed | ${formatUtc(new Date(t(47 * 60 + 40)))} | —`,
    `Published | ${formatUtc(new Date(t(40)))} | 47 min`,
    `Processed by the consumer | ${formatUtc(ackedOn)} | 38 s`,
    `Acknowledged | ${formatUtc(modifiedOn)} | ${ackTook < 1 ? '< 1 s' : formatDuration(ackTook)}`,
  ]);
  const timeline = page.locator('section[aria-label="Timeline"]');
  await expect(timeline.getByText('4 attempts').count()).resolves.toBe(1);
  await expect(timeline.locator('code').innerText()).resolves.toBe(traceId);

  // The bar, as laid out by chromium: the 47-minute wait takes nearly all of it.
  const widths = await timeline.locator('[data-segment]').evaluateAll((segments) => segments.map((s) => [s.getAttribute('data-segment'), s.getBoundingClientRect().width] as const));
  expect(widths.map(([label]) => label)).toEqual(['Published', 'Processed by the consumer', 'Acknowledged']);
  const total = widths.reduce((sum, [, w]) => sum + w, 0);
  expect((widths[0]?.[1] ?? 0) / total).toBeGreaterThan(0.95);
  await expect(timeline.locator('tr[data-step="Published"]').evaluate((tr) => getComputedStyle(tr).fontWeight)).resolves.toBe('600');

  mkdirSync(path.dirname(screenshotPath), { recursive: true });
  await page.screenshot({ path: screenshotPath });
  await closeDetails();
});

it('a Published row waits for its consumer: the wait so far, and the acknowledgement pending', async () => {
  await openDetails('order-7002');
  const steps = await renderedSteps();
  expect(steps.slice(0, 2)).toEqual([`Committed | ${formatUtc(new Date(t(360)))} | —`, `Published | ${formatUtc(new Date(t(300)))} | 1 min`]);
  expect(steps[2]).toMatch(/^Processed by the consumer \| pending \| [56] min so far$/);
  expect(steps[3]).toBe('Acknowledged | pending | —');
  await closeDetails();
});

it('says "clock skew" where the consumer\'s time is before the publish, and never a negative duration', async () => {
  await openDetails('order-7003');
  const steps = await renderedSteps();
  expect(steps.slice(0, 3)).toEqual([
    `Committed | ${formatUtc(new Date(t(600)))} | —`,
    `Published | ${formatUtc(new Date(t(590)))} | 10 s`,
    `Processed by the consumer | ${formatUtc(new Date(t(650)))} | clock skew`,
  ]);
  expect(steps.join('\n')).not.toMatch(/\| -/);
  await closeDetails();
  expect(pageErrors).toEqual([]);
});
