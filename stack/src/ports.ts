// Port choice: the stack picks free ports once and keeps them for its whole life, so a component restarted after a
// kill comes back at the same address and its clients reconnect. A new `npm start` prefers the previous run's ports
// (stable URLs for the user) when they are still free.
import { createServer } from 'node:net';

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(chosen));
    });
  });
}

/** Reserved for RabbitMQ on developer machines: never handed out. */
const RESERVED = new Set([5672]);

/** A free port on 127.0.0.1: `preferred` when it is free, else any free one. Never returns a port in `exclude`. */
export async function pickPort(preferred?: number, exclude: ReadonlySet<number> = new Set()): Promise<number> {
  if (preferred && !RESERVED.has(preferred) && !exclude.has(preferred)) {
    const p = await listenOn(preferred);
    if (p !== undefined) return p;
  }
  for (let i = 0; i < 50; i++) {
    const p = await listenOn(0);
    if (p !== undefined && !RESERVED.has(p) && !exclude.has(p)) return p;
  }
  throw new Error('Could not find a free TCP port on 127.0.0.1.');
}

/** Picks several distinct free ports, each preferring the given one. */
export async function pickPorts<K extends string>(preferred: Partial<Record<K, number>>, names: readonly K[]): Promise<Record<K, number>> {
  const taken = new Set<number>();
  const out = {} as Record<K, number>;
  for (const name of names) {
    const p = await pickPort(preferred[name], taken);
    taken.add(p);
    out[name] = p;
  }
  return out;
}
