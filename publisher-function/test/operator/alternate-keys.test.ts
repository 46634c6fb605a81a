// Alternate keys travel in URL paths (the producer's upsert on obx_messageid, the lease scope): every character of the
// value must reach Dataverse as written. The producer's round trip through the Dataverse emulator moved with the writer
// to producer/test/writer.test.ts.
import { alternateKey } from '../../src';

it('alternateKey quotes as an OData literal, then percent-encodes everything but unreserved characters', () => {
  expect(alternateKey('obx_name', "a#b?c%d/e'f(g)")).toBe("obx_name='a%23b%3Fc%25d%2Fe%27%27f%28g%29'");
  expect(() => alternateKey('obx_name) or (x', 'a')).toThrow('alternate key column must be a logical name');
});
