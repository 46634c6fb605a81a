// The header that carries the monitor host's per-page token (shared by the server's guard and the page's fetch; kept
// outside browser/ so the Node build never emits a browser/ folder, which server.ts takes for the source layout).
export const PAGE_TOKEN_HEADER = 'x-outbox-monitor-token';
