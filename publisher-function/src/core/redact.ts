// Keeps secrets out of anything a person or a log may read: URLs with a user name or password, query strings (SAS
// signatures, codes), connection-string keys and bearer tokens. Settings errors describe a bad URL without echoing it;
// redactSecrets is the last line of defence on every surface that prints an error (stderr, invocation log, health body).

const MASK = '***';

/**
 * The text with secrets replaced by ***: `scheme://user:password@` (up to the last @ of the token, since a password may
 * itself hold "/" or "@"), `?query` of any URL, `SharedAccessKey=...`-style values and `Bearer <token>`.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>]*@/gi, `$1${MASK}@`)
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s"'<>?#]*)\?[^\s"'<>#]*/gi, `$1?${MASK}`)
    .replace(/\b(SharedAccessKey|SharedAccessSignature|AccountKey|Password|Pwd|client_secret|access_token|sig)=[^;&\s"']*/gi, `$1=${MASK}`)
    .replace(/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, `Bearer ${MASK}`);
}

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
