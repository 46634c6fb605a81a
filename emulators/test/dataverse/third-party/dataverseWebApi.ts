// Loads npm `dataverse-webapi` 3.3 and points it at the emulator's HTTPS mode. The package exports only an "import"
// condition although its files are CommonJS, so its Node entry is loaded by path; and its Node transport always dials
// port 443 of the URL's host (it passes `hostname` and no `port` or agent to https.request), so for the test's duration
// the global HTTPS agent is swapped for one that dials the emulator's port, trusts the emulator's generated certificate
// and names that port in the Host header, as a reverse proxy on 443 would. Nothing of the library is changed.
import { existsSync } from 'node:fs';
import https from 'node:https';
import type { ClientRequest } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as DataverseWebApi from 'dataverse-webapi/lib/node' with { 'resolution-mode': 'import' };

export type DataverseWebApiModule = typeof DataverseWebApi;

export function loadDataverseWebApi(): DataverseWebApiModule {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const entry = join(dir, 'node_modules', 'dataverse-webapi', 'lib', 'node.js');
    if (existsSync(entry)) return createRequire(__filename)(entry) as DataverseWebApiModule;
    if (dirname(dir) === dir) throw new Error('dataverse-webapi is not installed (npm install -D dataverse-webapi@3.3.0 -w emulators).');
  }
}

/** An HTTPS agent whose default port is the emulator's: requests for https://127.0.0.1/ (port 443) reach it. */
class EmulatorAgent extends https.Agent {
  constructor(
    private readonly port: number,
    ca: string,
  ) {
    super({ ca, keepAlive: false });
    Object.assign(this, { defaultPort: port });
  }

  // Called by ClientRequest before its headers are written: the Host header names the port the emulator answers on.
  addRequest(req: ClientRequest, options: https.RequestOptions): void {
    req.setHeader('Host', `127.0.0.1:${this.port}`);
    (https.Agent.prototype as unknown as { addRequest(r: ClientRequest, o: https.RequestOptions): void }).addRequest.call(this, req, options);
  }
}

/** Routes the global HTTPS agent to the emulator until the returned function is called. */
export function routeHttpsToEmulator(port: number, certificate: string): () => void {
  const original = https.globalAgent;
  const agent = new EmulatorAgent(port, certificate);
  https.globalAgent = agent;
  return () => {
    https.globalAgent = original;
    agent.destroy();
  };
}
