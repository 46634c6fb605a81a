// Public barrel of @dataverse-outbox/chaos: the chaos run as a function (what `npm run chaos` calls) and its report.
// The run's components (publisherMain.ts, ctWorkerMain.ts, ctConsumerMain.ts) are process entry points, not API.
export { runChaos, defaultKinds } from './run';
export type { ChaosOptions } from './run';
export { formatConsole, formatMarkdown, violatedInvariants } from './report';
export type { ChaosReport } from './report';
export { chaosCommand, parseChaosArgs } from './cliOptions';
export type { ChaosCliOptions } from './cliOptions';
