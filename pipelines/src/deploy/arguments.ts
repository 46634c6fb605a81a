// Validation of every value the deploy tool passes on (to pac, az, npm, file paths and Web API URLs): each is checked
// once, here, with an error that names the option and says what is allowed. Values are shown with describeValue
// (bounded, quoted), never raw; a URL with credentials is never shown at all.
import { describeValue, normaliseGuid } from '@dataverse-outbox/contract';

import { DeployError } from './errors';

/** C0 control characters and DEL (line breaks, tabs, NUL...). */
export function hasControlCharacter(value: string, allowLineWhitespace = false): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (allowLineWhitespace && (code === 9 || code === 10 || code === 13)) continue;
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function invalid(message: string, hint?: string): DeployError {
  return new DeployError('InvalidOption', message, hint ? { hint } : undefined);
}

/** Environment name: picks `solution/deployment-settings/<name>.json` and names the Azure deployment, so no path parts. */
export function requireEnvironmentName(value: string): string {
  if (!/^[a-z][a-z0-9-]{0,31}$/.test(value)) {
    throw invalid(`--environment must be 1-32 lower-case letters, digits or hyphens starting with a letter (e.g. dev, test, prod), got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Normalised environment URL (`https://org.crm.dynamics.com`). https only, except http to a loopback host (the
 * emulator); no user name or password, query or fragment (they would travel into every command line and log).
 */
export function normaliseEnvironmentUrl(value: string): string {
  const example = 'e.g. https://contoso.crm.dynamics.com';
  if (hasControlCharacter(value) || /\s/.test(value)) throw invalid(`--url must be an absolute URL without spaces or control characters (${example})`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: an unparsable URL may still carry a password.
    throw invalid(`--url must be an absolute URL (${example}); the value given is not one (not shown, it may hold a credential)`);
  }
  if (url.username || url.password) throw invalid('--url must not contain a user name or password (not shown); sign in with pac auth / az login instead');
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw invalid(`--url must use https (http only for a local emulator on localhost), got ${describeValue(url.protocol)}`);
  }
  if (url.search || url.hash) throw invalid(`--url must be the environment's address only, without ?query or #fragment (${example})`);
  if (url.pathname !== '/' && url.pathname !== '') {
    // The Web API path is added by the tool; any other path is a mistake, and `..` could point elsewhere.
    if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(url.pathname) || /(^|\/)\.\.?(\/|$)/.test(url.pathname)) {
      throw invalid(`--url path may only hold plain segments, got ${describeValue(url.pathname)}`);
    }
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** A GUID option (`--app-id`, `--business-unit`), lower case without braces. */
export function requireGuidOption(option: string, value: string): string {
  const guid = normaliseGuid(value);
  if (guid === undefined) throw invalid(`${option} must be a GUID such as 00000000-0000-0000-0000-000000000000, got ${describeValue(value)}`);
  return guid;
}

/** Azure resource group name: 1-90 letters, digits, underscores, hyphens, periods, parentheses; not ending in a period. */
export function requireResourceGroupName(value: string): string {
  if (!/^[\p{L}\p{N}_().-]{1,90}$/u.test(value) || value.endsWith('.')) {
    throw invalid(`--resource-group must be 1-90 letters, digits, _ - . ( ) and not end with a period, got ${describeValue(value)}`);
  }
  return value;
}

/** Azure Functions app name: 2-60 letters, digits and hyphens, starting and ending with a letter or digit. */
export function requireFunctionAppName(value: string, source = '--function-app'): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?$/.test(value)) {
    throw invalid(`${source} must be 2-60 letters, digits and hyphens, starting and ending with a letter or digit, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * A file path handed to a child process. Spaces, quotes, `&`, `|` and `%` are fine (arguments are never pasted into a
 * shell); control characters are not: a line break cannot cross cmd.exe and no real file needs one.
 */
export function requirePathOption(option: string, value: string, extension?: string): string {
  if (value.trim() === '') throw invalid(`${option} must not be empty`);
  if (hasControlCharacter(value)) throw invalid(`${option} must not contain control characters (line breaks, tabs, NUL), got ${describeValue(value)}`);
  if (extension && !value.toLowerCase().endsWith(extension)) throw invalid(`${option} must be a ${extension} file, got ${describeValue(value)}`);
  return value;
}

/** The format a value captured from a command's output must have before later steps use it. */
export type CapturedFormat = 'guid' | 'functionAppName';

export function checkCaptured(format: CapturedFormat, name: string, value: string, stepId: string): string {
  try {
    return format === 'guid' ? requireGuidOption(name, value) : requireFunctionAppName(value, name);
  } catch (error) {
    throw new DeployError('CaptureMissing', `${stepId}: the command printed an invalid ${name}: ${(error as Error).message}`, { stepId });
  }
}
