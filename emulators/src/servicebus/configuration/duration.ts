// ISO-8601 durations as used by Microsoft's Service Bus emulator Config.json ("PT1M", "PT20S", "P14D", "PT0.5S").
// Years and months are refused: they have no fixed length, and Service Bus stores TimeSpans.
const isoDuration =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Parses an ISO-8601 duration into milliseconds; returns undefined when the text is not one. */
export function parseIsoDurationInMs(text: string): number | undefined {
  const match = isoDuration.exec(text.trim());
  if (!match || text.trim() === 'P' || text.trim().endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match;
  const part = (value: string | undefined, unitMs: number): number => (value ? Number(value) * unitMs : 0);
  return Math.round(
    part(weeks, 604_800_000) + part(days, 86_400_000) + part(hours, 3_600_000) + part(minutes, 60_000) + part(seconds, 1000),
  );
}

/** Formats milliseconds as an ISO-8601 duration (seconds may be fractional). */
export function formatIsoDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Duration must be a finite, non-negative number of ms (got ${ms}).`);
  const days = Math.floor(ms / 86_400_000);
  const rest = ms - days * 86_400_000;
  const seconds = rest / 1000;
  const time = seconds > 0 ? `T${Number(seconds.toFixed(3))}S` : '';
  if (days === 0 && time === '') return 'PT0S';
  return `P${days > 0 ? `${days}D` : ''}${time}`;
}
