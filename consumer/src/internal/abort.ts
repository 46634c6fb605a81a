// Small helpers for AbortSignal-aware waiting.

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const error = new Error('The operation was aborted.');
    error.name = 'AbortError';
    throw error;
  }
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const aborted: unique symbol = Symbol('aborted');

/**
 * Resolves with the promise's value, or with `aborted` as soon as the signal fires (the promise keeps running; use
 * `onLate` to clean up what it produces after all).
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T | typeof aborted> {
  if (signal.aborted) {
    promise.then((value) => onLate?.(value), () => undefined);
    return Promise.resolve(aborted);
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      settled = true;
      resolve(aborted);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) onLate?.(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(error);
      },
    );
  });
}
