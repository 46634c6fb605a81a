// The monitor page in a real browser: Debian chromium driven by playwright-core (never a downloaded browser).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { healthCountedStatuses, type HealthCountedStatus } from '@dataverse-outbox/contract';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface MonitorBrowser {
  page: Page;
  close(): Promise<void>;
}

export async function openBrowser(viewport = { width: 1400, height: 900 }): Promise<MonitorBrowser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'stack-chromium-'));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: chromiumArgs,
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    page,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The statuses the monitor counts (the contract's: finished rows are not counted, so health costs the same at any size). */
export const monitorStatuses = healthCountedStatuses;
export type MonitorCounts = Record<HealthCountedStatus, number>;

const toNumber = (text: string): number => Number(text.replace(/[^\d]/g, ''));

/** Loads the monitor page and reads the "Rows by status" line the control renders from its server-side counts. */
export async function readMonitorCounts(page: Page, url: string): Promise<MonitorCounts> {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/ERR_NAME_NOT_RESOLVED/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  await page.goto(url, { waitUntil: 'load' });
  try {
    await page.locator(`[data-count-status="${monitorStatuses[0]}"] strong`).waitFor({ timeout: 60_000 });
  } catch (e) {
    const text = await page.locator('body').innerText().catch(() => '(no body)');
    throw new Error(`The monitor page shows no counts: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n${problems.join('\n')}\n--- page text ---\n${text.slice(0, 2000)}`);
  }
  const counts = {} as MonitorCounts;
  for (const s of monitorStatuses) counts[s] = toNumber(await page.locator(`[data-count-status="${s}"] strong`).innerText());
  return counts;
}
