// Minimal Dataverse Web API client for the cleanup scheduler: base URL + bearer token, JSON in and out, and
// Dataverse's error body turned into a typed error. The token is never logged or put in an error message.
export type DataverseErrorCode = 'HttpError' | 'NetworkError' | 'InvalidResponse';

export class DataverseRequestError extends Error {
  override readonly name = 'DataverseRequestError';
  constructor(
    readonly code: DataverseErrorCode,
    message: string,
    readonly status?: number,
    readonly dataverseCode?: string,
  ) {
    super(message);
  }
}

export function isDataverseRequestError(value: unknown): value is DataverseRequestError {
  return value instanceof DataverseRequestError;
}

export interface DataverseResponse {
  status: number;
  body: unknown;
}

export interface DataverseHttp {
  request(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, options?: { abortSignal?: AbortSignal }): Promise<DataverseResponse>;
}

export interface WebApiClientOptions {
  /** Environment URL, e.g. https://contoso.crm.dynamics.com (the API path is added). */
  url: string;
  token: string;
  apiPath?: string;
}

export function createWebApiClient(options: WebApiClientOptions): DataverseHttp {
  const base = new URL(options.apiPath ?? '/api/data/v9.2/', options.url.endsWith('/') ? options.url : `${options.url}/`);
  return {
    async request(method, path, body, requestOptions) {
      const url = new URL(path, base);
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers: {
            Authorization: `Bearer ${options.token}`,
            Accept: 'application/json',
            'OData-MaxVersion': '4.0',
            'OData-Version': '4.0',
            ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
          },
          body: body === undefined ? null : JSON.stringify(body),
          signal: requestOptions?.abortSignal ?? null,
        });
      } catch (error) {
        throw new DataverseRequestError('NetworkError', `${method} ${url.pathname}: ${(error as Error).message}`);
      }
      const text = await response.text();
      let parsed: unknown = undefined;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          throw new DataverseRequestError('InvalidResponse', `${method} ${url.pathname}: HTTP ${response.status} with a body that is not JSON`, response.status);
        }
      }
      if (!response.ok) {
        const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
        throw new DataverseRequestError('HttpError', `${method} ${url.pathname}: HTTP ${response.status}${error?.message ? `: ${error.message}` : ''}`, response.status, error?.code);
      }
      return { status: response.status, body: parsed };
    },
  };
}
