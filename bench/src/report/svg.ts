// A small SVG chart writer (line and grouped bar charts) for docs/benchmarks.md: no browser, no dependencies,
// deterministic output (same data -> same bytes) so regenerated plots only change when the figures do.

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Draw markers at the points (default true when a series has at most 20 points). */
  markers?: boolean;
  dashed?: boolean;
}

export interface Axis {
  label: string;
  log?: boolean;
  min?: number;
  max?: number;
  /** Formats tick labels. */
  format?: (v: number) => string;
}

export interface LineChartSpec {
  title: string;
  x: Axis;
  y: Axis;
  series: readonly Series[];
  width?: number;
  height?: number;
}

export interface BarChartSpec {
  title: string;
  categories: readonly string[];
  /** One value per category for each series; NaN or null = no bar. */
  series: readonly { name: string; values: readonly (number | null)[] }[];
  y: Axis;
  width?: number;
  height?: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'] as const;

const MARGIN = { top: 62, right: 20, bottom: 56, left: 72 };

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Numbers in SVG attributes: at most 2 decimals, no exponent, no "-0". */
function n(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

export function defaultFormat(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

function trim(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}

/** Round tick values covering [min, max] (about `count` of them), the last one at or above max. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max === min) return [min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  const ticks: number[] = [];
  const last = Math.ceil(max / step - 1e-9) * step;
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= last + step * 1e-9; v += step) ticks.push(Number((Math.round(v / step) * step).toPrecision(12)) + 0);
  return ticks;
}

/** Powers of ten covering [min, max] (min > 0). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) ticks.push(10 ** e);
  return ticks;
}

interface Scale {
  map(v: number): number;
  ticks: number[];
}

function scale(values: number[], axis: Axis, from: number, to: number): Scale {
  const finite = values.filter((v) => Number.isFinite(v) && (!axis.log || v > 0));
  let min = axis.min ?? (finite.length ? Math.min(...finite) : 0);
  let max = axis.max ?? (finite.length ? Math.max(...finite) : 1);
  if (axis.log) {
    if (!(min > 0)) min = 1;
    if (!(max > min)) max = min * 10;
    const ticks = logTicks(min, max);
    const lo = Math.log10(Math.min(min, ticks[0]!));
    const hi = Math.log10(Math.max(max, ticks[ticks.length - 1]!));
    return { ticks, map: (v) => from + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo || 1)) * (to - from) };
  }
  if (axis.min === undefined && min > 0) min = 0;
  if (max === min) max = min + 1;
  const ticks = niceTicks(min, max);
  const lo = Math.min(min, ticks[0] ?? min);
  const hi = Math.max(max, ticks[ticks.length - 1] ?? max);
  return { ticks, map: (v) => from + ((v - lo) / (hi - lo || 1)) * (to - from) };
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Segoe UI, Helvetica, Arial, sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${n(width / 2)}" y="22" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function axes(width: number, height: number, x: { label: string; ticks: { at: number; text: string }[] }, y: { label: string; ticks: { at: number; text: string }[] }): string[] {
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const out: string[] = [];
  for (const t of y.ticks) {
    out.push(`<line x1="${n(left)}" y1="${n(t.at)}" x2="${n(right)}" y2="${n(t.at)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${n(left - 6)}" y="${n(t.at + 4)}" text-anchor="end">${escapeXml(t.text)}</text>`);
  }
  for (const t of x.ticks) {
    out.push(`<line x1="${n(t.at)}" y1="${n(bottom)}" x2="${n(t.at)}" y2="${n(bottom + 5)}" stroke="#333"/>`);
    out.push(`<text x="${n(t.at)}" y="${n(bottom + 18)}" text-anchor="middle">${escapeXml(t.text)}</text>`);
  }
  out.push(`<line x1="${n(left)}" y1="${n(bottom)}" x2="${n(right)}" y2="${n(bottom)}" stroke="#333"/>`);
  out.push(`<line x1="${n(left)}" y1="${n(top)}" x2="${n(left)}" y2="${n(bottom)}" stroke="#333"/>`);
  out.push(`<text x="${n((left + right) / 2)}" y="${n(height - 14)}" text-anchor="middle">${escapeXml(x.label)}</text>`);
  out.push(`<text transform="translate(16 ${n((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">${escapeXml(y.label)}</text>`);
  return out;
}

/** One row of legend entries under the title, left to right (wrapping when the row is full). */
function legend(width: number, names: readonly string[], dashed: readonly boolean[] = []): string[] {
  const out: string[] = [];
  let x = MARGIN.left;
  let y = 42;
  names.forEach((name, i) => {
    const w = 34 + name.length * 6.5;
    if (x + w > width - MARGIN.right && x > MARGIN.left) {
      x = MARGIN.left;
      y += 14;
    }
    const color = PALETTE[i % PALETTE.length];
    out.push(`<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 20)}" y2="${n(y)}" stroke="${color}" stroke-width="3"${dashed[i] ? ' stroke-dasharray="6 3"' : ''}/>`);
    out.push(`<text x="${n(x + 25)}" y="${n(y + 4)}">${escapeXml(name)}</text>`);
    x += w;
  });
  return out;
}

export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 400;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) => s.points.map((p) => p[1]));
  const sx = scale(xs, spec.x, MARGIN.left, width - MARGIN.right);
  const sy = scale(ys, spec.y, height - MARGIN.bottom, MARGIN.top);
  const fx = spec.x.format ?? defaultFormat;
  const fy = spec.y.format ?? defaultFormat;
  const body = axes(
    width,
    height,
    { label: spec.x.label, ticks: sx.ticks.map((t) => ({ at: sx.map(t), text: fx(t) })) },
    { label: spec.y.label, ticks: sy.ticks.map((t) => ({ at: sy.map(t), text: fy(t) })) },
  );
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && (!spec.x.log || p[0] > 0) && (!spec.y.log || p[1] > 0));
    if (pts.length === 0) return;
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${n(sx.map(p[0]))} ${n(sy.map(p[1]))}`).join(' ');
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ''}><title>${escapeXml(s.name)}</title></path>`);
    if (s.markers ?? pts.length <= 20) {
      for (const p of pts) body.push(`<circle cx="${n(sx.map(p[0]))}" cy="${n(sy.map(p[1]))}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: ${fx(p[0])}, ${fy(p[1])}`)}</title></circle>`);
    }
  });
  body.push(...legend(width, spec.series.map((s) => s.name), spec.series.map((s) => Boolean(s.dashed))));
  return frame(width, height, spec.title, body);
}

export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? 720;
  const height = spec.height ?? 400;
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const sy = scale(values, spec.y, height - MARGIN.bottom, MARGIN.top);
  const fy = spec.y.format ?? defaultFormat;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const group = plotWidth / Math.max(1, spec.categories.length);
  const barWidth = (group * 0.8) / Math.max(1, spec.series.length);
  const body = axes(
    width,
    height,
    { label: '', ticks: spec.categories.map((c, i) => ({ at: MARGIN.left + group * (i + 0.5), text: c })) },
    { label: spec.y.label, ticks: sy.ticks.map((t) => ({ at: sy.map(t), text: fy(t) })) },
  );
  const base = sy.map(spec.y.log ? sy.ticks[0]! : 0);
  spec.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    s.values.forEach((v, c) => {
      if (v === null || !Number.isFinite(v) || (spec.y.log && v <= 0)) return;
      const x = MARGIN.left + group * c + group * 0.1 + barWidth * i;
      const y = sy.map(v);
      body.push(`<rect x="${n(x)}" y="${n(Math.min(y, base))}" width="${n(barWidth * 0.92)}" height="${n(Math.abs(base - y))}" fill="${color}"><title>${escapeXml(`${s.name}, ${spec.categories[c] ?? ''}: ${fy(v)}`)}</title></rect>`);
      body.push(`<text x="${n(x + (barWidth * 0.92) / 2)}" y="${n(Math.min(y, base) - 4)}" text-anchor="middle" font-size="11">${escapeXml(fy(v))}</text>`);
    });
  });
  body.push(...legend(width, spec.series.map((s) => s.name)));
  return frame(width, height, spec.title, body);
}
