// Who is calling: any non-empty bearer token is accepted (tokens are an external edge the emulator does not verify);
// an unsigned or signed JWT contributes its oid/appid claims, anything else names the user itself. Each identity gets a
// systemuser row on first use, so WhoAmI, createdby and per-user limits work as in Dataverse. A deploy script can create
// the application user first (POST systemusers with applicationid); a token whose appid matches is then that user.
import { createHash } from 'node:crypto';
import type { Engine } from './engine';
import type { Identity } from './protocol';
import { ROOT_BUSINESS_UNIT_ID } from '../metadata/systemTables';

function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as unknown;
    return payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function identityFromToken(token: string): Identity {
  const claims = decodeJwtPayload(token);
  if (!claims) return { name: token };
  const str = (k: string): string | undefined => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  const applicationId = str('appid') ?? str('azp');
  const objectId = str('oid');
  const name = applicationId ?? objectId ?? str('upn') ?? str('unique_name') ?? str('sub') ?? token;
  return { name, applicationId, objectId };
}

/** Deterministic id per user name, so the same token maps to the same systemuser across restarts. */
function userIdFor(name: string): string {
  const h = createHash('sha1').update(`systemuser:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export class UserDirectory {
  private readonly cache = new Map<string, string>();
  constructor(private readonly engine: Engine) {}

  /** systemuserid for an identity, creating the systemuser when it does not exist yet. */
  resolve(identity: Identity): string {
    const cached = this.cache.get(identity.name);
    if (cached && this.engine.store.get(this.engine.schema.entity('systemuser'), cached)) return cached;
    const id = this.lookupOrCreate(identity);
    this.cache.set(identity.name, id);
    return id;
  }

  private lookupOrCreate(identity: Identity): string {
    const store = this.engine.store;
    const users = this.engine.schema.entity('systemuser');
    const find = (column: string, value: string): string | undefined =>
      (store.all(`SELECT systemuserid FROM systemuser WHERE ${column} = ? LIMIT 1`, [value])[0]?.['systemuserid'] as string | undefined) ?? undefined;
    const byApp = identity.applicationId && GUID.test(identity.applicationId) ? find('applicationid', identity.applicationId.toLowerCase()) : undefined;
    if (byApp) return byApp;
    const byOid = identity.objectId && GUID.test(identity.objectId) ? find('azureactivedirectoryobjectid', identity.objectId.toLowerCase()) : undefined;
    if (byOid) return byOid;
    const id = userIdFor(identity.name);
    if (store.get(users, id)) return id;
    store.transaction(() =>
      store.insert(
        users,
        {
          systemuserid: id,
          fullname: identity.applicationId ? `# ${identity.name}` : identity.name,
          domainname: identity.applicationId ? null : identity.name,
          applicationid: identity.applicationId && GUID.test(identity.applicationId) ? identity.applicationId.toLowerCase() : null,
          azureactivedirectoryobjectid: identity.objectId && GUID.test(identity.objectId) ? identity.objectId.toLowerCase() : null,
          accessmode: identity.applicationId ? 4 : 0,
          businessunitid: ROOT_BUSINESS_UNIT_ID,
        },
        id,
      ),
    );
    return id;
  }
}
