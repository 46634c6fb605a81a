// Serves Microsoft's PCF test harness (the page `npm start` of a PCF project opens) the way `pcf-start` does, but on
// 127.0.0.1 and a free port: pcf-start's own bin always listens on every interface at 8181 (browser-sync). Same layout
// as its bin: the pcf-start package at "/" first (index.html, harness.js, lib/ platform libraries, loc/), then the built
// control folder (ControlManifest.xml, bundle.js, strings/). Files are served unmodified; GET and HEAD only.
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface HarnessServer {
  /** e.g. `http://127.0.0.1:PORT/` */
  readonly url: string;
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.xml': 'text/xml; charset=utf-8',
  '.resx': 'text/xml; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The pcf-start package folder (its harness page, harness.js and platform libraries). */
export function pcfStartDir(): string {
  return path.dirname(require.resolve('pcf-start/package.json'));
}

async function fileUnder(root: string, urlPath: string): Promise<string | undefined> {
  const file = path.resolve(root, `.${urlPath}`);
  if (file !== root && !file.startsWith(`${root}${path.sep}`)) return undefined;
  try {
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

export async function startHarnessServer(options: { controlDir: string }): Promise<HarnessServer> {
  const roots = [pcfStartDir(), path.resolve(options.controlDir)];
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      response.writeHead(400).end();
      return;
    }
    if (urlPath.endsWith('/')) urlPath += 'index.html';
    let file: string | undefined;
    for (const root of roots) {
      file = await fileUnder(root, urlPath);
      if (file) break;
    }
    if (!file) {
      response.writeHead(404).end();
      return;
    }
    const body = await readFile(file);
    response.writeHead(200, { 'Content-Type': contentTypes[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
