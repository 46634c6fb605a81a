// A bulk write in which some rows failed on their own: the store still wrote the others and says which did what, so a
// caller that takes items one by one (acks, dead letters) can settle each alone instead of failing the whole batch.

export interface RowUpdateFailure {
  id: string;
  /** True when resending can never help (400/413/422 for that row); false for anything that may pass (401/403/429/5xx...). */
  permanent: boolean;
  message: string;
  retryAfterInMs?: number;
}

export class RowUpdatesFailedError extends Error {
  override readonly name = 'RowUpdatesFailedError';
  readonly code = 'RowUpdatesFailed';

  constructor(
    /** Rows written. */
    readonly written: readonly string[],
    /** Rows that changed meanwhile (412/404), untouched. */
    readonly conflicts: readonly string[],
    readonly failures: readonly RowUpdateFailure[],
  ) {
    super(`${failures.length} of ${written.length + conflicts.length + failures.length} row update(s) failed; first: ${failures[0]?.message ?? 'unknown'}`);
  }
}

export function isRowUpdatesFailedError(e: unknown): e is RowUpdatesFailedError {
  return e instanceof RowUpdatesFailedError;
}
