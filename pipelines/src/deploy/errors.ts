// One error type for the deployment tool, with a closed set of codes so callers (and tests) can branch on them.

export type DeployErrorCode =
  | 'ToolMissing' // pac or az is not on PATH
  | 'InvalidOption' // a command-line option is missing or malformed
  | 'SettingsFileMissing' // the deployment settings file for the environment does not exist
  | 'InvalidSettingsFile' // it exists but is not a pac deployment settings file
  | 'CommandFailed' // an external command (npm, pac, az) exited non-zero
  | 'WebApiFailed' // a Dataverse Web API call failed
  | 'CaptureMissing'; // a value a later step needs was not in a response

export class DeployError extends Error {
  override readonly name = 'DeployError';
  constructor(
    readonly code: DeployErrorCode,
    message: string,
    readonly details?: { status?: number; stepId?: string; hint?: string },
  ) {
    super(message);
  }
}

export function isDeployError(error: unknown): error is DeployError {
  return error instanceof DeployError;
}
