// The shared host loop both publishers run: its life cycle, pacing, lease hand-over, settings refresh and failure
// handling, driven through an injected timer so every wait is observed exactly.
import { HostLoop, realTimer, type CycleVerdict, type HostLoopOptions, type LoopTimer, type ReleasableLease } from '../../src/core/hostLoop';
import { OutboxError } from '../../src/core/errors';
import { RefreshingSettings } from '../../src/core/refreshingSettings';

const waits = { minIntervalInMs: 100, maxIntervalInMs: 400, standbyPollInMs: 250, errorMinWaitInMs: 150 };

/** Time advances only by sleeping; every sleep is recorded and ends on the next turn of the event loop (or on wake). */
function fakeTimer(): LoopTimer & { sleeps: number[]; t: number; holdSleeps: boolean } {
  const timer = {
    t: 0,
    sleeps: [] as number[],
    /** When set, sleeps end only on wake (a long idle wait). */
    holdSleeps: false,
    now: () => timer.t,
    sleep: (ms: number, wake: AbortSignal) =>
      new Promise<void>((resolve) => {
        timer.sleeps.push(ms);
        wake.addEventListener('abort', () => resolve());
        if (!timer.holdSleeps)
          setImmediate(() => {
            timer.t += ms;
            resolve();
          });
      }),
  };
  return timer;
}

function recordingLogger() {
  const errors: string[] = [];
  const warns: string[] = [];
  return { errors, warns, debug: () => undefined, info: () => undefined, warn: (m: string) => void warns.push(m), error: (m: string) => void errors.push(m) };
}

interface Lease extends ReleasableLease {
  released: number;
}

function lease(scope: string, fails = false): Lease {
  const l: Lease = {
    scope,
    released: 0,
    release: async () => {
      l.released++;
      if (fails) throw new Error(`release of ${scope} refused`);
    },
  };
  return l;
}

/** A loop whose cycles return the scripted verdicts (an Error is thrown); after the script it stops itself. */
function scripted(script: Array<CycleVerdict | Error>, extra: Partial<HostLoopOptions<string, CycleVerdict>> = {}) {
  const timer = fakeTimer();
  const logger = recordingLogger();
  const leases = [lease('default')];
  let cycles = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const loop: HostLoop<string, CycleVerdict> = new HostLoop<string, CycleVerdict>({
    name: 'test publisher',
    settings: { get: async () => 'settings' },
    cycle: async () => {
      const step = script[cycles++];
      if (step === undefined) {
        done();
        return 'idle';
      }
      if (step instanceof Error) throw step;
      return step;
    },
    verdict: (v) => v,
    waits,
    leases: () => leases,
    logger,
    timer,
    ...extra,
  });
  return { loop, timer, logger, leases, finished, cycles: () => cycles };
}

describe('HostLoop pacing', () => {
  it('goes again at once while there is more, waits least after work, doubles idle waits up to the longest, and waits longest when disabled', async () => {
    const t = scripted(['worked', 'idle', 'idle', 'idle', 'idle', 'more', 'more', 'worked', 'idle', 'disabled', 'idle']);
    await t.loop.start();
    await t.finished;
    await t.loop.stop();
    // worked 100; idle 200, 400, 400 (capped), 400; more, more: no wait; worked 100; idle 200; disabled 400; idle 400 (doubles from 200)
    expect(t.timer.sleeps.slice(0, 10)).toEqual([100, 200, 400, 400, 400, 100, 200, 400, 400]);
  });

  it('a standby polls for the lease at the standby interval, and work after regaining the lease is paced from the shortest wait again', async () => {
    const t = scripted(['idle', 'idle', 'standby', 'standby', 'worked', 'idle']);
    await t.loop.start();
    await t.finished;
    await t.loop.stop();
    expect(t.timer.sleeps.slice(0, 6)).toEqual([200, 400, 250, 250, 100, 200]);
  });

  it('a failing cycle is logged and backed off (doubling, at least the error wait, at most the longest) and never ends the loop', async () => {
    const t = scripted([new Error('Dataverse 503'), new Error('Dataverse 503'), new Error('socket hang up'), 'worked', 'idle']);
    await t.loop.start();
    await t.finished;
    await t.loop.stop();
    expect(t.timer.sleeps.slice(0, 5)).toEqual([200, 400, 400, 100, 200]);
    expect(t.logger.errors).toEqual(['test publisher cycle failed', 'test publisher cycle failed', 'test publisher cycle failed']);
    const named = scripted([new Error('ColumnSecurity')], { cycleFailedMessage: 'publish cycle failed' });
    await named.loop.start();
    await named.finished;
    await named.loop.stop();
    expect(named.logger.errors).toEqual(['publish cycle failed']);
    expect(t.cycles()).toBeGreaterThanOrEqual(6);
  });

  it('no wait is longer than the gap that keeps a held lease renewed (a short lease must not lapse while idle)', async () => {
    const t = scripted(['worked', 'idle', 'idle', 'idle', 'disabled', new Error('boom'), new Error('boom'), 'standby'], { waits: { ...waits, leaseRenewalGapInMs: 300 } });
    await t.loop.start();
    await t.finished;
    await t.loop.stop();
    expect(t.timer.sleeps.slice(0, 8)).toEqual([100, 200, 300, 300, 300, 300, 300, 250]);
  });

  it('a wait ends when the cycle says work comes due (a scheduled row): never later, and at once when it is already due', async () => {
    const dueIn: (number | undefined)[] = [150, 1000, -50, undefined];
    const t: ReturnType<typeof scripted> = scripted(['idle', 'idle', 'idle', 'idle'], {
      wakeAt: () => {
        const d = dueIn.shift();
        return d === undefined ? undefined : new Date(t.timer.t + d);
      },
    });
    await t.loop.start();
    await t.finished;
    await t.loop.stop();
    // idle 200 cut to 150; idle 400 (due later); due already: no wait; idle 400.
    expect(t.timer.sleeps.slice(0, 3)).toEqual([150, 400, 400]);
  });

  it('wake() cuts an idle wait short', async () => {
    const t = scripted(['idle', 'idle', 'idle']);
    t.timer.holdSleeps = true;
    await t.loop.start();
    await new Promise((r) => setImmediate(r));
    expect(t.cycles()).toBe(1);
    t.loop.wake();
    await new Promise((r) => setImmediate(r));
    expect(t.cycles()).toBe(2);
    expect(t.timer.t).toBe(0);
    t.loop.wake();
    await new Promise((r) => setImmediate(r));
    expect(t.cycles()).toBe(3);
    await t.loop.stop();
  });

  it('the real timer sleeps for the time asked, and a wake ends the sleep early', async () => {
    const started = Date.now();
    await realTimer.sleep(30, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const wake = new AbortController();
    const begin = Date.now();
    const long = realTimer.sleep(10_000, wake.signal);
    wake.abort();
    await long;
    expect(Date.now() - begin).toBeLessThan(1000);
  });
});

describe('HostLoop settings', () => {
  it('start throws the first settings error and runs nothing; later failed refreshes keep the last good settings; changes reach the next cycle', async () => {
    const timer = fakeTimer();
    const logger = recordingLogger();
    const reads: Array<string | Error> = [new OutboxError('InvalidSettings', 'obx_BatchSize must be a whole number'), 'v1', new Error('Dataverse 503'), 'v2'];
    let read = 0;
    const settings = new RefreshingSettings<string>({
      read: async () => {
        const r = reads[Math.min(read++, reads.length - 1)]!;
        if (r instanceof Error) throw r;
        return r;
      },
      refreshIntervalInMs: 250,
      logger,
      what: 'settings',
      now: () => timer.t,
    });
    const seen: string[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const loop = new HostLoop<string, CycleVerdict>({
      name: 'test publisher',
      settings,
      cycle: async (s) => {
        seen.push(s);
        if (seen.length === 8) done();
        return 'worked';
      },
      verdict: (v) => v,
      waits,
      leases: () => [],
      logger,
      timer,
    });
    await expect(loop.start()).rejects.toMatchObject({ code: 'InvalidSettings' });
    expect(loop.isRunning).toBe(false);
    expect(seen).toEqual([]);

    expect(await loop.start()).toBe('v1');
    await finished;
    await loop.stop();
    // Cycles every 100 ms, settings re-read every 250 ms: v1 until the failed refresh (kept), then v2.
    expect(seen.slice(0, 8)).toEqual(['v1', 'v1', 'v1', 'v1', 'v1', 'v1', 'v2', 'v2']);
    expect(logger.errors).toEqual(['settings refresh failed; keeping the last good settings']);
  });
});

describe('HostLoop life cycle', () => {
  it('start twice runs one loop; stop lets the cycle in hand finish, then runs onStop, then releases every lease (a refused release is logged)', async () => {
    const timer = fakeTimer();
    const logger = recordingLogger();
    const order: string[] = [];
    const leases = [lease('a', true), lease('b')];
    let release!: () => void;
    let cycles = 0;
    let inCycle!: () => void;
    const entered = new Promise<void>((r) => (inCycle = r));
    const loop = new HostLoop<string, CycleVerdict>({
      name: 'test publisher',
      settings: { get: async () => 's' },
      cycle: async () => {
        cycles++;
        inCycle();
        await new Promise<void>((r) => (release = r));
        order.push('cycle finished');
        return 'idle';
      },
      verdict: (v) => v,
      waits,
      leases: () => leases,
      logger,
      timer,
      onStart: () => order.push('onStart'),
      onStop: async () => void order.push('onStop'),
    });
    await loop.start();
    await loop.start();
    await entered;
    expect(order).toEqual(['onStart']);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    expect(leases.map((l) => l.released)).toEqual([0, 0]);
    release();
    await stopping;
    expect(order).toEqual(['onStart', 'cycle finished', 'onStop']);
    expect(cycles).toBe(1);
    expect(leases.map((l) => l.released)).toEqual([1, 1]);
    expect(logger.warns).toEqual(['could not release the lease; it expires on its own']);
    expect(loop.isRunning).toBe(false);
  });

  it('close stops, runs onClose once, and afterwards start and runFor throw PublisherClosed', async () => {
    let closes = 0;
    const t = scripted([], { onClose: async () => void closes++ });
    await t.loop.start();
    await t.finished;
    await t.loop.close();
    await t.loop.close();
    expect(closes).toBe(1);
    expect(t.leases[0]!.released).toBe(1);
    expect(t.loop.isClosed).toBe(true);
    await expect(t.loop.start()).rejects.toMatchObject({ code: 'PublisherClosed' });
    await expect(t.loop.runFor(1000)).rejects.toMatchObject({ code: 'PublisherClosed' });
  });

  it('a stopped loop can be started again', async () => {
    const t = scripted(['idle']);
    await t.loop.start();
    await t.finished;
    await t.loop.stop();
    const before = t.cycles();
    await t.loop.start();
    await new Promise((r) => setImmediate(r));
    expect(t.cycles()).toBeGreaterThan(before);
    await t.loop.stop();
  });
});

describe('HostLoop.runFor (a Functions timer budget)', () => {
  it('without untilDeadline drains while there is more and returns at the first cycle without more', async () => {
    const t = scripted(['more', 'more', 'worked', 'worked']);
    const seen: CycleVerdict[] = [];
    await t.loop.runFor(10_000, {}, (v) => seen.push(v));
    expect(seen).toEqual(['more', 'more', 'worked']);
    expect(t.timer.sleeps).toEqual([]);
  });

  it('with untilDeadline polls with the loop waits until the budget is spent, and returns at once when disabled', async () => {
    const t = scripted(['worked', 'idle', 'standby', 'idle', 'idle', 'idle', 'idle', 'idle']);
    await t.loop.runFor(1000, { untilDeadline: true });
    // 100 + 200 + 250 + 400 = 950 ms; the next wait (400) would pass the deadline.
    expect(t.timer.sleeps).toEqual([100, 200, 250, 400]);
    const d = scripted(['worked', 'disabled', 'worked']);
    await d.loop.runFor(1000, { untilDeadline: true });
    expect(d.cycles()).toBe(2);
  });

  it('a cycle error ends the run and reaches the caller', async () => {
    const t = scripted(['worked', new Error('boom')]);
    await expect(t.loop.runFor(1000, { untilDeadline: true })).rejects.toThrow('boom');
  });
});
