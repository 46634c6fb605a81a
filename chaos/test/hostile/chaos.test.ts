// Hostile input for the chaos run: command-line values (each refused with a message naming the option, before anything
// starts or is written), and hostile dead letters and rows fed to the checker (each reported readably as a violation of
// its own, while the rest of the run is still judged as before).
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { chaosCommand, parseChaosArgs } from '../../src/cliOptions';
import { checkInvariants } from '../../src/invariants';
import type { AuditSummary } from '../../src/audit';
import type { DeadLetteredMessage } from '@dataverse-outbox/emulators/admin';
import type { ChaosOrder } from '../../src/producers';
import type { FinalStores } from '../../src/stores';

const reportDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'chaos-hostile-')), 'never-created');
const good = ['--orders', '700', '--seed', '5', '--report-dir', reportDir];

function parse(args: string[]): { error?: CommanderError; options?: ReturnType<typeof parseChaosArgs>; output: string } {
  let output = '';
  const command = chaosCommand()
    .exitOverride()
    .configureOutput({ writeErr: (s) => void (output += s), writeOut: (s) => void (output += s) });
  try {
    return { options: parseChaosArgs(command, args), output };
  } catch (e) {
    if (e instanceof CommanderError) return { error: e, output };
    throw e;
  }
}

describe('chaos command line', () => {
  test('the good options alone parse, and reproduce the run', () => {
    const { options, error } = parse(good);
    expect(error).toBeUndefined();
    expect(options).toMatchObject({ orders: 700, seed: 5, duration: 60, lease: 6, reportDir });
    expect(options!.reproduce).toBe('npm run chaos -- --orders 700 --seed 5 --duration 60');
    expect(options).toMatchObject({ partitions: 1, publishers: 2 });
  });

  test('partitions and publishers are passed on and reproduced', () => {
    const { options, error } = parse([...good, '--partitions', '4', '--publishers', '3']);
    expect(error).toBeUndefined();
    expect(options).toMatchObject({ partitions: 4, publishers: 3 });
    expect(options!.reproduce).toBe('npm run chaos -- --orders 700 --seed 5 --duration 60 --partitions 4 --publishers 3');
  });

  const cases: [string, string[], RegExp][] = [
    ['no orders', ['--orders', '0'], /--orders <n>' argument '0' is invalid\. must be a whole number from 1 to 1,000,000/],
    ['negative orders', ['--orders', '-5'], /--orders <n>' argument '-5' is invalid/],
    ['fractional orders', ['--orders', '1.5'], /--orders <n>' argument '1\.5' is invalid\. must be a whole number/],
    ['orders in exponent form', ['--orders', '1e3'], /--orders <n>' argument '1e3' is invalid/],
    ['orders that are words', ['--orders', 'abc'], /--orders <n>' argument 'abc' is invalid/],
    ['orders beyond the bound', ['--orders', '99999999999'], /--orders <n>' argument '99999999999' is invalid/],
    ['orders with a leading blank', ['--orders', ' 10'], /--orders <n>' argument ' 10' is invalid/],
    ['orders in hex', ['--orders', '0x10'], /--orders <n>' argument '0x10' is invalid/],
    ['zero duration', ['--duration', '0'], /--duration <seconds>' argument '0' is invalid\. must be a number of seconds from 10/],
    ['infinite duration', ['--duration', 'Infinity'], /--duration <seconds>' argument 'Infinity' is invalid/],
    ['NaN duration', ['--duration', 'NaN'], /--duration <seconds>' argument 'NaN' is invalid/],
    ['duration that overflows', ['--duration', '1e400'], /--duration <seconds>' argument '1e400' is invalid/],
    ['lease shorter than the workers accept', ['--lease', '4'], /--lease <seconds>' argument '4' is invalid\. must be a whole number from 5 to 3,600/],
    ['a fractional lease', ['--lease', '6.5'], /--lease <seconds>' argument '6\.5' is invalid/],
    ['change-tracking share of 1', ['--ct-share', '1'], /--ct-share <share>' argument '1' is invalid\. must be a number from 0 to below 1/],
    ['negative change-tracking share', ['--ct-share', '-0.1'], /--ct-share <share>' argument '-0\.1' is invalid/],
    ['zero mean gap', ['--mean-gap', '0'], /--mean-gap <seconds>' argument '0' is invalid/],
    ['a kind list that names no kind', ['--kinds', ' , ,'], /--kinds <list>' argument ' , ,' is invalid\. names no fault kind/],
    ['an unknown kind among good ones', ['--kinds', 'kill-publisher,nope'], /unknown fault kind\(s\) "nope"; known: kill-publisher/],
    ['a kind in the wrong case', ['--kinds', 'KILL-PUBLISHER'], /unknown fault kind\(s\) "KILL-PUBLISHER"/],
    ['a kind with shell metacharacters', ['--kinds', 'poison-acks;rm -rf /'], /unknown fault kind\(s\) "poison-acks;rm -rf \/"/],
    ['an empty seed', ['--seed', '  '], /--seed <seed>' argument ' {2}' is invalid\. must be a number or a short text/],
    ['a seed with a NUL', ['--seed', 'a\u0000b'], /--seed <seed>' argument .* is invalid\. must be a number or a short text \(1-100 characters, no control characters\)/],
    ['a seed of 101 characters', ['--seed', 'x'.repeat(101)], /must be a number or a short text \(1-100 characters/],
    ['no partitions', ['--partitions', '0'], /--partitions <n>' argument '0' is invalid\. must be a whole number from 1 to 64/],
    ['more partitions than the publisher allows', ['--partitions', '65'], /--partitions <n>' argument '65' is invalid/],
    ['no publishers', ['--publishers', '0'], /--publishers <n>' argument '0' is invalid\. must be a whole number from 1 to 8/],
    ['more publishers than the run names', ['--publishers', '9'], /--publishers <n>' argument '9' is invalid/],
    ['fractional publishers', ['--publishers', '2.5'], /--publishers <n>' argument '2\.5' is invalid/],
    ['no blocked-key rows', ['--blocked-key-rows', '0'], /--blocked-key-rows <n>' argument '0' is invalid\. must be a whole number from 1 to 100,000/],
    ['too many blocked-key rows', ['--blocked-key-rows', '100001'], /--blocked-key-rows <n>' argument '100001' is invalid/],
    ['negative quiescence timeout', ['--quiescence-timeout', '-1'], /--quiescence-timeout <seconds>' argument '-1' is invalid/],
    ['an option without its value', ['--orders'], /option '--orders <n>' argument missing/],
    ['an unknown option', ['--orderz', '5'], /unknown option '--orderz'/],
  ];
  test.each(cases)('hostile: %s is refused by name before anything starts', (_name, bad, message) => {
    const { error, options, output } = parse([...good, ...bad]);
    expect(options).toBeUndefined();
    expect(error?.exitCode).toBe(1);
    expect(error!.message).toMatch(message);
    // The help follows the error (showHelpAfterError), and nothing was created: the run never started.
    expect(output).toContain('Usage: npm run chaos --');
    expect(existsSync(reportDir)).toBe(false);
    // The same line without the bad value still parses to the same good options.
    expect(parse(good).options).toMatchObject({ orders: 700, seed: 5 });
  });
});

describe('checker', () => {
  const audit: AuditSummary = { method: 'change-tracking delta of obx_outboxmessage, sampled by the harness', reads: 1, failedReads: 0, transitionsObserved: 0, rowsSeen: 0, regressions: [], intervalMs: 1000 };
  const row = (messageId: string) => ({ id: `row-${messageId}`, messageId, status: 'Acked' as const, lastError: '', target: 'erp-sales', sessionKey: 'k1', attempts: 1 });
  function run(): { orders: ChaosOrder[]; stores: FinalStores } {
    return {
      orders: [{ flow: 'outbox', kind: 'good', opportunityId: 'o1', messageId: 'm1', seen: 'committed' }],
      stores: {
        rows: [row('m1')],
        opportunities: [{ id: 'o1', statecode: 1, version: 3 }],
        salesOrders: [{ outboxMessageId: 'm1', at: 0, sessionKey: 'k1', sequence: 1 }],
        ctChanges: [{ messageId: 'opportunity:o1:v3', opportunityId: 'o1', version: 3, statecode: 1 }],
        entities: [],
        deadLetters: { 'erp-sales': [], 'outbox-acks': [], 'erp-sales-ct': [] },
        blockedEffects: [],
      },
    };
  }
  const dl = (d: Partial<DeadLetteredMessage>): DeadLetteredMessage => ({ sequenceNumber: 1, deliveryCount: 1, enqueuedTimeUtc: '2026-01-01T00:00:00.000Z', body: {}, ...d });

  const cases: [string, string, DeadLetteredMessage, RegExp][] = [
    ['a dead letter without messageId', 'outbox-acks', dl({ messageId: undefined, deadLetterReason: 'AckNotJson' }), /^\(no messageId\): AckNotJson/],
    ['a dead letter without reason', 'erp-sales', dl({ messageId: 'stranger' }), /^stranger: no reason$/],
    ['a dead letter whose body is null', 'outbox-acks', dl({ messageId: 'x:ack:processed', deadLetterReason: 'UnknownOutboxRow', body: null }), /^x:ack:processed: UnknownOutboxRow/],
    ['an ack whose outboxId is a number', 'outbox-acks', dl({ messageId: 'y', deadLetterReason: 'InvalidOutboxId', body: { outboxId: 42 } }), /^y: InvalidOutboxId/],
    ['a 1 MB description', 'erp-sales-ct', dl({ messageId: 'z', deadLetterReason: 'R', deadLetterErrorDescription: 'd'.repeat(1_000_000) }), /^z: R d{200,}$/],
    ['a messageId that looks like a replayed row of no row', 'erp-sales', dl({ messageId: 'ghost#r2', deadLetterReason: 'ValidationFailed' }), /^ghost#r2: ValidationFailed/],
    ['a messageId posing as an injected poison ack', 'outbox-acks', dl({ messageId: 'chaos-poison-ack:malformed:not-sent-by-the-run', deadLetterReason: 'AckNotJson' }), /^chaos-poison-ack:malformed:not-sent-by-the-run: AckNotJson/],
  ];
  test.each(cases)('hostile: %s is reported as unexplained, and nothing else of the run is judged differently', (_name, entity, letter, line) => {
    const { orders, stores } = run();
    expect(checkInvariants(orders, stores, audit).violations).toEqual([]);
    stores.deadLetters[entity]!.push(letter);
    const r = checkInvariants(orders, stores, audit);
    expect(r.violations.map((v) => v.invariant)).toEqual(['dead-letters-explained']);
    expect(r.violations[0]!.count).toBe(1);
    expect(r.violations[0]!.examples[0]).toMatch(line);
    expect(r.figures.outbox).toMatchObject({ goodOrders: 1, effects: 1 });
  });
});
