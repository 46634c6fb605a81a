// One truth per rule (issue #18): the status list, the status machine, the operator actions, the acknowledgement
// message, the health rules and the $batch wire format are written in exactly one place each: the contract, the one
// Web API client (web-api/), or, for the server side of $batch, the Dataverse emulator. This test reads every
// workspace's sources and fails on a re-declaration elsewhere; each pattern is shown to catch a typical copy.
import { productSources, withoutComments, type SourceFile } from './support/sources';

interface Rule {
  readonly what: string;
  /** Shapes a copy of the rule takes in TypeScript. */
  readonly patterns: readonly RegExp[];
  /** Files (path prefixes from the repository root) that own the rule. */
  readonly owners: readonly string[];
  /** A line a copy would contain: proves the patterns are not dead. */
  readonly sampleCopy: string;
}

const rules: readonly Rule[] = [
  {
    what: 'the outbox status values',
    patterns: [/\b61200000[0-5]\b/, /\b612e6\b/],
    owners: ['contract/src/generated/'],
    sampleCopy: 'const Pending = 612000000;',
  },
  {
    what: 'the list of status names',
    patterns: [/'Pending'\s*\|\s*'Published'/, /\[\s*'Pending'\s*,\s*'Published'/, /Pending\s*:\s*612/],
    owners: ['contract/src/generated/', 'contract/src/statusMachine.ts'],
    sampleCopy: "type Status = 'Pending' | 'Published' | 'Acked';",
  },
  {
    what: 'the status machine',
    patterns: [/\[\s*Pending\s*,\s*\[\s*Published/, /function\s+canTransition\b/, /const\s+operatorOnly\b/],
    owners: ['contract/src/statusMachine.ts'],
    sampleCopy: 'export function canTransition(from: number, to: number): boolean {',
  },
  {
    what: 'the operator actions (allowed statuses and the columns each writes)',
    patterns: [
      /'retry'\s*\|\s*'replay'/,
      /\[\s*'retry'\s*,\s*'replay'/,
      /\ballowedFrom\s*[:=]/,
      /\[\s*[\w.]*replayCount\s*\]\s*:/,
      /\bobx_replaycount\s*:/,
    ],
    owners: ['contract/src/operatorActions.ts'],
    sampleCopy: "replay: { allowedFrom: [DeadLettered, Published], patch: { [c.replayCount]: n + 1 } },",
  },
  {
    what: 'the acknowledgement message',
    patterns: [
      /(interface\s+\w+|type\s+\w+\s*=)\s*\{[^{}]*\boutboxId\??\s*:\s*string[^{}]*\bprocessedAt\??\s*:\s*(string|Date)/,
      /interface\s+\w*Acknowledgement(Message|Body)?\s*\{/,
      /'processed'\s*\|\s*'rejected'/,
      /['"]OutboxAcknowledgement['"]/,
    ],
    owners: ['contract/src/acknowledgement.ts'],
    sampleCopy: 'export type Ack = { outboxId: string; outcome: string; processedAt: string };',
  },
  {
    what: 'the outbox-row rules (the error type and the JSON limits both writers apply)',
    patterns: [/class\s+OutboxRowError\b/, /\bMAX_JSON_DEPTH\s*=/, /type\s+OutboxRowErrorCode\s*=/, /function\s+(buildOutboxRow|checkJson)\b/],
    // The Dataverse emulator has its own depth limit for request bodies: it stands for the server, not for a writer.
    owners: ['contract/src/outboxRow.ts', 'contract/src/jsonCheck.ts', 'contract/src/jsonValues.ts', 'emulators/src/dataverse/'],
    sampleCopy: 'export class OutboxRowError extends Error {',
  },
  {
    what: 'the health thresholds, levels and rules',
    patterns: [
      /interface\s+HealthThresholds\b/,
      /type\s+HealthLevel\s*=/,
      /'green'\s*\|\s*'amber'\s*\|\s*'red'/,
      /JSON\.parse\(\s*Settings\.HealthThresholds\.defaultValue/,
      /maxPendingAgeSeconds\s*:\s*number/,
    ],
    owners: ['contract/src/health.ts'],
    sampleCopy: "export type HealthLevel = 'green' | 'amber' | 'red';",
  },
  {
    what: 'the $batch wire format (multipart/mixed, change sets, application/http parts)',
    patterns: [/multipart\/mixed/, /['"`]--batch_/, /changeset_/, /Content-Transfer-Encoding/i, /application\/http/],
    // The client builds and reads it; the emulator is the server and keeps its own parser (issue #18).
    owners: ['web-api/src/', 'emulators/src/dataverse/'],
    sampleCopy: "headers['Content-Type'] = `multipart/mixed; boundary=batch_${id}`;",
  },
];

const sources: SourceFile[] = productSources();

describe('every shared rule is defined once', () => {
  it('reads the sources of every workspace', () => {
    const workspaces = new Set(sources.map((s) => s.path.split('/')[0]));
    for (const ws of ['contract', 'web-api', 'producer', 'publisher-function', 'consumer', 'webresources', 'pcf-outbox-monitor', 'solution', 'pipelines', 'chaos', 'bench', 'stack', 'emulators']) {
      expect(workspaces).toContain(ws);
    }
  });

  it.each(rules.map((r) => [r.what, r] as const))('%s: nowhere but its owner', (_what, rule) => {
    const copies = sources
      .filter((s) => !rule.owners.some((owner) => s.path.startsWith(owner)))
      .flatMap((s) => {
        const code = withoutComments(s.text);
        return rule.patterns.filter((p) => p.test(code)).map((p) => `${s.path} matches ${p.source}`);
      });
    expect(copies).toEqual([]);
  });

  it.each(rules.map((r) => [r.what, r] as const))('%s: the search finds a copy', (_what, rule) => {
    expect(rule.patterns.some((p) => p.test(withoutComments(rule.sampleCopy)))).toBe(true);
  });
});
