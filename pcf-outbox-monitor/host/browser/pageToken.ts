// The monitor host's per-page token: the host writes it into the page (which a cross-origin page cannot read) and its
// proxy refuses Web API calls without it. Every fetch the page makes to the proxy carries it.
import { PAGE_TOKEN_HEADER } from '../pageTokenHeader';

export function withPageToken(token: string, fetchImpl: typeof fetch = fetch.bind(globalThis)): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    headers.set(PAGE_TOKEN_HEADER, token);
    return fetchImpl(input, { ...init, headers });
  };
}
