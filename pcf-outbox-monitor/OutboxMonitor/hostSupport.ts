// What the host around the control can do, read once in init without calling anything that could fail loudly.
// Microsoft's PCF test harness (pcf-start) gives a context.webAPI whose every call shows a blocking "not yet supported"
// alert, so the Web API must be judged unusable from the context itself, never by trying it.
import { normaliseGuid } from '@dataverse-outbox/contract';
import type { WebApiPort } from './core/services';

export type WebApiSupport = { webApi: WebApiPort; missing?: undefined } | { webApi?: undefined; missing: string };

const emptyGuid = '00000000-0000-0000-0000-000000000000';

function hasFunctions(value: unknown, names: readonly string[]): boolean {
  return !!value && typeof value === 'object' && names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/**
 * The Dataverse URL the host reports: a string from `context.page.getClientUrl()`; null when the host has a `page` whose
 * getClientUrl fails or gives no http(s) URL (no Dataverse behind it); undefined when the host has no `page` at all.
 */
export function clientUrlOf(context: unknown): string | null | undefined {
  const page = (context as { page?: unknown } | undefined)?.page;
  if (!page || typeof page !== 'object') return undefined;
  const getClientUrl = (page as { getClientUrl?: unknown }).getClientUrl;
  if (typeof getClientUrl !== 'function') return null;
  try {
    const url: unknown = getClientUrl.call(page);
    return typeof url === 'string' && /^https?:\/\//i.test(url) ? url : null;
  } catch {
    return null;
  }
}

/**
 * The Web API when the host has one. A model-driven app always knows its environment URL and a signed-in user; a host
 * whose page has no environment URL, or whose user is the empty GUID (the pcf-start harness has both), has no Dataverse.
 */
export function webApiSupportOf(context: ComponentFramework.Context<unknown>): WebApiSupport {
  const webApi: unknown = (context as { webAPI?: unknown }).webAPI;
  if (!hasFunctions(webApi, ['retrieveMultipleRecords', 'retrieveRecord'])) return { missing: 'the host gives the control no Web API' };
  if (clientUrlOf(context) === null) return { missing: 'the host has no Dataverse environment (its page gives no environment URL)' };
  const userId: unknown = (context as { userSettings?: { userId?: unknown } }).userSettings?.userId;
  if (normaliseGuid(userId) === emptyGuid) return { missing: 'nobody is signed in to Dataverse (the user id is the empty GUID)' };
  return { webApi: webApi as WebApiPort };
}
