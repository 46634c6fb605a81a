// SASL as Service Bus offers it: MSSBCBS, PLAIN, ANONYMOUS and EXTERNAL, in that order. MSSBCBS and ANONYMOUS admit
// the connection and leave authorisation to the CBS put-token that follows (what the .NET, Python and JS SDKs do);
// PLAIN is SAS by key name and key (what AMQP clients without CBS, JMS among them, use) and is checked against the
// emulator's own key; EXTERNAL is offered as Service Bus does and, as there, still needs CBS to use any entity.
import { createHash, timingSafeEqual } from 'node:crypto';

/** The SAS rule a PLAIN client must name: `username` is the key name, `password` the key. */
export interface SharedAccessKey {
  keyName: string;
  key: string;
}

/** rhea's server-side mechanism contract: `start` decides (or challenges); `outcome` true admits the connection. */
interface ServerMechanism {
  outcome?: boolean;
  username?: string;
  start(response: Buffer | undefined, hostname?: string): void;
}

type MechanismFactories = Record<string, () => ServerMechanism>;

/** The same answer for every value of equal content, in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** authzid NUL authcid NUL passwd (RFC 4616). */
function plainFields(response: Buffer | undefined): [string, string, string] | undefined {
  if (!response) return undefined;
  const parts = response.toString('utf8').split('\u0000');
  return parts.length === 3 ? (parts as [string, string, string]) : undefined;
}

function admitting(username: string): () => ServerMechanism {
  return () => ({
    start(this: ServerMechanism) {
      this.outcome = true;
      this.username = username;
    },
  });
}

/** The mechanisms, in the order Service Bus lists them in its sasl-mechanisms frame. */
export function serviceBusSaslMechanisms(sas: SharedAccessKey): MechanismFactories {
  return {
    MSSBCBS: admitting('$cbs'),
    PLAIN: () => ({
      start(this: ServerMechanism, response: Buffer | undefined) {
        const fields = plainFields(response);
        // A wrong key name or key ends the handshake with sasl-outcome code 1 (auth): the client reports an
        // authentication failure instead of failing later on its first link.
        this.outcome = fields !== undefined && (fields[0] === '' || fields[0] === sas.keyName) && fields[1] === sas.keyName && sameSecret(fields[2], sas.key);
        this.username = fields?.[1];
      },
    }),
    ANONYMOUS: admitting('anonymous'),
    EXTERNAL: admitting('external'),
  };
}
