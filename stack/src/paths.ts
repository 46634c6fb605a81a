// Where things live: the repository (entry points of the components) and the stack's data folder.
import path from 'node:path';

/** The repository root (stack/src/.. /..), where `npm start` runs. */
export const repoRoot = path.resolve(__dirname, '..', '..');

/** Default data folder: `.outbox-data/` at the repository root (git-ignored). */
export const defaultDataDir = path.join(repoRoot, '.outbox-data');

/** The files of one data folder. Everything the stack keeps between runs is in here, so `npm run reset` is one rm -rf. */
export interface DataLayout {
  root: string;
  logs: string;
  /** Written by `npm start` while the stack runs: URLs, ports, pids (see state.ts). */
  stateFile: string;
  dataverseFile: string;
  serviceBusFile: string;
  serviceBusConfigFile: string;
  erpSalesFile: string;
  /** Results of `npm run demo` runs. */
  demoDir: string;
  /** Spans the components record (one `<component>.jsonl` each), read by `npm run trace`. */
  tracesDir: string;
}

export function dataLayout(root: string = defaultDataDir): DataLayout {
  const r = path.resolve(root);
  return {
    root: r,
    logs: path.join(r, 'logs'),
    stateFile: path.join(r, 'stack.json'),
    dataverseFile: path.join(r, 'dataverse.sqlite'),
    serviceBusFile: path.join(r, 'servicebus.sqlite'),
    serviceBusConfigFile: path.join(r, 'servicebus-config.json'),
    erpSalesFile: path.join(r, 'erp-sales.sqlite'),
    demoDir: path.join(r, 'demo'),
    tracesDir: path.join(r, 'traces'),
  };
}

/** Entry points of the components, run as `node --conditions=development --import tsx <entry>`. */
export const entryPoints = {
  dataverse: path.join(repoRoot, 'emulators', 'src', 'dataverse', 'main.ts'),
  servicebus: path.join(repoRoot, 'emulators', 'src', 'servicebus', 'main.ts'),
  publisher: path.join(repoRoot, 'publisher-function', 'src', 'worker.ts'),
  consumer: path.join(repoRoot, 'consumer', 'examples', 'erp-sales', 'main.ts'),
  monitor: path.join(repoRoot, 'stack', 'src', 'monitor', 'main.ts'),
} as const;
