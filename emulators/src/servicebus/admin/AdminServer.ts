// Local admin HTTP endpoint (127.0.0.1 only; local Host/Origin only, writes need the x-emulator-admin header): entity counts, dead-letter contents, runtime entities and fault
// injection. Every route is a thin call into the emulator's programmatic admin API, so both stay equal.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isServiceBusEmulatorConfigError, type ShortQueueConfig, type ShortTopicConfig } from '../configuration/EmulatorConfig';
import { isBrokerError } from '../errors/BrokerError';
import { checkAdminWrite, checkHostAndOrigin } from '../../shared/localSurface';
import type { ServiceBusEmulatorAdmin } from './ServiceBusEmulatorAdmin';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const maxBodyBytes = 1_048_576;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new HttpError(413, 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new HttpError(400, 'The request body must be a JSON object.');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff' });
  res.end(text);
}

function numberField(body: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = body[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpError(400, `"${name}" must be a number.`);
  return value;
}

function stringField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `"${name}" must be a string.`);
  return value;
}

export class AdminServer {
  private server?: Server;

  constructor(private readonly admin: ServiceBusEmulatorAdmin) {}

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      // Only this server's own Host and Origin, and writes with the admin header: no DNS rebinding, no cross-site posts.
      const refused = checkHostAndOrigin(req, req.socket.localPort ?? 0) ?? checkAdminWrite(req);
      if (refused) {
        res.setHeader('connection', 'close');
        return send(res, refused.status, { error: refused.reason });
      }
      this.route(req, res).catch((error: unknown) => {
        if (error instanceof HttpError) send(res, error.status, { error: error.message });
        else if (isBrokerError(error)) send(res, error.code === 'EntityNotFound' ? 404 : error.code === 'InvalidOperation' ? 409 : 400, { error: error.message, code: error.code });
        else if (isServiceBusEmulatorConfigError(error)) send(res, 400, { error: error.message, path: error.path });
        else if (error instanceof RangeError || error instanceof TypeError) send(res, 400, { error: error.message });
        else send(res, 500, { error: error instanceof Error ? error.message : String(error) });
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const deadLetters = /^\/entities\/(.+)\/deadletters$/.exec(path);
    const duplicates = /^\/entities\/(.+)\/duplicates$/.exec(path);
    const entityOf = (encoded: string): string => {
      try {
        return decodeURIComponent(encoded);
      } catch {
        throw new HttpError(400, 'The entity name in the path is not valid percent-encoding.');
      }
    };

    if (method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
    if (method === 'GET' && path === '/entities') return send(res, 200, { entities: this.admin.listEntities() });
    if (method === 'GET' && deadLetters) {
      const max = Number(url.searchParams.get('max') ?? '100');
      const entity = entityOf(deadLetters[1]!);
      return send(res, 200, { entity, messages: this.admin.peekDeadLetters(entity, Number.isFinite(max) && max > 0 ? max : 100) });
    }
    if (method === 'GET' && duplicates) {
      const max = Number(url.searchParams.get('max') ?? '10000');
      const entity = entityOf(duplicates[1]!);
      return send(res, 200, { entity, dropped: this.admin.droppedDuplicates(entity, Number.isInteger(max) && max > 0 ? max : 10_000) });
    }
    if (method === 'POST' && path === '/entities') {
      const body = await readJson(req);
      if (body.queue) this.admin.addQueue(body.queue as ShortQueueConfig);
      else if (body.topic) this.admin.addTopic(body.topic as ShortTopicConfig);
      else throw new HttpError(400, 'Send {"queue": {...}} or {"topic": {...}}.');
      return send(res, 201, { entities: this.admin.listEntities() });
    }
    if (method === 'GET' && path === '/faults') return send(res, 200, this.admin.faults());
    if (method === 'DELETE' && path === '/faults') {
      this.admin.clearFaults();
      return send(res, 200, this.admin.faults());
    }
    if (method === 'POST' && path === '/faults/drop-connections') return send(res, 200, { dropped: this.admin.dropAllConnections() });
    if (method === 'POST' && path === '/faults/refuse-attaches') {
      const body = await readJson(req);
      this.admin.refuseAttaches({ durationInMs: numberField(body, 'durationInMs', true)!, entity: stringField(body, 'entity') });
      return send(res, 200, this.admin.faults());
    }
    if (method === 'POST' && path === '/faults/delay-sends') {
      const body = await readJson(req);
      this.admin.delaySends({
        delayInMs: numberField(body, 'delayInMs', true)!,
        durationInMs: numberField(body, 'durationInMs', false),
        entity: stringField(body, 'entity'),
      });
      return send(res, 200, this.admin.faults());
    }
    throw new HttpError(404, `No route for ${method} ${path}.`);
  }
}
