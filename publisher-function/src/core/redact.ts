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

// The URL rule belongs to the Web API client (it refuses such a URL itself); the settings and the CLI check with it.
export { httpUrlProblem } from '@dataverse-outbox/web-api';
