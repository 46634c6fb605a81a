// The chaos run's report: one JSON document (everything, the action log included) and its markdown / console forms.
import type { AuditSummary } from './audit';
import type { AnyComponent, ExecutedAction } from './executor';
import type { InjectedFaultFigures, PartitionMove } from './faultChecks';
import { invariantNames, invariantTitles, type CheckFigures, type Violation } from './invariants';
import { resendCauses, resendCauseTitles, type ResendFigures } from './resends';
import { faultDescriptions, faultKinds, type FaultKind } from './schedule';

export interface ChaosReport {
  ok: boolean;
  /** Why the run could not even be checked (harness error), when it could not. */
  error?: string;
  seed: number;
  reproduce: string;
  startedAt: string;
  finishedAt: string;
  options: {
    orders: number;
    outboxOrders: number;
    ctOrders: number;
    rollbacks: number;
    durationMs: number;
    meanGapMs: number;
    leaseDurationMs: number;
    /** The scope's partition count and the publisher processes sharing it. */
    partitions: number;
    publishers: number;
    brokenConsumer: boolean;
    kinds: FaultKind[];
    /** Rows behind the head row of each blocked-key action. */
    blockedKeyRows?: number;
  };
  timings: { startupMs: number; chaosMs: number; quiescenceMs: number; quiesced: boolean; checkMs: number; totalMs: number };
  faults: Partial<Record<FaultKind, number>>;
  faultsTotal: number;
  actionsSkipped: number;
  kills: Partial<Record<AnyComponent, number>>;
  killsTotal: number;
  pauses: Partial<Record<AnyComponent, number>>;
  unexpectedExits: { component: string; at: string; info: string }[];
  /** Redeliveries the consumers' inboxes recognised and absorbed (no second effect). */
  duplicatesAbsorbed: { erpConsumer: number; ctConsumer: number };
  /** Acknowledgements the ERP consumer's sweep sent again. */
  acknowledgementsResent: number;
  deliveriesProcessed: { erpConsumer: number; ctConsumer: number };
  /** Every kill-partition-holder action that killed a holder: which partitions, how fast they moved, to whom. */
  partitionMoves?: PartitionMove[];
  lost: number;
  duplicateEffects: number;
  figures?: CheckFigures;
  audit?: AuditSummary;
  violations: Violation[];
  actions: ExecutedAction[];
  dataDir?: string;
}

const n = (v: number | undefined): string => (v ?? 0).toLocaleString('en-US');
const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function violatedInvariants(r: ChaosReport): string[] {
  return [...new Set(r.violations.map((v) => v.invariant))];
}

export function formatMarkdown(r: ChaosReport): string {
  const f = r.figures;
  const lines: string[] = [];
  lines.push(`# Chaos run ${r.ok ? 'PASSED' : 'FAILED'} (seed ${r.seed})`, '');
  lines.push(`- Started ${r.startedAt}, finished ${r.finishedAt}; reproduce with \`${r.reproduce}\``);
  lines.push(`- Orders: ${n(r.options.orders)} (${n(r.options.outboxOrders)} through the outbox, ${n(r.options.ctOrders)} through change tracking, ${n(r.options.rollbacks)} change sets made to fail); chaos phase ${s(r.options.durationMs)}, an action every ${s(r.options.meanGapMs)} on average, publisher lease ${s(r.options.leaseDurationMs)}; ${n(r.options.publishers)} publisher processes sharing ${n(r.options.partitions)} partition${r.options.partitions === 1 ? '' : 's'}${r.options.partitions > 1 ? ' (one application user each)' : ''}${r.options.brokenConsumer ? '; **broken consumer variant (completes before commit)**' : ''}`);
  lines.push(`- Timings: start-up ${s(r.timings.startupMs)}, chaos ${s(r.timings.chaosMs)}, quiescence ${r.timings.quiesced ? s(r.timings.quiescenceMs) : `NOT reached in ${s(r.timings.quiescenceMs)}`}, checks ${s(r.timings.checkMs)}, total ${s(r.timings.totalMs)}`);
  if (r.error) lines.push('', `**Harness error:** ${r.error}`);
  lines.push('', '## Result', '', '| figure | value |', '|---|---|');
  lines.push(`| lost (committed order without its effect) | **${n(r.lost)}** |`);
  lines.push(`| duplicate effects | **${n(r.duplicateEffects)}** |`);
  lines.push(`| duplicates delivered and absorbed by the inbox (ERP / change tracking) | ${n(r.duplicatesAbsorbed.erpConsumer)} / ${n(r.duplicatesAbsorbed.ctConsumer)} |`);
  lines.push(`| acknowledgements sent again by the ERP consumer's sweep (lost or unrecorded when it was killed) | ${n(r.acknowledgementsResent ?? 0)} |`);
  lines.push(`| deliveries processed (ERP / change tracking) | ${n(r.deliveriesProcessed.erpConsumer)} / ${n(r.deliveriesProcessed.ctConsumer)} |`);
  if (f) {
    lines.push(`| outbox change sets: committed / rolled back (of which made to fail) | ${n(f.outbox.committed)} / ${n(f.outbox.rolledBack)} (${n(f.outbox.deliberateRollbacks)}) |`);
    lines.push(`| outbox change sets the producer saw fail that had committed (settled by reading the store) | ${n(f.outbox.ambiguousCommitted)} |`);
    lines.push(`| outbox good orders / sales orders in the ERP | ${n(f.outbox.goodOrders)} / ${n(f.outbox.effects)} |`);
    lines.push(`| poison rows (Failed / DeadLettered with a reason) | ${n(f.outbox.poisonRows)} |`);
    lines.push(`| outbox rows by status | ${Object.entries(f.outbox.rowsByStatus).map(([k, v]) => `${k} ${n(v)}`).join(', ')} |`);
    lines.push(`| failure reasons | ${Object.entries(f.outbox.failureReasons).map(([k, v]) => `${k}: ${n(v)}`).join(', ') || '-'} |`);
    lines.push(`| rows left Published with their effect present (acknowledgement never applied) | ${n(f.outbox.acksLost)} |`);
    if (f.outbox.latencyByPartition?.length) {
      lines.push(
        `| good orders' commit-to-publish per partition: median / p90 / max (orders) | ${f.outbox.latencyByPartition.map((l) => `p${l.partition}: ${s(l.medianMs)} / ${s(l.p90Ms)} / ${s(l.maxMs)} (${n(l.rows)})`).join('; ')} |`,
      );
    }
    lines.push(`| change-tracking change sets: committed / rolled back (made to fail) / ambiguous settled | ${n(f.changeTracking.committed)} / ${n(f.changeTracking.rolledBack)} (${n(f.changeTracking.deliberateRollbacks)}) / ${n(f.changeTracking.ambiguousCommitted)} |`);
    lines.push(`| opportunities tracked / changes applied by the change-tracking consumer | ${n(f.changeTracking.opportunities)} / ${n(f.changeTracking.changesApplied)} |`);
  }
  if (r.audit) lines.push(`| status audit: reads / failed reads / transitions observed / regressions | ${n(r.audit.reads)} / ${n(r.audit.failedReads)} / ${n(r.audit.transitionsObserved)} / ${n(r.audit.regressions.length)} |`);
  if (f?.resends) lines.push(...resendSection(f.resends));
  if (f?.injected) lines.push(...injectedSection(f.injected));
  if (r.partitionMoves?.length) {
    lines.push('', '## Partition holders killed (kill-partition-holder)', '', '| at | killed | its partitions | its leases ended after | all held again after (bound) | taken by |', '|---|---|---|---|---|---|');
    for (const m of r.partitionMoves) {
      lines.push(
        `| ${s(m.at)} | ${m.victim} | ${m.partitions.join(', ')} of ${m.count} | ${m.leaseEndedAfterMs !== undefined ? s(m.leaseEndedAfterMs) : '-'} | ${m.movedAfterMs !== undefined ? s(m.movedAfterMs) : m.survivors ? '**not seen**' : 'nobody else running'} (${s(m.boundMs)})${m.faultsDuring.length ? ` during ${m.faultsDuring.length} Dataverse fault(s)` : ''} | ${Object.entries(m.takenBy).map(([i, p]) => `${i}: ${p}`).join(', ') || '-'} |`,
      );
    }
  }
  lines.push('', '## Invariants', '', '| invariant | result |', '|---|---|');
  for (const name of invariantNames) {
    const hits = r.violations.filter((v) => v.invariant === name);
    lines.push(`| ${invariantTitles[name]} | ${hits.length ? `**FAILED** (${hits.map((h) => `${h.flow}: ${h.count}`).join(', ')})` : r.figures ? 'held' : 'not checked'} |`);
  }
  lines.push('', `## Faults injected (${n(r.faultsTotal)}; ${n(r.actionsSkipped)} actions skipped because their target was down)`, '', '| kind | count | what |', '|---|---|---|');
  for (const k of faultKinds) if (r.options.kinds.includes(k)) lines.push(`| ${k} | ${n(r.faults[k])} | ${faultDescriptions[k]} |`);
  lines.push('', `## Kills per component (${n(r.killsTotal)} SIGKILLs)`, '', '| component | SIGKILL | SIGSTOP pauses |', '|---|---|---|');
  const comps = new Set([...Object.keys(r.kills), ...Object.keys(r.pauses)]) as Set<AnyComponent>;
  for (const c of [...comps].sort()) lines.push(`| ${c} | ${n(r.kills[c])} | ${n(r.pauses[c])} |`);
  if (r.unexpectedExits.length) {
    lines.push('', '## Components that exited on their own', '');
    for (const e of r.unexpectedExits.slice(0, 20)) lines.push(`- ${e.at} ${e.component}: ${e.info}`);
  }
  if (r.violations.length) {
    lines.push('', '## Violations', '');
    for (const v of r.violations) {
      lines.push(`- **${v.invariant}** (${v.flow}): ${v.message}: ${n(v.count)}`);
      for (const e of v.examples) lines.push(`  - ${e}`);
    }
  }
  if (r.audit) lines.push('', `Status audit: ${r.audit.method}, every ${s(r.audit.intervalMs)}; transitions between two reads coalesce.`);
  return `${lines.join('\n')}\n`;
}

/** What the poison and blocking faults did (issue 17), as report lines. */
function injectedSection(i: InjectedFaultFigures): string[] {
  const lat = (l: { rows: number; medianMs: number; p90Ms: number }): string => (l.rows ? `median ${s(l.medianMs)}, p90 ${s(l.p90Ms)} (${n(l.rows)} orders)` : 'no orders');
  const lines = ['', '## Poison and blocking faults', '', '| figure | value |', '|---|---|'];
  lines.push(`| poison acknowledgements sent / dead-lettered with the expected reason | ${n(i.poisonAcks.sent)} / ${n(i.poisonAcks.deadLetteredAsExpected)} (${Object.entries(i.poisonAcks.byReason).map(([k, v]) => `${k} ${n(v)}`).join(', ') || '-'}) |`);
  lines.push(`| good acknowledgements sent among them (duplicates; none may be dead-lettered) | ${n(i.goodAcksSent)} |`);
  lines.push(`| poison dead letters put on erp-sales / still in its dead-letter queue at the end | ${n(i.poisonDeadLetters.sent)} / ${n(i.poisonDeadLetters.stillInQueue)} |`);
  lines.push(`| rows nested 10,000 deep / Failed with a depth reason | ${n(i.deepNesting.rows)} / ${n(i.deepNesting.failedWithDepthReason)} |`);
  lines.push(`| whitespace targets: rows / published to the trimmed entity / Failed with a reason; longest wait of the row behind | ${n(i.whitespaceTargets.rows)} / ${n(i.whitespaceTargets.published)} / ${n(i.whitespaceTargets.failed)}; ${i.whitespaceTargets.longestFollowerWaitMs !== undefined ? s(i.whitespaceTargets.longestFollowerWaitMs) : '-'} |`);
  lines.push(`| good orders' commit-to-publish while no key was blocked | ${lat(i.unblockedLatency)} |`);
  for (const b of i.blockedKeys) {
    lines.push(
      `| blocked key ${b.sessionKey}: ${n(b.rows)} rows; head ${b.headStatus} after ${n(b.headAttempts)} attempt(s)${b.blockedMs !== undefined ? `, blocked ${s(b.blockedMs)}` : ''}; other keys of its partition (${b.partition ?? 0}) meanwhile${b.otherPartitions ? '; other partitions (not judged)' : ''} | ${lat(b.otherKeys)}${b.otherPartitions ? `; ${lat(b.otherPartitions)}` : ''} |`,
    );
  }
  const m = i.partitionMoves;
  if (m) {
    lines.push(
      `| kill-partition-holder: holders killed with another publisher running / partitions taken over within ${m.boundMs !== undefined ? s(m.boundMs) : 'the bound'} / late while a Dataverse fault struck | ${n(m.kills)} / ${n(m.inTime)} / ${n(m.lateDuringDataverseFault)} |`,
    );
    if (m.medianMs !== undefined) lines.push(`| kill-partition-holder: time from the kill until every partition it held was held again (median / max) | ${s(m.medianMs)} / ${s(m.maxMs ?? 0)} |`);
  }
  return lines;
}

/** The duplicate-send audit, as report lines. */
function resendSection(r: ResendFigures): string[] {
  const lines = ['', '## Duplicate sends (dropped by Service Bus duplicate detection)', '', '| figure | value |', '|---|---|'];
  lines.push(`| sends dropped as duplicates, per queue | ${Object.entries(r.droppedPerEntity).map(([k, v]) => `${k} ${n(v)}`).join(', ') || '-'} |`);
  lines.push(`| outbox rows the publisher sent more than once / extra sends | ${n(r.outboxRowsResent)} / ${n(r.outboxResends)} |`);
  lines.push(`| extra sends by cause (the first that explains each) | ${[...resendCauses, 'unexplained' as const].map((c) => `${resendCauseTitles[c]} ${n(r.byCause[c])}`).join(', ')} |`);
  return lines;
}

/** The short console summary (the markdown has everything). */
export function formatConsole(r: ChaosReport): string {
  const f = r.figures;
  const out = [
    `Chaos run ${r.ok ? 'PASSED' : 'FAILED'}  seed ${r.seed}`,
    `  orders        ${n(r.options.orders)} (${n(f?.outbox.committed)} outbox change sets committed, ${n(f?.outbox.rolledBack)} rolled back; ${n(f?.changeTracking.committed)} change-tracking committed, ${n(f?.changeTracking.rolledBack)} rolled back)`,
    `  faults        ${n(r.faultsTotal)}: ${Object.entries(r.faults).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  kills         ${n(r.killsTotal)}: ${Object.entries(r.kills).map(([k, v]) => `${k} ${v}`).join(', ')}${Object.keys(r.pauses).length ? `; pauses ${Object.entries(r.pauses).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`,
    `  duplicates    ${n(r.duplicatesAbsorbed.erpConsumer + r.duplicatesAbsorbed.ctConsumer)} delivered and absorbed by the inbox`,
    `  lost          ${n(r.lost)}`,
    `  dup. effects  ${n(r.duplicateEffects)}`,
    ...(f?.resends ? [`  dup. sends    ${n(f.resends.outboxResends)} outbox rows sent again (${n(f.resends.byCause.unexplained)} unexplained)`] : []),
    ...(f?.injected.partitionMoves ? [`  part. moves   ${n(f.injected.partitionMoves.inTime)} of ${n(f.injected.partitionMoves.kills)} within ${s(f.injected.partitionMoves.boundMs ?? 0)}${f.injected.partitionMoves.maxMs !== undefined ? ` (max ${s(f.injected.partitionMoves.maxMs)})` : ''}`] : []),
    `  quiescence    ${r.timings.quiesced ? s(r.timings.quiescenceMs) : `not reached within ${s(r.timings.quiescenceMs)}`}`,
  ];
  if (r.error) out.push(`  ERROR         ${r.error}`);
  for (const v of r.violations) out.push(`  VIOLATED      ${v.invariant} (${v.flow}): ${v.message}: ${v.count}${v.examples.length ? ` e.g. ${v.examples.slice(0, 3).join('; ')}` : ''}`);
  if (!r.ok) out.push(`  reproduce     ${r.reproduce}`);
  return out.join('\n');
}
