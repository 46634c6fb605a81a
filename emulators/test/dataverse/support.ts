// Test helpers: a started emulator and a thin fetch client for its Web API (real HTTP, no mocks).
import { startDataverseEmulator, type DataverseEmulator, type DataverseEmulatorOptions } from '@dataverse-outbox/emulators/dataverse';

export interface WebApiResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  token?: string | null;
}

export class WebApi {
  constructor(
    readonly emulator: DataverseEmulator,
    readonly token = 'test-user',
  ) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<WebApiResponse> {
    const headers: Record<string, string> = { Accept: 'application/json', 'OData-Version': '4.0', 'OData-MaxVersion': '4.0', ...options.headers };
    const token = options.token === undefined ? this.token : options.token;
    if (token !== null) headers['Authorization'] = `Bearer ${token}`;
    let body: string | Buffer | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(path.startsWith('http') ? path : `${this.emulator.apiUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    if ((res.headers.get('content-type') ?? '').includes('application/json') && text.length > 0) json = JSON.parse(text) as Record<string, unknown>;
    return { status: res.status, headers: res.headers, text, json };
  }

  get(path: string, options?: RequestOptions): Promise<WebApiResponse> {
    return this.request('GET', path, options);
  }
  post(path: string, body: unknown, options: RequestOptions = {}): Promise<WebApiResponse> {
    return this.request('POST', path, { ...options, body });
  }
  patch(path: string, body: unknown, options: RequestOptions = {}): Promise<WebApiResponse> {
    return this.request('PATCH', path, { ...options, body });
  }
  delete(path: string, options?: RequestOptions): Promise<WebApiResponse> {
    return this.request('DELETE', path, options);
  }

  /** Creates a row and returns its id (from OData-EntityId). */
  async create(set: string, body: unknown): Promise<string> {
    const res = await this.post(set, body);
    if (res.status !== 204) throw new Error(`create ${set} failed: ${res.status} ${res.text}`);
    const m = /\(([0-9a-f-]{36})\)$/.exec(res.headers.get('odata-entityid') ?? '');
    if (!m) throw new Error('no OData-EntityId');
    return m[1] as string;
  }

  async rows(set: string, query = ''): Promise<Record<string, unknown>[]> {
    const res = await this.get(`${set}${query ? `?${query}` : ''}`);
    if (res.status !== 200) throw new Error(`query ${set} failed: ${res.status} ${res.text}`);
    return res.json['value'] as Record<string, unknown>[];
  }
}

export async function startEmulator(options: DataverseEmulatorOptions = {}): Promise<{ emulator: DataverseEmulator; api: WebApi }> {
  const emulator = await startDataverseEmulator({ port: 0, ...options });
  return { emulator, api: new WebApi(emulator) };
}

export function outboxRow(messageId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { obx_name: `test ${messageId}`, obx_messageid: messageId, obx_target: 'orders', obx_payload: '{"n":1}', ...extra };
}
