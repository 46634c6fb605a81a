// Unit tests of the two hand-written parsers: the strict multipart/mixed batch reader and the $filter parser.
import { boundaryOf, parseBatch, writeBatchResponse, MultipartError } from '../../src/dataverse/batch/multipart';
import { parseFilter } from '../../src/dataverse/query/filterParser';
import { DataverseError } from '../../src/dataverse/core/errors';

describe('multipart batch reader', () => {
  const body = [
    '--batch_1',
    'Content-Type: multipart/mixed; boundary=changeset_1',
    '',
    '--changeset_1',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    'Content-ID: 1',
    '',
    'POST https://org.crm.dynamics.com/api/data/v9.2/accounts HTTP/1.1',
    'Content-Type: application/json',
    '',
    '{"name":"a"}',
    '--changeset_1--',
    '--batch_1',
    'Content-Type: application/http',
    '',
    'GET accounts?$select=name HTTP/1.1',
    'Accept: application/json',
    '',
    '',
    '--batch_1--',
    '',
  ];

  test.each([
    ['CRLF', body.join('\r\n')],
    ['LF', body.join('\n')],
  ])('reads change sets and single requests (%s line ends)', (_name, text) => {
    const parts = parseBatch(text, 'batch_1');
    expect(parts).toHaveLength(2);
    const cs = parts[0];
    expect(cs?.kind).toBe('changeset');
    if (cs?.kind !== 'changeset') return;
    expect(cs.requests[0]).toMatchObject({ method: 'POST', contentId: '1', body: '{"name":"a"}' });
    expect(parts[1]).toMatchObject({ kind: 'request', method: 'GET', url: 'accounts?$select=name', body: '' });
  });

  test('boundaries come from the Content-Type, quoted or not', () => {
    expect(boundaryOf('multipart/mixed; boundary=batch_1')).toBe('batch_1');
    expect(boundaryOf('multipart/mixed;boundary="b 2"')).toBe('b 2');
    expect(boundaryOf('application/json')).toBeUndefined();
  });

  test.each([
    ['no opening delimiter', 'hello\r\n--batch_1--'],
    ['no closing delimiter', '--batch_1\r\nContent-Type: application/http\r\n\r\nGET accounts HTTP/1.1\r\n'],
    ['wrong part type', '--batch_1\r\nContent-Type: text/plain\r\n\r\nGET accounts HTTP/1.1\r\n--batch_1--'],
    ['bad request line', '--batch_1\r\nContent-Type: application/http\r\n\r\nFETCH accounts HTTP/1.1\r\n--batch_1--'],
    ['GET inside a change set', '--batch_1\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n--cs\r\nContent-Type: application/http\r\n\r\nGET accounts HTTP/1.1\r\n--cs--\r\n--batch_1--'],
    ['bad header line', '--batch_1\r\nContent-Type application/http\r\n\r\nGET accounts HTTP/1.1\r\n--batch_1--'],
    ['spaces in the URL without an HTTP version (the last word must be HTTP/1.x)', "--batch_1\r\nContent-Type: application/http\r\n\r\nGET accounts?$filter=name eq 'a b'\r\n--batch_1--"],
  ])('refuses %s', (_name, text) => {
    expect(() => parseBatch(text, 'batch_1')).toThrow(MultipartError);
  });

  test('a request line is split on its first and last space, as OData reads it: spaces in the query stay in the URL', () => {
    const [part] = parseBatch("--batch_1\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/accounts?$select=name&$filter=name eq 'a  b' HTTP/1.1\r\nAccept: application/json\r\n\r\n--batch_1--", 'batch_1');
    expect(part).toMatchObject({ kind: 'request', method: 'GET' });
    const url = new URL((part as { url: string }).url, 'http://x/');
    expect(url.searchParams.get('$filter')).toBe("name eq 'a  b'");
  });

  test('writes responses with nested change set boundaries and Content-IDs', () => {
    const out = writeBatchResponse('batchresponse_x', [
      { kind: 'changeset', boundary: 'changesetresponse_y', parts: [{ status: 204, statusText: 'No Content', headers: { 'OData-Version': '4.0' }, contentId: '1' }] },
      { kind: 'single', part: { status: 200, statusText: 'OK', headers: {}, body: '{}' } },
    ]);
    expect(out).toContain('--batchresponse_x\r\nContent-Type: multipart/mixed; boundary=changesetresponse_y\r\n\r\n--changesetresponse_y\r\n');
    expect(out).toContain('Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n');
    expect(out.endsWith('--batchresponse_x--\r\n')).toBe(true);
  });
});

describe('$filter parser', () => {
  test('precedence: not > and > or, with parentheses', () => {
    const ast = parseFilter("a eq 1 or b eq 'x' and not c");
    expect(ast).toMatchObject({ kind: 'logical', op: 'or', right: { kind: 'logical', op: 'and', right: { kind: 'not' } } });
  });

  test('literals: strings with doubled quotes, GUIDs, dates, numbers, null, booleans', () => {
    expect(parseFilter("name eq 'O''Neil'")).toMatchObject({ right: { value: "O'Neil", edm: 'Edm.String' } });
    expect(parseFilter('id eq 7A4C5A6E-1111-4222-8333-444455556666')).toMatchObject({ right: { edm: 'Edm.Guid', value: '7a4c5a6e-1111-4222-8333-444455556666' } });
    expect(parseFilter('d lt 2024-05-01T10:00:00Z')).toMatchObject({ right: { edm: 'Edm.DateTimeOffset' } });
    expect(parseFilter('d lt 2024-05-01')).toMatchObject({ right: { edm: 'Edm.Date' } });
    expect(parseFilter('n gt -1.5')).toMatchObject({ right: { edm: 'Edm.Decimal', value: -1.5 } });
    expect(parseFilter('n eq null')).toMatchObject({ right: { edm: 'null' } });
    expect(parseFilter('b eq true')).toMatchObject({ right: { edm: 'Edm.Boolean', value: true } });
  });

  test('query functions with named and list parameters', () => {
    expect(parseFilter("Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=['1','2'])")).toMatchObject({ kind: 'crm', name: 'In' });
    expect(parseFilter("contains(name,'a')")).toMatchObject({ kind: 'call', name: 'contains' });
  });

  test.each([
    ['a eq', 4],
    ['a eq 1 and', 10],
    ["a eq 'x", 5],
    ['(a eq 1', 7],
    ['a eq 1 b', 7],
    ['a # 1', 2],
  ])('syntax error in %p at position %p', (text, position) => {
    try {
      parseFilter(text);
      throw new Error('expected a syntax error');
    } catch (e) {
      expect(e).toBeInstanceOf(DataverseError);
      expect((e as DataverseError).message).toBe(`Syntax error at position ${position} in '${text}'.`);
    }
  });
});
