// What the control's real-browser tests share: Debian's chromium (never a downloaded browser), a page that records every
// error the control causes, and the Dataverse emulator's Web API as a plain HTTP client for arranging rows.
import { chromium, type Browser, type Page } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page whose script errors, console errors and failed requests to this machine land in `errors`. */
export async function openRecordingPage(browser: Browser, viewport: { width: number; height: number }, errors: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // Fluent's default theme asks a CDN for Segoe UI web fonts; this machine is offline, so those loads fail.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  page.on('requestfailed', (request) => {
    if (new URL(request.url()).hostname === '127.0.0.1') errors.push(`request failed: ${request.url()}`);
  });
  return page;
}

export type EmulatorApi = (method: string, pathAndQuery: string, body?: unknown) => Promise<Record<string, unknown>>;

/** JSON requests to the emulator's Web API as `token`'s user, returning the representation (an error names the reply). */
export function emulatorApi(apiUrl: () => string, token: string): EmulatorApi {
  return async (method, pathAndQuery, body) => {
    const response = await fetch(`${apiUrl()}${pathAndQuery}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', 'Content-Type': 'application/json', Prefer: 'return=representation' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${pathAndQuery}: ${response.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
}
