import { DataverseError } from '../../src';

/** The DataverseError a call fails with; anything else (or success) fails the test. */
export async function failureOf(p: Promise<unknown>): Promise<DataverseError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DataverseError) return e;
    throw e;
  }
  throw new Error('expected a DataverseError');
}
