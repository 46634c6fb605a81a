// Public barrel of the one Dataverse Web API client. Browser-safe: fetch, Headers, URL, AbortSignal and Web Crypto only.
export * from './client';
export * from './batch';
export * from './errors';
export * from './url';
