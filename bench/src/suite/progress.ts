// Progress display: cli-progress bars (suite + current phase) on a terminal; plain, throttled lines otherwise (CI logs,
// the Jest test), so a long run always shows where it is.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { BenchProgress } from './types';

export interface SuiteProgress extends BenchProgress {
  suite(done: number, label: string): void;
  endPhase(): void;
  stop(): void;
}

export function createSuiteProgress(total: number, stream: NodeJS.WriteStream = process.stderr): SuiteProgress {
  return stream.isTTY ? barProgress(total, stream) : lineProgress(total, stream);
}

function barProgress(total: number, stream: NodeJS.WriteStream): SuiteProgress {
  const multi = new MultiBar(
    { format: ' {bar} {percentage}% | {label}', hideCursor: true, clearOnComplete: false, stopOnComplete: false, stream, etaBuffer: 20 },
    Presets.shades_classic,
  );
  const overall = multi.create(Math.max(1, total), 0, { label: 'suite' });
  let bar: SingleBar | undefined;
  const endPhase = (): void => {
    if (bar) multi.remove(bar);
    bar = undefined;
  };
  return {
    suite: (done, label) => overall.update(done, { label }),
    phase(label, steps) {
      endPhase();
      bar = multi.create(Math.max(1, steps), 0, { label: label.slice(0, 90) });
    },
    update: (value) => bar?.update(value),
    log: (line) => multi.log(`${line}\n`),
    endPhase,
    stop: () => multi.stop(),
  };
}

function lineProgress(total: number, stream: NodeJS.WriteStream, everyMs = 10_000): SuiteProgress {
  let label = '';
  let steps = 1;
  let lastPrint = 0;
  const write = (line: string): void => {
    stream.write(`${line}\n`);
  };
  return {
    suite: (done, l) => write(`[suite ${done}/${total}] ${l}`),
    phase(l, s) {
      label = l;
      steps = Math.max(1, s);
      lastPrint = Date.now();
      write(`  - ${l}`);
    },
    update(value) {
      if (Date.now() - lastPrint < everyMs) return;
      lastPrint = Date.now();
      write(`    ${label}: ${Math.round((100 * value) / steps)}%`);
    },
    log: write,
    endPhase: () => undefined,
    stop: () => undefined,
  };
}
