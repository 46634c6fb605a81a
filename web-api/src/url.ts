// The one rule for a Dataverse base URL, shared by the client and every host's settings check.
import { hasControlCharacter } from './controlCharacters';

/**
 * Why a setting that must be an http(s) base URL is not one, without repeating the value (it may hold a password);
 * undefined when it is fine. A user name, password, query string or fragment is refused: credentials belong in their
 * own settings, and a Web API base URL has no use for the others.
 */
export function httpUrlProblem(value: string): string | undefined {
  if (/\s/.test(value) || hasControlCharacter(value)) return 'it contains white space or control characters';
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

/**
 * The organisation URL and Web API version of a Web API root such as `https://contoso.crm.dynamics.com/api/data/v9.2/`,
 * or a same-origin `/api/data/v9.2/` resolved against the page's URL (a control or web resource inside the app): what
 * a DataverseClient takes. Throws a TypeError (without the value) when it is not such a root.
 */
export function webApiRootParts(apiBase: string, pageUrl?: string): { url: string; apiVersion: string } {
  let absolute = apiBase;
  if (/^\/(?!\/)/.test(apiBase)) {
    if (!pageUrl) throw new TypeError('A same-origin Web API root needs the page URL to resolve against.');
    absolute = new URL(apiBase, pageUrl).href;
  }
  const m = /^(.*?)\/api\/data\/v(\d+\.\d+)\/?$/.exec(absolute);
  const problem = m ? httpUrlProblem(m[1]!) : 'it does not end in /api/data/v<version>/';
  if (problem || !m) throw new TypeError(`Web API root is not valid: ${problem}`);
  return { url: m[1]!, apiVersion: m[2]! };
}
