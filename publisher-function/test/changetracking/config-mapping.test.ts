// Pure parts: settings parsing (every problem listed, app setting wins) and change -> message mapping.
import { isOutboxError } from '../../src';
import {
  changeMessageId,
  contentVersion,
  isChangeTrackingError,
  parseChangeTrackingSources,
  resolveChangeTrackingSources,
  toChangeMessage,
  toOmittedChangeMessage,
  versionFromEtag,
  type ChangeTrackingSourceConfig,
} from '../../src/changetracking/core';
import { classifyTokenError, deltaTokenFromLink } from '../../src/changetracking/dataverse/deltaReader';
import { DataverseError } from '../../src';

const allowed = { allowedTargets: ['orders'] };
const good = { table: 'opportunity', entitySet: 'opportunities', columns: ['name'], target: 'orders', eventType: 'OpportunityChanged' };
const parse = (value: unknown): ChangeTrackingSourceConfig[] => parseChangeTrackingSources({ text: JSON.stringify(value), where: 'test' }, allowed);

describe('parseChangeTrackingSources', () => {
  it('applies the defaults: name = table, primary key = <table>id, deletions use the event type', () => {
    expect(parse([good])).toEqual([{ ...good, name: 'opportunity', primaryIdAttribute: 'opportunityid', deletedEventType: 'OpportunityChanged' }]);
    expect(parse([])).toEqual([]);
  });

  it('lists every problem at once and refuses to start', () => {
    let caught: unknown;
    try {
      parse([{ ...good, colums: ['x'] }, { ...good, table: 'Opportunity', target: 'elsewhere', columns: [] }, { ...good }, 'nope']);
    } catch (e) {
      caught = e;
    }
    expect(isOutboxError(caught) && caught.code).toBe('InvalidSettings');
    const details = isOutboxError(caught) ? caught.details.join('\n') : '';
    expect(details).toMatch(/test\[0\] has an unknown field "colums"/);
    expect(details).toMatch(/test\[1\]\.table must be a table's logical name/);
    expect(details).toMatch(/test\[1\]\.target "elsewhere" is not in the allowed targets/);
    expect(details).toMatch(/test\[1\]\.columns must be a non-empty array/);
    expect(details).toMatch(/test\[3\] must be an object/);
    expect(details).toMatch(/source name "opportunity" is used 3 times/);
    expect(details).toMatch(/two sources send table opportunity to target orders/);
  });

  it('rejects text that is not a JSON array', () => {
    expect(() => parseChangeTrackingSources({ text: '{', where: 'x' }, allowed)).toThrow(/x is not valid JSON/);
    expect(() => parseChangeTrackingSources({ text: '{}', where: 'x' }, allowed)).toThrow(/x must be a JSON array/);
  });

  it('resolves: app setting over the Dataverse value over the solution default', () => {
    expect(resolveChangeTrackingSources(undefined, {})).toEqual({ text: '[]', where: 'obx_ChangeTrackingSources (default)' });
    expect(resolveChangeTrackingSources('[1]', {})).toEqual({ text: '[1]', where: 'obx_ChangeTrackingSources (dataverse)' });
    expect(resolveChangeTrackingSources('[1]', { OUTBOX_CHANGE_TRACKING_SOURCES: '[2]' })).toEqual({ text: '[2]', where: 'app setting OUTBOX_CHANGE_TRACKING_SOURCES' });
  });
});

describe('mapping', () => {
  const [source] = parse([{ ...good, columns: ['name', 'estimatedvalue'], deletedEventType: 'OpportunityDeleted' }]) as [ChangeTrackingSourceConfig];
  const id = '5c1f0c4e-0000-0000-0000-000000000001';

  it('derives the messageId from table, row id and row version: the same change gives the same id', () => {
    const change = { kind: 'changed' as const, id, version: '470867', record: { name: 'A', estimatedvalue: 5, '@odata.etag': 'W/"470867"' } };
    expect(changeMessageId('opportunity', change)).toBe(`opportunity:${id}:v470867`);
    expect(toChangeMessage(source, change)).toEqual(toChangeMessage(source, { ...change, record: { ...change.record } }));
    expect(changeMessageId('opportunity', { ...change, version: '470868' })).not.toBe(changeMessageId('opportunity', change));
    expect(changeMessageId('opportunity', { kind: 'deleted', id })).toBe(`opportunity:${id}:deleted`);
    expect(changeMessageId('x'.repeat(64), { ...change, version: '18446744073709551615' }).length).toBeLessThanOrEqual(128);
  });

  it('sends only the configured columns (missing ones as null) and never annotations', () => {
    const m = toChangeMessage(source, { kind: 'changed', id, version: '1', record: { name: 'A', secret: 'x', '@odata.etag': 'W/"1"' } });
    expect(m.body).toEqual({ opportunityid: id, name: 'A', estimatedvalue: null });
    expect(m.subject).toBe('OpportunityChanged');
    expect(m.sessionId).toBe(id);
    const d = toChangeMessage(source, { kind: 'deleted', id });
    expect(d.subject).toBe('OpportunityDeleted');
    expect(d.body).toEqual({ opportunityid: id, '@removed': { reason: 'deleted' } });
    const o = toOmittedChangeMessage(source, { kind: 'changed', id, version: '1', record: {} }, 'MessageSizeExceeded');
    expect(o.messageId).toBe(`opportunity:${id}:v1`);
    expect(o.body).toEqual({ opportunityid: id, '@omitted': { reason: 'MessageSizeExceeded', columns: ['name', 'estimatedvalue'] } });
  });

  it('reads versions from ETags, or digests the selected columns when there is none', () => {
    expect(versionFromEtag('W/"470867"')).toBe('470867');
    expect(versionFromEtag(undefined)).toBeUndefined();
    expect(contentVersion({ a: 1, b: 'x' }, ['b', 'a'])).toBe(contentVersion({ b: 'x', a: 1, c: 9 }, ['a', 'b']));
    expect(contentVersion({ a: 1 }, ['a'])).not.toBe(contentVersion({ a: 2 }, ['a']));
  });

  it('reads the delta token from a delta link and classifies refused tokens', () => {
    expect(deltaTokenFromLink('https://x/api/data/v9.2/accounts?$select=name&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44')).toBe('919042!08/22/2017 08:10:44');
    const expired = classifyTokenError(new DataverseError('BadRequest', 'Version stamp associated with the client has expired.', { statusCode: 400, dataverseCode: '0x80044352' }), 's');
    expect(isChangeTrackingError(expired) && expired.code).toBe('TokenExpired');
    const invalid = classifyTokenError(new DataverseError('BadRequest', "The delta token 'x' is not valid.", { statusCode: 400, dataverseCode: '0x80040203' }), 's');
    expect(isChangeTrackingError(invalid) && invalid.code).toBe('TokenInvalid');
    const other = new DataverseError('BadRequest', "Entity 'x' is not enabled for change tracking.", { statusCode: 400, dataverseCode: '0x80040203' });
    expect(classifyTokenError(other, 's')).toBe(other);
  });
});
