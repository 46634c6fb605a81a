// Small formatting helpers shared by the header and the grid. No locale surprises: durations are compact and English,
// like the rest of the control's strings.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** 42 s, 5 min, 2 h 5 min, 3 d 4 h. Negative durations (clock skew) read as 0 s. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < MINUTE) return `${s} s`;
  if (s < HOUR) return `${Math.floor(s / MINUTE)} min`;
  if (s < DAY) {
    const minutes = Math.floor((s % HOUR) / MINUTE);
    return minutes > 0 ? `${Math.floor(s / HOUR)} h ${minutes} min` : `${Math.floor(s / HOUR)} h`;
  }
  const hours = Math.floor((s % DAY) / HOUR);
  return hours > 0 ? `${Math.floor(s / DAY)} d ${hours} h` : `${Math.floor(s / DAY)} d`;
}

/** 2030-01-31 09:00:05 UTC: one unambiguous form, whatever the browser's locale and zone. */
export function formatUtc(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

export function secondsBetween(earlier: Date, later: Date): number {
  return (later.getTime() - earlier.getTime()) / 1000;
}

/** Shortens text for a grid cell; the full text stays available in the details panel. */
export function truncate(text: string, maxLength: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= maxLength ? oneLine : `${oneLine.slice(0, Math.max(0, maxLength - 1))}…`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Readable message from whatever a Web API call rejected with (PCF ErrorResponse, Error, string). */
export function describeError(error: unknown): string {
  if (typeof error === 'string' && error) return error;
  if (error && typeof error === 'object') {
    const { message, errorCode, code } = error as { message?: unknown; errorCode?: unknown; code?: unknown };
    const text = typeof message === 'string' && message ? message : undefined;
    const codeText = typeof errorCode === 'number' || typeof errorCode === 'string' ? String(errorCode) : typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
    if (text && codeText) return `${text} (code ${codeText})`;
    if (text) return text;
    if (codeText) return `error code ${codeText}`;
  }
  return 'unknown error';
}

/** Parses a Web API date value (ISO string, Date or epoch ms). Returns undefined for empty values, null for bad ones. */
export function readDate(raw: unknown): Date | null | undefined {
  if (raw === null || raw === undefined || raw === '') return undefined;
  const date = raw instanceof Date ? raw : typeof raw === 'string' || typeof raw === 'number' ? new Date(raw) : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}
