// A shared/exclusive lock, first come first served: tasks taken `shared` run together, an `exclusive` task runs alone.
// Settlements use it: completes may be written together, any other disposition alone (see consumer.ts).
type Mode = 'shared' | 'exclusive';

export class SharedExclusiveLock {
  private mode: Mode | undefined;
  private active = 0;
  private readonly waiting: { mode: Mode; start: () => void }[] = [];

  async run<T>(mode: Mode, task: () => Promise<T>): Promise<T> {
    await this.acquire(mode);
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private canStart(mode: Mode): boolean {
    return this.active === 0 || (mode === 'shared' && this.mode === 'shared');
  }

  private acquire(mode: Mode): Promise<void> {
    // Nobody overtakes a waiting task (an exclusive one would otherwise wait for ever behind a stream of shared ones).
    if (this.waiting.length === 0 && this.canStart(mode)) {
      this.mode = mode;
      this.active++;
      return Promise.resolve();
    }
    return new Promise((start) => this.waiting.push({ mode, start }));
  }

  private release(): void {
    this.active--;
    if (this.active === 0) this.mode = undefined;
    while (this.waiting.length > 0 && this.canStart(this.waiting[0]!.mode)) {
      const next = this.waiting.shift()!;
      this.mode = next.mode;
      this.active++;
      next.start();
    }
  }
}
