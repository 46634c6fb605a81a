// Reads the frame headers of an AMQP 1.0 byte stream before rhea sees it, so nothing a peer declares is buffered
// beyond the limits (rhea itself would collect a declared 4 GiB frame in memory until it arrived):
//   - a protocol header must be "AMQP" + id 0 (AMQP) or 3 (SASL) + version 1.0.0;
//   - until the peer's open frame, no frame may exceed 512 bytes (AMQP 1.0 §2.4.1, MIN-MAX-FRAME-SIZE; SASL frames
//     are bound by it too);
//   - after it, no frame may exceed the max-frame-size this server advertised in its own open;
//   - a frame's size must cover its 8-byte header and its data offset (doff >= 2).
// Only frame headers are held (a few bytes); frame bodies pass through untouched.

export const PRE_OPEN_MAX_FRAME_SIZE = 512;

export interface FrameViolation {
  /** amqp:connection:framing-error for every malformed or oversized frame; the description says which. */
  readonly condition: 'amqp:connection:framing-error';
  readonly description: string;
  /** Whether the peer had reached the AMQP layer (a close frame can be sent) or not (the socket is just closed). */
  readonly amqpLayer: boolean;
}

const AMQP = Buffer.from('AMQP', 'ascii');
const OPEN_DESCRIPTOR = 0x10;

export class FrameGuard {
  private head = Buffer.alloc(0);
  private skip = 0;
  private opened = false;
  private amqpLayer = false;
  private headers = 0;

  constructor(private readonly maxFrameSize: number) {}

  /** Whether the peer's open frame has been read (the negotiated limit applies from then on). */
  get isOpen(): boolean {
    return this.opened;
  }

  /** Checks one chunk; returns the first violation in it, or undefined when every byte so far is well framed. */
  feed(chunk: Buffer): FrameViolation | undefined {
    let pos = 0;
    for (;;) {
      if (this.skip > 0) {
        if (pos >= chunk.length) return undefined;
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      const need = this.needed();
      if (typeof need !== 'number') return need;
      if (this.head.length >= need) {
        const violation = this.complete();
        if (violation) return violation;
        continue;
      }
      if (pos >= chunk.length) return undefined;
      const take = Math.min(need - this.head.length, chunk.length - pos);
      this.head = Buffer.concat([this.head, chunk.subarray(pos, pos + take)]);
      pos += take;
    }
  }

  private fail(description: string): FrameViolation {
    return { condition: 'amqp:connection:framing-error', description, amqpLayer: this.amqpLayer };
  }

  /** How many bytes of the current header are needed to judge it (or a violation already visible). */
  private needed(): number | FrameViolation {
    if (this.head.length < 4) return 4;
    if (this.head.subarray(0, 4).equals(AMQP)) return 8;
    if (this.headers === 0) return this.fail('The connection must start with an AMQP 1.0 protocol header ("AMQP" 0 1 0 0, or "AMQP" 3 1 0 0 for SASL).');
    const size = this.head.readUInt32BE(0);
    const limit = this.opened ? this.maxFrameSize : PRE_OPEN_MAX_FRAME_SIZE;
    if (size > limit) {
      return this.fail(
        this.opened
          ? `A frame of ${size} bytes exceeds the negotiated max-frame-size of ${limit} bytes.`
          : `A frame of ${size} bytes was declared before the open frame; until open is negotiated frames are limited to ${limit} bytes.`,
      );
    }
    if (size < 8) return this.fail(`A frame size of ${size} bytes is smaller than the 8-byte frame header.`);
    if (this.head.length < 8) return 8;
    const doff = this.head[4] as number;
    if (doff < 2 || doff * 4 > size) return this.fail(`The data offset ${doff} of a ${size}-byte frame is not valid.`);
    // Before open, read as far as the performative's descriptor (0x00 0x53 <code>, or 0x00 0x80 <8-byte code>).
    if (!this.opened && this.amqpLayer && size > doff * 4) return Math.min(size, doff * 4 + 10);
    return 8;
  }

  /** The current header is complete: judge it and move on to the frame body. */
  private complete(): FrameViolation | undefined {
    if (this.head.subarray(0, 4).equals(AMQP)) {
      const [id, major, minor, revision] = [this.head[4], this.head[5], this.head[6], this.head[7]];
      if ((id !== 0 && id !== 3) || major !== 1 || minor !== 0 || revision !== 0) {
        return this.fail(`Unsupported protocol header AMQP ${id} ${major}.${minor}.${revision}; this server speaks AMQP 1.0.0 (id 0) with SASL (id 3).`);
      }
      if (id === 0) this.amqpLayer = true;
      this.headers++;
      this.head = Buffer.alloc(0);
      return undefined;
    }
    const size = this.head.readUInt32BE(0);
    const doff = this.head[4] as number;
    if (!this.opened && this.amqpLayer && size > doff * 4) {
      const p = doff * 4;
      const code = this.head[p] === 0x00 && this.head[p + 1] === 0x53 ? this.head[p + 2] : this.head[p] === 0x00 && this.head[p + 1] === 0x80 && this.head.length >= p + 10 ? Number(this.head.readBigUInt64BE(p + 2)) : undefined;
      if (code !== OPEN_DESCRIPTOR) return this.fail('The first AMQP frame must be open.');
      this.opened = true;
    }
    this.skip = size - this.head.length;
    this.head = Buffer.alloc(0);
    return undefined;
  }
}

/** An open frame then a close frame carrying `error`, hand-encoded: sent when the peer broke framing before open. */
export function openThenClose(containerId: string, condition: string, description: string): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8').subarray(0, 255);
    return Buffer.concat([Buffer.from([0xa1, b.length]), b]);
  };
  const sym = (s: string): Buffer => Buffer.concat([Buffer.from([0xa3, Buffer.byteLength(s, 'ascii')]), Buffer.from(s, 'ascii')]);
  const list = (items: Buffer[]): Buffer => {
    const body = Buffer.concat(items);
    const size = Buffer.alloc(4);
    const count = Buffer.alloc(4);
    size.writeUInt32BE(body.length + 4);
    count.writeUInt32BE(items.length);
    return Buffer.concat([Buffer.from([0xd0]), size, count, body]);
  };
  const described = (code: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([0x00, 0x53, code]), value]);
  const frame = (performative: Buffer): Buffer => {
    const header = Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]);
    header.writeUInt32BE(8 + performative.length);
    return Buffer.concat([header, performative]);
  };
  const shortDescription = description.length > 250 ? `${description.slice(0, 247)}...` : description; // str8 holds 255 bytes
  return Buffer.concat([
    frame(described(0x10, list([str(containerId)]))),
    frame(described(0x18, list([described(0x1d, list([sym(condition), str(shortDescription)]))]))),
  ]);
}
