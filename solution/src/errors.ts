// One error type for everything the solution tooling rejects, so callers (CLI, tests, the emulator) can tell bad
// solution sources apart from bugs. `file` is always the file to fix, relative to the solution source folder when known.

export type SolutionErrorCode =
  | 'MalformedXml' // the file is not well-formed XML
  | 'MissingElement' // a required element or attribute is absent
  | 'InvalidValue' // an element has a value the solution cannot use
  | 'MissingComponent' // a reference points at a component that does not exist
  | 'MissingColumn' // a view or form names a column the table does not have
  | 'DuplicateId' // a GUID or unique name is used twice
  | 'MissingBuiltFile' // a registered web resource or control has not been built
  | 'StaleGeneratedFile'; // generated/names.ts does not match the XML

export interface SolutionProblemInfo {
  code: SolutionErrorCode;
  file: string;
  message: string;
}

export class SolutionError extends Error {
  override readonly name = 'SolutionError';
  readonly code: SolutionErrorCode;
  readonly file: string | undefined;
  /** Every problem found, when several were reported together (the first one gives `code`). */
  readonly problems: readonly SolutionProblemInfo[];

  constructor(code: SolutionErrorCode, message: string, file?: string, problems: readonly SolutionProblemInfo[] = []) {
    super(file ? `${file}: ${message}` : message);
    this.code = code;
    this.file = file;
    this.problems = problems.length > 0 ? problems : [{ code, file: file ?? '', message }];
  }
}

export function isSolutionError(value: unknown): value is SolutionError {
  return value instanceof SolutionError;
}
