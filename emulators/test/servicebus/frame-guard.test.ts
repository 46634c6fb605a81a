// FrameGuard on its own: byte streams cut at every possible place judge the same as whole ones, and it holds only
// frame headers (a declared 4 GiB frame is refused from its first 4 bytes, whatever follows).
import { FrameGuard, PRE_OPEN_MAX_FRAME_SIZE } from '../../src/servicebus/amqp/frameGuard';
import { AMQP_HEADER, beginFrame, declaredFrame, openFrame, saslInit, SASL_HEADER } from '../hostile/amqpBytes';

const handshake = Buffer.concat([SASL_HEADER, saslInit(), AMQP_HEADER, openFrame(), beginFrame(), beginFrame()]);

function feedInPieces(guard: FrameGuard, bytes: Buffer, piece: number): ReturnType<FrameGuard['feed']> {
  for (let i = 0; i < bytes.length; i += piece) {
    const v = guard.feed(bytes.subarray(i, i + piece));
    if (v) return v;
  }
  return undefined;
}

test.each([1, 2, 3, 7, 64, 10_000])('a valid SASL + open + begin stream cut into %i-byte pieces passes and ends open', (piece) => {
  const guard = new FrameGuard(1 << 20);
  expect(feedInPieces(guard, handshake, piece)).toBeUndefined();
  expect(guard.isOpen).toBe(true);
});

test('a declared 4 GiB frame is refused as soon as its size is in, one byte at a time', () => {
  const guard = new FrameGuard(1 << 20);
  expect(guard.feed(SASL_HEADER)).toBeUndefined();
  const size = declaredFrame(0xffffffff, 1);
  expect(guard.feed(size.subarray(0, 3))).toBeUndefined();
  expect(guard.feed(size.subarray(3, 4))).toMatchObject({ condition: 'amqp:connection:framing-error', description: expect.stringContaining(`limited to ${PRE_OPEN_MAX_FRAME_SIZE} bytes`) });
});

test('after open the advertised limit applies: a frame of exactly the limit passes its header, one byte more does not', () => {
  const open = new FrameGuard(4096);
  expect(open.feed(Buffer.concat([SASL_HEADER, saslInit(), AMQP_HEADER, openFrame()]))).toBeUndefined();
  expect(open.feed(declaredFrame(4096))).toBeUndefined();
  const other = new FrameGuard(4096);
  other.feed(Buffer.concat([SASL_HEADER, saslInit(), AMQP_HEADER, openFrame()]));
  expect(other.feed(declaredFrame(4097))?.description).toContain('exceeds the negotiated max-frame-size of 4096 bytes');
});
