// A host as a process: SIGTERM/SIGINT close it (finish the batch in hand, release the lease) and exit, 0 when the close
// went well; start() either fails the process or, with `retryStartEveryInMs`, is tried again until it succeeds (Dataverse
// may be down or throttled while an instance starts). Shared by the worker, the change-tracking worker and the chaos
// run's wrappers.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describeError } from './core/errors';
import { redactSecrets } from './core/redact';
import type { Logger } from './core/ports';

export interface HostProcessOptions {
  logger: Logger;
  /** Try start() again after this long when it fails; without it, a failed start ends the process with exit code 1. */
  retryStartEveryInMs?: number;
  /** Says why start() failed before it is tried again. Default: an error log line. */
  reportStartFailure?: (error: unknown, retryInMs: number) => void;
}

export async function runHostProcess(host: { publisher: { start(): Promise<void> }; close(): Promise<void> }, options: HostProcessOptions): Promise<void> {
  const { logger } = options;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping: finishing the batch in hand', { signal });
    host.close().then(
      () => {
        logger.info('stopped', { signal });
        process.exit(0);
      },
      (e: unknown) => {
        logger.error('error while closing', { error: redactSecrets(describeError(e)) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  for (;;) {
    try {
      await host.publisher.start();
      return;
    } catch (e) {
      if (stopping) return;
      if (options.retryStartEveryInMs === undefined) throw e;
      if (options.reportStartFailure) options.reportStartFailure(e, options.retryStartEveryInMs);
      else logger.error('could not start; retrying', { error: redactSecrets(describeError(e)), retryInMs: options.retryStartEveryInMs });
      await new Promise((r) => setTimeout(r, options.retryStartEveryInMs));
    }
  }
}

/** An owner name unique to this process (a replacement instance must not pass for its predecessor). */
export function processOwnerName(instance: string): string {
  return `${hostname()}:${instance}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
