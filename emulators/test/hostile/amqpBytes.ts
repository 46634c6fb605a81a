// Hand-made AMQP 1.0 bytes for hostile-input tests (a raw socket says exactly what the test wants, malformed included).
import { connect } from 'node:net';

export const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
export const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

const str = (s: string): Buffer => Buffer.concat([Buffer.from([0xa1, Buffer.byteLength(s)]), Buffer.from(s)]);
const sym = (s: string): Buffer => Buffer.concat([Buffer.from([0xa3, s.length]), Buffer.from(s, 'ascii')]);
function list(items: Buffer[]): Buffer {
  const body = Buffer.concat(items);
  const head = Buffer.alloc(9);
  head[0] = 0xd0;
  head.writeUInt32BE(body.length + 4, 1);
  head.writeUInt32BE(items.length, 5);
  return Buffer.concat([head, body]);
}
const described = (code: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([0x00, 0x53, code]), value]);

export function frame(type: 0 | 1, body: Buffer, doff = 2): Buffer {
  const header = Buffer.alloc(doff * 4);
  header.writeUInt32BE(doff * 4 + body.length, 0);
  header[4] = doff;
  header[5] = type;
  return Buffer.concat([header, body]);
}

/** sasl-init with ANONYMOUS (optionally padded to make the frame larger). */
export function saslInit(padding = 0): Buffer {
  const response = Buffer.alloc(5 + padding);
  response[0] = 0xb2; // vbin32: the initial-response, padded to grow the frame
  response.writeUInt32BE(padding, 1);
  return frame(1, described(0x41, list(padding > 0 ? [sym('ANONYMOUS'), response] : [sym('ANONYMOUS')])));
}
export const openFrame = (): Buffer => frame(0, described(0x10, list([str('hostile-client')])));
export const beginFrame = (): Buffer => frame(0, described(0x11, list([Buffer.from([0x40]), Buffer.from([0x43]), Buffer.from([0x70, 0, 0, 0x10, 0]), Buffer.from([0x70, 0, 0, 0x10, 0])])));
/** Only a frame header declaring `size` bytes (what a peer sends before the body it may never send). */
export function declaredFrame(size: number, type = 0): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(size >>> 0, 0);
  b[4] = 2;
  b[5] = type;
  return b;
}

export interface RawSession {
  write(bytes: Buffer): void;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves once at least `min` bytes arrived (or the socket closed). */
  receivedAtLeast(min: number): Promise<Buffer>;
  /** Resolves when the server closed the connection. */
  closed: Promise<void>;
  isClosed(): boolean;
  destroy(): void;
}

export async function rawAmqp(port: number): Promise<RawSession> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined); // a reset after the server closes is part of some cases
  let data = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  return {
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    received: () => data,
    async receivedAtLeast(min) {
      while (data.length < min && !socket.destroyed && socket.readable) await new Promise<void>((resolve) => waiters.push(resolve));
      return data;
    },
    closed,
    isClosed: () => socket.destroyed,
    destroy: () => socket.destroy(),
  };
}

/** The SASL handshake up to (not including) the AMQP header: header, mechanisms, init, outcome. */
export async function throughSasl(session: RawSession): Promise<void> {
  session.write(SASL_HEADER);
  session.write(saslInit());
  // header (8) + mechanisms frame + outcome frame: wait until the outcome (descriptor 0x44) is in.
  for (;;) {
    const got = await session.receivedAtLeast(session.received().length + 1);
    if (got.includes(Buffer.from([0x00, 0x53, 0x44]))) return;
    if (session.isClosed()) throw new Error('the server closed the connection during SASL');
  }
}
