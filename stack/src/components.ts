// The five components of the local stack as child-process specs: entry point, arguments, app settings and readiness.
import { connect } from 'node:net';
import path from 'node:path';
import type { ErpDatabase } from './config/erpDatabase';
import { ACK_QUEUE, CANARY_QUEUE, DEMO_CUSTOMERS, ERP_SALES_QUEUE, LOCAL_DATAVERSE_TOKEN } from './config/localStack';
import type { ComponentSpec } from './process/ComponentProcess';
import { TRACES_FILE_SETTING } from './tracing/settings';
import { entryPoints, repoRoot, type DataLayout } from './paths';
import type { ComponentName, StackPorts } from './state';

async function httpOk(url: string): Promise<boolean> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 2_000);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(t);
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface StackEndpoints {
  dataverseUrl: string;
  serviceBusConnectionString: string;
  serviceBusAdminUrl: string;
  monitorUrl: string;
}

export function endpoints(ports: StackPorts): StackEndpoints {
  return {
    dataverseUrl: `http://127.0.0.1:${ports.dataverse}`,
    serviceBusConnectionString: `Endpoint=sb://127.0.0.1:${ports.servicebus};SharedAccessKeyName=local;SharedAccessKey=local;UseDevelopmentEmulator=true`,
    serviceBusAdminUrl: `http://127.0.0.1:${ports.servicebusAdmin}`,
    monitorUrl: `http://127.0.0.1:${ports.monitor}/`,
  };
}

export interface ComponentContext {
  layout: DataLayout;
  ports: StackPorts;
  erpDatabase: ErpDatabase;
  /** Extra app settings per component (e.g. the chaos run's shorter lease, or a broken consumer variant). */
  extraEnv?: Partial<Record<ComponentName, Readonly<Record<string, string | undefined>>>>;
  startTimeoutMs?: number;
  /** Record the publisher's and the consumer's spans in `<data>/traces/` (default true; the chaos run turns it off). */
  recordTraces?: boolean;
}

/** The preload that registers the trace recorder (stack/src/tracing/preload.ts). */
const tracePreload = path.join(repoRoot, 'stack', 'src', 'tracing', 'preload.ts');

export function componentSpecs(ctx: ComponentContext): Record<ComponentName, ComponentSpec> {
  const e = endpoints(ctx.ports);
  const common = { cwd: repoRoot, startTimeoutMs: ctx.startTimeoutMs };
  const traced = (component: ComponentName): Pick<ComponentSpec, 'preload'> & { env: Record<string, string> } =>
    ctx.recordTraces === false
      ? { env: {} }
      : { preload: [tracePreload], env: { [TRACES_FILE_SETTING]: path.join(ctx.layout.tracesDir, `${component}.jsonl`), OTEL_SERVICE_NAME: component } };
  // The spec's app settings, one name each (docs/architecture.md).
  const publisherEnv = {
    DATAVERSE_URL: e.dataverseUrl,
    DATAVERSE_TOKEN: LOCAL_DATAVERSE_TOKEN,
    SERVICEBUS_CONNECTION_STRING: e.serviceBusConnectionString,
    OUTBOX_SCOPE: 'default',
  };
  const consumerEnv: Record<string, string | undefined> = {
    SERVICEBUS_CONNECTION_STRING: e.serviceBusConnectionString,
    ERP_QUEUE: ERP_SALES_QUEUE,
    ERP_SESSIONS: 'true',
    // One worker per demo customer (ordering key): a worker keeps its session while messages keep coming, so fewer
    // workers than busy keys would starve the other keys until a session goes idle.
    ERP_CONCURRENCY: String(DEMO_CUSTOMERS.length),
    OUTBOX_ACK_QUEUE: ACK_QUEUE,
    OUTBOX_CANARY_QUEUE: CANARY_QUEUE,
    ...(ctx.erpDatabase.kind === 'postgres'
      ? { DATABASE_URL: ctx.erpDatabase.url, ERP_DB_SCHEMA: ctx.erpDatabase.schema, INBOX_SQLITE_FILE: undefined }
      : { INBOX_SQLITE_FILE: ctx.erpDatabase.file, DATABASE_URL: undefined }),
  };
  return {
    dataverse: {
      ...common,
      name: 'dataverse',
      title: 'Dataverse emulator',
      entry: entryPoints.dataverse,
      args: ['--port', String(ctx.ports.dataverse), '--data-file', ctx.layout.dataverseFile],
      env: ctx.extraEnv?.dataverse,
      ready: () => httpOk(`${e.dataverseUrl}/_admin/health`),
      stopTimeoutMs: 15_000,
    },
    servicebus: {
      ...common,
      name: 'servicebus',
      title: 'Service Bus emulator',
      entry: entryPoints.servicebus,
      args: [
        '--port', String(ctx.ports.servicebus),
        '--admin-port', String(ctx.ports.servicebusAdmin),
        '--config', ctx.layout.serviceBusConfigFile,
        '--data-file', ctx.layout.serviceBusFile,
      ],
      env: ctx.extraEnv?.servicebus,
      ready: async () => (await httpOk(`${e.serviceBusAdminUrl}/health`)) && (await tcpOpen(ctx.ports.servicebus)),
      stopTimeoutMs: 15_000,
    },
    publisher: {
      ...common,
      name: 'publisher',
      title: 'Publisher worker',
      entry: entryPoints.publisher,
      preload: traced('publisher').preload,
      env: { ...publisherEnv, ...traced('publisher').env, ...ctx.extraEnv?.publisher },
      readyLine: /"message":"publisher started"/,
      ready: async ({ sawLine }) => sawLine,
      // Finishes the batch in hand and releases the lease.
      stopTimeoutMs: 30_000,
    },
    consumer: {
      ...common,
      name: 'consumer',
      title: 'ERP consumer (erp-sales)',
      entry: entryPoints.consumer,
      preload: traced('consumer').preload,
      env: { ...consumerEnv, ...traced('consumer').env, ...ctx.extraEnv?.consumer },
      readyLine: /"msg":"erp-sales ready"/,
      ready: async ({ sawLine }) => sawLine,
      stopTimeoutMs: 30_000,
    },
    monitor: {
      ...common,
      name: 'monitor',
      title: 'Outbox monitor (PCF control host)',
      entry: entryPoints.monitor,
      args: ['--port', String(ctx.ports.monitor), '--dataverse-url', e.dataverseUrl],
      env: { DATAVERSE_TOKEN: LOCAL_DATAVERSE_TOKEN, ...ctx.extraEnv?.monitor },
      readyLine: /Outbox monitor listening on/,
      ready: async ({ sawLine }) => sawLine && (await httpOk(e.monitorUrl)),
      stopTimeoutMs: 10_000,
    },
  };
}
