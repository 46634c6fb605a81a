// Starts and stops one emulator: configuration -> store -> broker -> AMQP listener -> admin endpoint.
// Explicit lifecycle (Closed -> Starting -> Running -> Closing -> Closed), port 0 supported, never port 5672.
import { AdminServer } from './admin/AdminServer';
import { FaultInjector } from './admin/FaultInjector';
import { createAdmin, type ServiceBusEmulatorAdmin } from './admin/ServiceBusEmulatorAdmin';
import { AmqpServer } from './amqp/AmqpServer';
import { withApplicationProperties } from './amqp/codec';
import { editPayload } from './amqp/messageEdits';
import { selfSignedCertificate, type TlsCertificate } from './amqp/certificate';
import { loadEmulatorConfigFile, parseEmulatorConfig, toEntityDefinitions, type EmulatorConfig } from './configuration/EmulatorConfig';
import { Broker } from './core/Broker';
import { MessageStore } from './persistence/MessageStore';

export interface ServiceBusEmulatorOptions {
  /** AMQP port; 0 (the default) picks a free port. 5672 is refused: RabbitMQ owns it on developer machines. */
  port?: number;
  /** Only 127.0.0.1 is supported: the emulator has no authentication. */
  host?: '127.0.0.1';
  /** A Config.json document (Microsoft's emulator format) or the path of one. Without it the namespace is empty. */
  config?: EmulatorConfig | string;
  /** SQLite file that keeps messages across restarts; omitted = in memory. */
  dataFile?: string;
  /** Largest accepted message or batch, in bytes (default 262144, the Standard tier's 256 KB). */
  maxMessageSizeInBytes?: number;
  /** A client connection that has not sent its AMQP open frame by then is closed (default 30 s). */
  handshakeTimeoutInMs?: number;
  /** Admin HTTP port; 0 (the default) picks a free port. */
  adminPort?: number;
  /** The SAS rule in the connection strings, checked when a client authenticates with SASL PLAIN. */
  sharedAccessKeyName?: string;
  sharedAccessKey?: string;
  /**
   * Also listen for AMQP over TLS (amqps), with this certificate or a self-signed one generated at start ('generate'),
   * for SDKs that always dial amqps (Python's azure-servicebus on uamqp). Off by default.
   */
  tls?: TlsCertificate | 'generate';
  /** TLS port when `tls` is set; 0 (the default) picks a free port. 5671 is Service Bus's own. */
  tlsPort?: number;
}

export interface ServiceBusEmulator extends ServiceBusEmulatorAdmin {
  /** `Endpoint=sb://127.0.0.1:PORT;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true` */
  readonly connectionString: string;
  readonly port: number;
  /** Base URL of the admin endpoint, e.g. `http://127.0.0.1:41234`. */
  readonly adminUrl: string;
  /** With `tls`: the TLS port, its certificate (PEM, to trust) and `Endpoint=sb://127.0.0.1:TLSPORT;SharedAccessKeyName=…;SharedAccessKey=…`. */
  readonly tlsPort?: number;
  readonly certificate?: string;
  readonly tlsConnectionString?: string;
  close(): Promise<void>;
}

export const defaultMaxMessageSizeInBytes = 262_144;
/** Microsoft's Service Bus emulator documents this key name and key in its connection string. */
export const defaultSharedAccessKeyName = 'RootManageSharedAccessKey';
export const defaultSharedAccessKey = 'SAS_KEY_VALUE';
const reservedAmqpPort = 5672;

type LifecycleState = 'Starting' | 'Running' | 'Closing' | 'Closed';

function validateOptions(options: ServiceBusEmulatorOptions): void {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer from 0 to 65535 (got ${String(options.port)}).`);
  if (port === reservedAmqpPort) throw new RangeError('port 5672 is reserved for RabbitMQ on this machine; use 0 or another port.');
  const tlsPort = options.tlsPort ?? 0;
  if (!Number.isInteger(tlsPort) || tlsPort < 0 || tlsPort > 65535) throw new RangeError(`tlsPort must be an integer from 0 to 65535 (got ${String(options.tlsPort)}).`);
  if (tlsPort === reservedAmqpPort) throw new RangeError('tlsPort 5672 is reserved for RabbitMQ on this machine; use 0 or another port.');
  if (options.tlsPort !== undefined && options.tls === undefined) throw new RangeError('tlsPort needs tls (a certificate or "generate").');
  for (const [name, value] of [['sharedAccessKeyName', options.sharedAccessKeyName], ['sharedAccessKey', options.sharedAccessKey]] as const) {
    // ';' and '=' would break the connection string; NUL would break SASL PLAIN.
    if (value !== undefined && (value === '' || /[;=]/.test(value) || value.includes('\u0000'))) throw new RangeError(`${name} must be non-empty without ';', '=' or NUL.`);
  }
  const adminPort = options.adminPort ?? 0;
  if (!Number.isInteger(adminPort) || adminPort < 0 || adminPort > 65535) throw new RangeError(`adminPort must be an integer from 0 to 65535 (got ${String(options.adminPort)}).`);
  if (options.host !== undefined && options.host !== '127.0.0.1') throw new RangeError('host must be 127.0.0.1: the emulator has no authentication.');
  const handshake = options.handshakeTimeoutInMs;
  if (handshake !== undefined && (!Number.isInteger(handshake) || handshake < 1)) throw new RangeError('handshakeTimeoutInMs must be a positive integer.');
  const size = options.maxMessageSizeInBytes ?? defaultMaxMessageSizeInBytes;
  if (!Number.isInteger(size) || size < 1024) throw new RangeError('maxMessageSizeInBytes must be an integer of at least 1024.');
}

/** Starts a Service Bus emulator that the official @azure/service-bus SDK can use unmodified. */
export async function startServiceBusEmulator(options: ServiceBusEmulatorOptions = {}): Promise<ServiceBusEmulator> {
  validateOptions(options);
  const host = '127.0.0.1';
  const config =
    options.config === undefined
      ? parseEmulatorConfig({ UserConfig: { Namespaces: [{ Name: 'sbemulatorns', Queues: [], Topics: [] }] } })
      : typeof options.config === 'string'
        ? loadEmulatorConfigFile(options.config)
        : parseEmulatorConfig(options.config);
  const maxMessageSizeInBytes = options.maxMessageSizeInBytes ?? defaultMaxMessageSizeInBytes;
  const sas = { keyName: options.sharedAccessKeyName ?? defaultSharedAccessKeyName, key: options.sharedAccessKey ?? defaultSharedAccessKey };
  const certificate = options.tls === 'generate' ? await selfSignedCertificate() : options.tls;

  let state: LifecycleState = 'Starting';
  const store = new MessageStore(options.dataFile);
  const broker = new Broker({ store, entities: toEntityDefinitions(config), modifyProperties: withApplicationProperties, editPayload });
  const faults = new FaultInjector();
  const amqp = new AmqpServer({
    host,
    port: options.port ?? 0,
    broker,
    faults,
    maxMessageSizeInBytes,
    handshakeTimeoutInMs: options.handshakeTimeoutInMs,
    sas,
    tls: certificate ? { port: options.tlsPort ?? 0, ...certificate } : undefined,
  });
  const admin = createAdmin(broker, faults, () => amqp.dropAllConnections());
  const adminServer = new AdminServer(admin);

  let port: number;
  let tlsPort: number | undefined;
  let adminPort: number;
  try {
    broker.start();
    ({ port, tlsPort } = await amqp.listen());
    adminPort = await adminServer.listen(host, options.adminPort ?? 0);
  } catch (error) {
    await amqp.close().catch(() => undefined);
    await adminServer.close().catch(() => undefined);
    broker.close();
    store.close();
    throw error;
  }
  state = 'Running';

  return {
    ...admin,
    connectionString: `Endpoint=sb://${host}:${port};SharedAccessKeyName=${sas.keyName};SharedAccessKey=${sas.key};UseDevelopmentEmulator=true`,
    port,
    tlsPort,
    certificate: certificate?.cert,
    tlsConnectionString: tlsPort === undefined ? undefined : `Endpoint=sb://${host}:${tlsPort};SharedAccessKeyName=${sas.keyName};SharedAccessKey=${sas.key}`,
    adminUrl: `http://${host}:${adminPort}`,
    async close(): Promise<void> {
      if (state !== 'Running') return;
      state = 'Closing';
      await amqp.close();
      await adminServer.close();
      broker.close();
      store.close();
      state = 'Closed';
    },
  };
}
