import { cloudEventSource, MessageFormat, parseMessageFormats } from '../src';

describe('parseMessageFormats (obx_MessageFormats)', () => {
  const allowed = ['orders', 'invoices', 'audit'];

  it('reads target -> format, normalising the target names as rows\' targets are', () => {
    const { formats, problems } = parseMessageFormats('{" Orders ":"cloudevents-binary","invoices":"cloudevents-structured","audit":"default"}', 'obx_MessageFormats', allowed);
    expect(problems).toEqual([]);
    expect([...formats]).toEqual([
      ['orders', MessageFormat.CloudEventsBinary],
      ['invoices', MessageFormat.CloudEventsStructured],
      ['audit', MessageFormat.Default],
    ]);
  });

  it('blank means the solution default: every target in the default format', () => {
    expect(parseMessageFormats('  ', 'obx_MessageFormats', allowed)).toEqual({ formats: new Map(), problems: [] });
  });

  it('hostile: lists every problem at once, each naming the setting and the entry', () => {
    const { formats, problems } = parseMessageFormats(
      '{"orders":"CloudEvents","payments":"cloudevents-binary","":"default","invoices":3,"ORDERS":"default","audit":"cloudevents-binary","Audit":"default","constructor":"default"}',
      'obx_MessageFormats (dataverse)',
      allowed,
    );
    expect(problems).toEqual([
      'obx_MessageFormats (dataverse) entry "orders": the format must be one of "default", "cloudevents-binary", "cloudevents-structured", got "CloudEvents"',
      'obx_MessageFormats (dataverse) entry "payments": target "payments" is not in the allowed targets ("orders", "invoices", "audit")',
      'obx_MessageFormats (dataverse) entry "": the queue or topic name is empty',
      'obx_MessageFormats (dataverse) entry "invoices": the format must be one of "default", "cloudevents-binary", "cloudevents-structured", got number',
      'obx_MessageFormats (dataverse) entry "Audit": target "audit" is listed twice (names are case-insensitive)',
      'obx_MessageFormats (dataverse) entry "constructor": target "constructor" is not in the allowed targets ("orders", "invoices", "audit")',
    ]);
    // "ORDERS" is the one good entry for orders; audit keeps its first.
    expect([...formats]).toEqual([
      ['orders', 'default'],
      ['audit', 'cloudevents-binary'],
    ]);
  });

  it.each([
    ['not JSON', '{orders:"default"}', /obx_MessageFormats is not valid JSON/],
    ['an array', '["orders"]', /must be a JSON object of target name -> format .* got an array/],
    ['null', 'null', /must be a JSON object .* got null/],
    ['a string', '"cloudevents-binary"', /must be a JSON object .* got "cloudevents-binary"/],
  ])('hostile: refuses %s', (_what, text, message) => {
    const { formats, problems } = parseMessageFormats(text, 'obx_MessageFormats', allowed);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
    expect(formats.size).toBe(0);
  });

  it('checks the keys against the allowed targets only when given them', () => {
    expect(parseMessageFormats('{"payments":"default"}', 'x').problems).toEqual([]);
  });
});

describe('cloudEventSource', () => {
  it('is the environment URL, then the table; the environment alone when the row names no table', () => {
    expect(cloudEventSource('https://contoso.crm.dynamics.com/', 'account')).toBe('https://contoso.crm.dynamics.com/account');
    expect(cloudEventSource('https://contoso.crm.dynamics.com', undefined)).toBe('https://contoso.crm.dynamics.com');
    // A raw writer's table name cannot break the URI.
    expect(cloudEventSource('https://contoso.crm.dynamics.com', 'a b/c?d')).toBe('https://contoso.crm.dynamics.com/a%20b%2Fc%3Fd');
  });
});
