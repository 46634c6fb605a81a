// The one rule for a Dataverse base URL, shared by the client and every host's settings check.

/**
 * Why a setting that must be an http(s) base URL is not one, without repeating the value (it may hold a password);
 * undefined when it is fine. A user name, password, query string or fragment is refused: credentials belong in their
 * own settings, and a Web API base URL has no use for the others.
 */
export function httpUrlProblem(value: string): string | undefined {
  if (/[\s\p{Cc}]/u.test(value)) return 'it contains white space or control characters';
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'it does not start with https:// (or http:// for an emulator)';
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'it cannot be parsed as a URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return `its scheme is ${u.protocol.replace(/:$/, '')}, not https (or http for an emulator)`;
  if (!u.hostname) return 'it has no host name';
  if (u.username || u.password) return 'it contains a user name or password (use a token or a managed identity instead; the value is not shown)';
  if (u.search) return 'it has a query string (the value is not shown)';
  if (u.hash) return 'it has a fragment (#...)';
  return undefined;
}
