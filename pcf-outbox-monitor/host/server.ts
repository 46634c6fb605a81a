// The monitor's host page server: serves a page that loads the PRODUCTION bundle.js with React 16 and Fluent UI 8 as
// the platform globals the bundle expects (Reactv16, FluentUIReactv8290), a PCF context backed by the Dataverse Web
// API, and a same-origin proxy to Dataverse that adds the bearer token. Used by the browser test and the local stack.
// Every request passes guard.ts first (own Host and Origin only; proxied calls need the page's token), so a page the
// developer visits cannot use the proxy's token (see docs/monitor.md, "Local security").
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { build } from 'esbuild';
import { checkHostAndOrigin, checkProxyCall, forwardedHeaders, newPageToken, type Refusal } from './guard';

export interface MonitorHostOptions {
  /** Dataverse environment URL, e.g. the emulator's `http://127.0.0.1:PORT` (no trailing /api/...). */
  dataverseUrl: string;
  /** Bearer token the proxy adds to every Web API call (the page never sees it). Default: `monitor-host`. */
  token?: string;
  /** 0 (default) = any free port. Always 127.0.0.1. */
  port?: number;
  /** Folder with the built control (bundle.js). Default: this workspace's out/controls/OutboxMonitor. */
  bundleDir?: string;
  /** Rows per page passed as the control's pageSize property. Default 50. */
  pageSize?: number;
  /** Fixed control width in px (0 = follow the window). */
  width?: number;
}

export interface MonitorHost {
  /** e.g. `http://127.0.0.1:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Platform library globals pcf-scripts 1.51.1 compiles the bundle against (PlatformLibraryVersions.json aliases). */
export const platformGlobals = { react: 'Reactv16', fluent: 'FluentUIReactv8290' } as const;

const workspaceDir = existsSync(path.join(__dirname, 'browser')) ? path.resolve(__dirname, '..') : path.resolve(__dirname, '..', '..');
export const defaultBundleDir = path.join(workspaceDir, 'out', 'controls', 'OutboxMonitor');
const apiPath = '/api/data/v9.2/';

function page(config: { apiBase: string; pageSize: number; width: number; pageToken: string }): string {
  // JSON inside <script>: escape "<" so no value can close the script element.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Outbox Monitor</title>
<style>
  body { margin: 0; font-family: "Segoe UI", system-ui, sans-serif; background: #faf9f8; }
  header { padding: 8px 16px; background: #0f6cbd; color: #fff; font-size: 14px; }
  #control-root { margin: 12px; background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
  #host-note { margin: 0 16px; font-size: 12px; color: #605e5c; }
</style>
</head>
<body>
<header>Outbox Monitor · Dataverse Outbox</header>
<div id="host-note" role="status"></div>
<div id="control-root"></div>
<script src="/platform/react.js"></script>
<script src="/platform/react-dom.js"></script>
<script src="/platform/fluentui-react.js"></script>
<script>window.${platformGlobals.react} = window.React; window.${platformGlobals.fluent} = window.FluentUIReact; window.__OBX_HOST__ = ${json};</script>
<script src="/host.js"></script>
<script src="/control/bundle.js"></script>
</body>
</html>`;
}

async function buildHostScript(): Promise<string> {
  const entry = [path.join(__dirname, 'browser', 'main.ts'), path.join(workspaceDir, 'host', 'browser', 'main.ts')].find((p) => existsSync(p));
  if (!entry) throw new Error('monitor host: host/browser/main.ts not found');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    write: false,
    conditions: ['development'],
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('monitor host: esbuild produced no output');
  return file.text;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  // The page is never framed by another site (clickjacking its buttons) and never leaks its URL as a Referer.
  res.writeHead(status, {
    'Content-Type': type,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': "frame-ancestors 'none'",
    'Referrer-Policy': 'no-referrer',
  });
  res.end(body);
}

/** A refusal in Dataverse's error shape on the Web API path (the control shows its message), plain text elsewhere. */
function refuse(res: ServerResponse, refusal: Refusal, onApiPath: boolean): void {
  res.setHeader('Connection', 'close');
  if (onApiPath) send(res, refusal.status, 'application/json; charset=utf-8', JSON.stringify({ error: { code: '0x80040220', message: refusal.reason } }));
  else send(res, refusal.status, 'text/plain; charset=utf-8', refusal.reason);
}

/** Response headers never passed back: cookies and CORS grants are Dataverse's business with its own origin. */
const droppedResponseHeaders = /^(set-cookie|access-control-.*)$/i;

function proxy(req: IncomingMessage, res: ServerResponse, target: URL, token: string, pathAndQuery: string): void {
  // Only the path and query are taken from the request: the bearer token never goes to a host the request names.
  const url = new URL(pathAndQuery, target);
  const headers = { ...forwardedHeaders(req), host: url.host, authorization: `Bearer ${token}` };
  const outgoing = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: req.method, headers }, (upstream) => {
    const back = Object.fromEntries(Object.entries(upstream.headers).filter(([name]) => !droppedResponseHeaders.test(name)));
    res.writeHead(upstream.statusCode ?? 502, back);
    upstream.pipe(res);
  });
  outgoing.on('error', (error) => {
    if (!res.headersSent) send(res, 502, 'application/json', JSON.stringify({ error: { code: '0x80040216', message: `Dataverse unreachable: ${error.message}` } }));
    else res.destroy(error);
  });
  req.pipe(outgoing);
}

export async function startMonitorHost(options: MonitorHostOptions): Promise<MonitorHost> {
  const bundleDir = options.bundleDir ?? defaultBundleDir;
  const bundlePath = path.join(bundleDir, 'bundle.js');
  if (!existsSync(bundlePath)) {
    throw new Error(`monitor host: ${bundlePath} not found. Build the control first: npm run build -w pcf-outbox-monitor`);
  }
  const target = new URL(options.dataverseUrl.replace(/\/+$/, '') + '/');
  const token = options.token ?? 'monitor-host';
  const platform: Record<string, string> = {
    '/platform/react.js': require.resolve('react/umd/react.production.min.js'),
    '/platform/react-dom.js': require.resolve('react-dom/umd/react-dom.production.min.js'),
    '/platform/fluentui-react.js': path.join(path.dirname(require.resolve('@fluentui/react')), '..', 'dist', 'fluentui-react.umd.js'),
  };
  const hostScript = await buildHostScript();
  const pageToken = newPageToken();
  const html = page({ apiBase: apiPath, pageSize: options.pageSize ?? 50, width: options.width ?? 0, pageToken });

  const server = createServer((req, res) => {
    const requested = new URL(req.url ?? '/', 'http://host.invalid');
    const pathname = requested.pathname;
    try {
      // An absolute or protocol-relative request target (`//evil.example/api/...`) names another host: never proxied.
      if (requested.origin !== 'http://host.invalid') return refuse(res, { status: 403, reason: 'The request target must be a path on this host.' }, true);
      const onApiPath = pathname.startsWith(apiPath);
      const refusal = checkHostAndOrigin(req, req.socket.localPort ?? 0) ?? (onApiPath ? checkProxyCall(req, pageToken) : undefined);
      if (refusal) return refuse(res, refusal, onApiPath);
      if (onApiPath) return proxy(req, res, target, token, `${requested.pathname}${requested.search}`);
      if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, { status: 405, reason: `The method ${req.method ?? ''} is not allowed here: the monitor host serves its page with GET.` }, false);
      if (pathname === '/' || pathname === '/index.html') return send(res, 200, 'text/html; charset=utf-8', html);
      if (pathname === '/host.js') return send(res, 200, 'text/javascript; charset=utf-8', hostScript);
      // The bundle is read on every request so a rebuild shows up on reload.
      if (pathname === '/control/bundle.js') return send(res, 200, 'text/javascript; charset=utf-8', readFileSync(bundlePath));
      const file = platform[pathname];
      if (file) return send(res, 200, 'text/javascript; charset=utf-8', readFileSync(file));
      return send(res, 404, 'text/plain', 'not found');
    } catch (error) {
      return send(res, 500, 'text/plain', error instanceof Error ? error.message : String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
