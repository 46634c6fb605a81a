// The TLS listener's certificate: given, or self-signed at start for 127.0.0.1 and localhost (the same shape as the
// Dataverse emulator's HTTPS mode), so a client can trust exactly this certificate (Python: `connection_verify`).
import { generate } from 'selfsigned';

export interface TlsCertificate {
  /** PEM certificate chain. */
  cert: string;
  /** PEM private key. */
  key: string;
}

export async function selfSignedCertificate(): Promise<TlsCertificate> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 365 * 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}
