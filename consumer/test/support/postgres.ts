// PostgreSQL availability for tests: with CI=true the tests must run (an unreachable server fails them); outside CI an
// unreachable server makes them skipped, with the reason in the suite name and on stderr, never silently.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import pg from 'pg';

export const testDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function probe(): string | undefined {
  // Jest cannot await before declaring tests, so the probe runs synchronously in a child process.
  const script = `const { Client } = require(${JSON.stringify(require.resolve('pg'))});
const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 5000 });
c.connect().then(() => c.query('select 1')).then(() => c.end()).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['-e', script, testDatabaseUrl], { encoding: 'utf8', timeout: 15_000 });
  if (result.status === 0) return undefined;
  return (result.stderr || result.error?.message || `exit ${String(result.status)}`).trim().split('\n')[0];
}

const unreachableReason = probe();
export const postgresAvailable = unreachableReason === undefined;

/** describe() for suites that need PostgreSQL. */
export function describePostgres(name: string, body: () => void): void {
  if (unreachableReason === undefined) {
    describe(name, body);
    return;
  }
  const reason = `PostgreSQL unreachable at ${testDatabaseUrl.replace(/:[^:@/]*@/, ':***@')}: ${unreachableReason}`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs PostgreSQL (CI=true: these tests must run)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  process.stderr.write(`[consumer tests] SKIPPED "${name}": ${reason}\n`);
  describe.skip(`${name} [SKIPPED: ${reason}]`, body);
}

/** A unique schema name per test file and run, so parallel test files never collide. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`.toLowerCase();
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
