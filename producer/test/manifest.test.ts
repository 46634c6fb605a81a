// A producer service installs @dataverse-outbox/producer and must not pull in the publisher's hosting, telemetry or CLI
// packages. The dependency tree is walked the way npm installed it: from producer/package.json through the root
// package-lock.json (Node's node_modules lookup, workspace links followed), transitively.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
// OpenTelemetry's API (no dependencies of its own, what instrumented libraries depend on) is allowed; its SDKs,
// exporters and instrumentations are the application's choice and must not come in through the writer.
const FORBIDDEN: readonly RegExp[] = [/^@azure\/functions$/, /^@opentelemetry\/(?!api$)/, /^commander$/, /^cli-progress$/];

interface Manifest {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
interface LockEntry extends Manifest {
  resolved?: string;
  link?: boolean;
}
interface Lockfile {
  packages: Record<string, LockEntry>;
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const lock = readJson<Lockfile>(join(root, 'package-lock.json'));

/** The lockfile key a dependency `name` required from the package at `from` resolves to (Node's lookup, links followed). */
function resolve(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    const entry = lock.packages[key];
    if (entry) return entry.link && entry.resolved !== undefined ? entry.resolved : key;
    if (dir === '') return undefined;
    const parent = dir.lastIndexOf('/node_modules/');
    dir = parent >= 0 ? dir.slice(0, parent) : '';
  }
}

interface Installed {
  name: string;
  /** How it got in: the chain of package names from the workspace. */
  via: string[];
}

/** Every package installed for `manifest` (at lockfile location `at`), transitively; throws for a dependency the lockfile lacks. */
function dependencyTree(at: string, manifest: Manifest): Installed[] {
  const seen = new Map<string, Installed>();
  const queue: { at: string; manifest: Manifest; via: string[] }[] = [{ at, manifest, via: [manifest.name ?? at] }];
  while (queue.length > 0) {
    const next = queue.shift()!;
    const required = { ...next.manifest.peerDependencies, ...next.manifest.dependencies };
    const optional = next.manifest.optionalDependencies ?? {};
    for (const name of [...Object.keys(required), ...Object.keys(optional)]) {
      const key = resolve(next.at, name);
      if (key === undefined) {
        if (name in optional) continue; // an optional dependency not installed on this platform
        throw new Error(`${next.via.join(' > ')} needs ${name}, which package-lock.json does not have: run npm install`);
      }
      if (seen.has(key)) continue;
      const via = [...next.via, name];
      seen.set(key, { name, via });
      queue.push({ at: key, manifest: lock.packages[key]!, via });
    }
  }
  return [...seen.values()];
}

const forbiddenIn = (tree: readonly Installed[]): string[] => tree.filter((p) => FORBIDDEN.some((f) => f.test(p.name))).map((p) => p.via.join(' > '));

const producer = readJson<Manifest>(join(root, 'producer', 'package.json'));

test('the lockfile knows the producer workspace with the dependencies its package.json declares', () => {
  expect(lock.packages['node_modules/@dataverse-outbox/producer']).toEqual({ resolved: 'producer', link: true });
  expect(lock.packages['producer']?.dependencies).toEqual(producer.dependencies);
});

test("the producer depends on the contract, the Web API client and OpenTelemetry's API only, and nothing it installs is hosting, a telemetry SDK or CLI", () => {
  const tree = dependencyTree('producer', producer);
  expect(forbiddenIn(tree)).toEqual([]);
  expect(tree.map((p) => p.name)).toEqual(expect.arrayContaining(['@dataverse-outbox/contract', '@dataverse-outbox/web-api']));
  expect(Object.keys(producer.dependencies ?? {}).sort()).toEqual(['@dataverse-outbox/contract', '@dataverse-outbox/web-api', '@opentelemetry/api']);
  // The API has no dependencies of its own: nothing else of OpenTelemetry comes in with it.
  expect(tree.filter((p) => p.name.startsWith('@opentelemetry/')).map((p) => p.name)).toEqual(['@opentelemetry/api']);
  expect(producer).not.toHaveProperty('peerDependencies');
  expect(producer).not.toHaveProperty('optionalDependencies');
});

test("the walk finds them where they are: the publisher installs @azure/functions, OpenTelemetry's SDK, commander and cli-progress", () => {
  // Without this, an empty walk would pass the test above.
  const publisher = readJson<Manifest>(join(root, 'publisher-function', 'package.json'));
  const found = forbiddenIn(dependencyTree('publisher-function', publisher)).map((chain) => chain.split(' > ').pop());
  expect(found).toEqual(expect.arrayContaining(['@azure/functions', '@opentelemetry/sdk-trace-base', 'commander', 'cli-progress']));
});

test("the producer's sources import only its declared dependencies, Node built-ins and each other", () => {
  const declared = new Set(Object.keys(producer.dependencies ?? {}));
  const builtins = new Set(builtinModules);
  const dir = join(root, 'producer', 'src');
  const stray: string[] = [];
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    // `from '...'`, `import '...'`, `import('...')` and `require('...')`.
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"\n]+)['"]/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.') || specifier.startsWith('node:') || builtins.has(specifier)) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (!declared.has(name)) stray.push(`${file}: ${specifier}`);
    }
  }
  expect(stray).toEqual([]);
});
