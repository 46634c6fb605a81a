// The monitor's Web API reads, written against a narrow port that context.webAPI satisfies (the conditional writes
// are in runAction.ts). index.ts binds them to the real context; tests bind them to a fake; the components only ever
// see the resulting plain async functions.
import { healthCountedStatuses, healthCountLimits, notScheduledFilter, OutboxMessage, OutboxStatus, Settings, type HealthThresholds } from '@dataverse-outbox/contract';
import { describeError, readDate } from './format';
import type { TimelineCells } from './timeline';
import {
  bucketLast24Hours,
  combineStatusCounts,
  seriesHours,
  statusCountQuery,
  thresholdsFromSetting,
  type HourBucket,
  type StatusCounts,
} from './health';

type WebApiEntity = Record<string, unknown>;

/** The part of ComponentFramework.WebApi the monitor uses. */
export interface WebApiPort {
  retrieveMultipleRecords(entityType: string, options?: string, maxPageSize?: number): Promise<{ entities: WebApiEntity[]; nextLink?: string }>;
  retrieveRecord(entityType: string, id: string, options?: string): Promise<WebApiEntity>;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export interface HealthReport {
  generatedAt: Date;
  counts: Outcome<StatusCounts>;
  /** null: nothing is pending. */
  oldestPending: Outcome<Date | null>;
  /** null: nothing was ever published. */
  lastPublish: Outcome<Date | null>;
  series: Outcome<{ buckets: HourBucket[]; capped: boolean }>;
  thresholds: HealthThresholds;
  thresholdsProblem?: string;
  /** Set when the report covers only the rows the host loaded (no Web API): facts it cannot know are not errors. */
  scope?: { loadedRows: number };
}

export interface RowDetails {
  id: string;
  name: string | undefined;
  messageId: string | undefined;
  contentType: string | undefined;
  payload: string | undefined;
  lastError: string | undefined;
  /** The reader is in no column security profile that reads the outbox's secured columns: payload and error are null. */
  hiddenByColumnSecurity: boolean;
  /** The raw cells the row's timeline reads (core/timeline.ts); secured ones are null where column security hides them. */
  timeline: TimelineCells;
}

/** Shown instead of a blank where column security hides a value (the product's wording, docs/monitor.md). */
export const HIDDEN_BY_COLUMN_SECURITY = 'Hidden by column security';
const HIDDEN_BY_COLUMN_SECURITY_OR_EMPTY = `(no payload: ${HIDDEN_BY_COLUMN_SECURITY.toLowerCase()}, or none stored)`;
const PAYLOAD_NOT_SHOWN =
  'No payload to show: your column security profile may not read payloads (Outbox Reader does not; Outbox Operator does), or the row has none.';

const m = OutboxMessage;
const c = OutboxMessage.columns;
/** Dataverse's largest page: the 24-hour series reads at most this many rows per series and says so when capped. */
export const seriesRowCap = 5000;

async function settle<T>(work: () => Promise<T>, what: string): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: `${what}: ${describeError(error)}` };
  }
}

function firstDate(entities: readonly WebApiEntity[], column: string): Date | null {
  const first = entities[0];
  if (!first) return null;
  const date = readDate(first[column]);
  if (date === null) throw new Error(`${column} is not a date (${JSON.stringify(first[column])})`);
  return date ?? null;
}

function datesOf(entities: readonly WebApiEntity[], column: string): Date[] {
  return entities.map((e) => readDate(e[column])).filter((d): d is Date => d instanceof Date);
}

async function readThresholds(webApi: WebApiPort): Promise<{ thresholds: HealthThresholds; problem?: string }> {
  const schemaName = Settings.HealthThresholds.schemaName;
  try {
    const result = await webApi.retrieveMultipleRecords(
      'environmentvariabledefinition',
      `?$select=schemaname,defaultvalue&$filter=schemaname eq '${schemaName}'` +
        `&$expand=environmentvariabledefinition_environmentvariablevalue($select=value)`,
    );
    const definition = result.entities[0];
    if (!definition) return { ...thresholdsFromSetting(undefined), problem: `${schemaName} is not defined in this environment; using the defaults` };
    const values = definition['environmentvariabledefinition_environmentvariablevalue'];
    const current = Array.isArray(values) ? (values[0] as WebApiEntity | undefined)?.['value'] : undefined;
    const json = typeof current === 'string' && current.trim() !== '' ? current : definition['defaultvalue'];
    return thresholdsFromSetting(typeof json === 'string' ? json : undefined);
  } catch (error) {
    return { ...thresholdsFromSetting(undefined), problem: `Could not read ${schemaName} (${describeError(error)}); using the defaults` };
  }
}

/**
 * The statuses health judges, one bounded read each (the contract's healthCountLimits for these thresholds): the cost
 * is the same at ten thousand and ten million rows. A status whose page is full is a lower bound, listed in `capped`.
 * Finished rows (Published, Acked, Cancelled) are not counted: that would read the whole history on every load.
 */
async function loadStatusCounts(webApi: WebApiPort, thresholds: HealthThresholds): Promise<StatusCounts> {
  const limits = healthCountLimits(thresholds);
  const parts = await Promise.all(
    healthCountedStatuses.map(async (name) => {
      const limit = limits[name];
      const { entities } = await webApi.retrieveMultipleRecords(m.logicalName, statusCountQuery(OutboxStatus[name], limit), limit);
      return { name, count: Math.min(entities.length, limit), capped: entities.length >= limit };
    }),
  );
  return combineStatusCounts(parts);
}

export async function loadHealth(webApi: WebApiPort, now: Date): Promise<HealthReport> {
  const since = new Date(now.getTime() - seriesHours * 3_600_000).toISOString();
  const thresholdsRead = readThresholds(webApi);
  const [counts, oldestPending, lastPublish, series, thresholds] = await Promise.all([
    // The count limits follow the thresholds (one row past each), so a capped count is still judged.
    settle(async () => loadStatusCounts(webApi, (await thresholdsRead).thresholds), 'Status counts unavailable'),
    settle(async () => {
      // The FIFO head in (obx_status, obx_sequence) order: one indexed row, not a sort of every Pending row.
      const result = await webApi.retrieveMultipleRecords(
        m.logicalName,
        // Scheduled events before their time are not late work (contract notScheduledFilter).
        `?$select=${c.createdOn}&$filter=${c.status} eq ${OutboxStatus.Pending} and ${notScheduledFilter(now)}&$orderby=${c.sequence} asc&$top=1`,
      );
      return firstDate(result.entities, c.createdOn);
    }, 'Oldest pending row unavailable'),
    settle(async () => {
      const result = await webApi.retrieveMultipleRecords(
        m.logicalName,
        `?$select=${c.publishedOn}&$filter=${c.publishedOn} ne null&$orderby=${c.publishedOn} desc&$top=1`,
      );
      return firstDate(result.entities, c.publishedOn);
    }, 'Last publish time unavailable'),
    settle(async () => {
      const [published, failed] = await Promise.all([
        webApi.retrieveMultipleRecords(m.logicalName, `?$select=${c.publishedOn}&$filter=${c.publishedOn} ge ${since}`, seriesRowCap),
        webApi.retrieveMultipleRecords(
          m.logicalName,
          `?$select=${c.modifiedOn}&$filter=${c.status} eq ${OutboxStatus.Failed} and ${c.modifiedOn} ge ${since}`,
          seriesRowCap,
        ),
      ]);
      return {
        buckets: bucketLast24Hours(datesOf(published.entities, c.publishedOn), datesOf(failed.entities, c.modifiedOn), now),
        capped: Boolean(published.nextLink || failed.nextLink),
      };
    }, 'Last 24 hours unavailable'),
    thresholdsRead,
  ]);
  return {
    generatedAt: now,
    counts,
    oldestPending,
    lastPublish,
    series,
    thresholds: thresholds.thresholds,
    ...(thresholds.problem ? { thresholdsProblem: thresholds.problem } : {}),
  };
}

/** The columns of the row's timeline, by TimelineCells field. */
const timelineColumns: Readonly<Record<keyof TimelineCells, string>> = {
  status: c.status,
  createdOn: c.createdOn,
  nextAttemptOn: c.nextAttemptOn,
  attempts: c.attempts,
  lastError: c.lastError,
  publishedOn: c.publishedOn,
  ackedOn: c.ackedOn,
  modifiedOn: c.modifiedOn,
  traceContext: c.traceContext,
};

export async function loadDetails(webApi: WebApiPort, id: string): Promise<RowDetails> {
  // The timeline's columns include status and last error. (No spread or destructuring here: Babel would inline helpers.)
  const columns = Object.values(timelineColumns).concat(c.name, c.messageId, c.contentType, c.payload);
  const row = await webApi.retrieveRecord(m.logicalName, id, `?$select=${columns.join(',')}`);
  const str = (column: string): string | undefined => {
    const value = row[column];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  // Every row has a status (the publisher and the producers always set it): none means Dataverse hid the secured columns.
  const hiddenByColumnSecurity = row[c.status] === null || row[c.status] === undefined;
  const timeline = {} as Record<keyof TimelineCells, unknown>;
  (Object.keys(timelineColumns) as (keyof TimelineCells)[]).forEach((field) => (timeline[field] = row[timelineColumns[field]]));
  return { id, name: str(c.name), messageId: str(c.messageId), contentType: str(c.contentType), payload: str(c.payload), lastError: str(c.lastError), hiddenByColumnSecurity, timeline };
}

export type PayloadView = { text: string; note?: string };

/** Pretty-prints JSON payloads; anything else is shown exactly as stored. Always plain text: never parsed as HTML. */
export function formatPayload(payload: string | undefined, contentType: string | undefined): PayloadView {
  // Dataverse returns a secured column the reader may not read as null: the Outbox Reader profile does not read payloads.
  if (payload === undefined) return { text: HIDDEN_BY_COLUMN_SECURITY_OR_EMPTY, note: PAYLOAD_NOT_SHOWN };
  const isJson = contentType === undefined || /json/i.test(contentType);
  if (!isJson) return { text: payload, note: `Content type ${contentType}: shown as stored.` };
  try {
    return { text: JSON.stringify(JSON.parse(payload), null, 2) };
  } catch {
    return { text: payload, note: 'The payload is not valid JSON: shown as stored.' };
  }
}
