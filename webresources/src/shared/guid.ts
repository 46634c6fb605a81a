// GUID helpers. Dataverse ids come from forms as "{AAAA-...}" and from the Web API as "aaaa-..."; we compare and send
// the bare lower-case form. The check itself is the product's one definition (@dataverse-outbox/solution/identifiers).
export { normaliseGuid } from '@dataverse-outbox/contract';

/** A random (version 4) GUID from the platform's CSPRNG. */
export function newGuid(): string {
  const cryptoApi: Crypto | undefined = typeof crypto !== 'undefined' ? crypto : undefined;
  if (cryptoApi && typeof cryptoApi.randomUUID === 'function') return cryptoApi.randomUUID();
  if (!cryptoApi || typeof cryptoApi.getRandomValues !== 'function') {
    throw new Error('No secure random number generator is available to create a GUID.');
  }
  const bytes = cryptoApi.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex: string[] = [];
  for (let i = 0; i < bytes.length; i++) hex.push((bytes[i] + 0x100).toString(16).slice(1));
  return `${hex.slice(0, 4).join('')}-${hex.slice(4, 6).join('')}-${hex.slice(6, 8).join('')}-${hex.slice(8, 10).join('')}-${hex.slice(10).join('')}`;
}
