import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { barChart, escapeXml, lineChart, logTicks, niceTicks } from '../src/report/svg';

const parse = (svg: string): Record<string, unknown> => new XMLParser({ ignoreAttributes: false }).parse(svg) as Record<string, unknown>;

describe('ticks', () => {
  it('niceTicks covers the range with round steps', () => {
    expect(niceTicks(0, 100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0, 754.7)).toEqual([0, 200, 400, 600, 800]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 3)).toEqual([3]);
    expect(niceTicks(Number.NaN, 1)).toEqual([]);
  });
  it('logTicks gives powers of ten around the range', () => {
    expect(logTicks(10_000, 1_000_000)).toEqual([10_000, 100_000, 1_000_000]);
    expect(logTicks(15, 900)).toEqual([10, 100, 1000]);
  });
});

describe('lineChart', () => {
  const svg = lineChart({
    title: 'cycle <ms> & "rows"',
    x: { label: 'rows', log: true },
    y: { label: 'ms' },
    series: [
      { name: 'a', points: [[10_000, 700], [100_000, 710], [1_000_000, 705]] },
      { name: 'b & c', points: [[10_000, 5], [1_000_000, Number.NaN]], dashed: true },
    ],
  });

  it('is well-formed SVG with escaped text', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain('cycle &lt;ms&gt; &amp; &quot;rows&quot;');
    expect(svg).toContain('b &amp; c');
  });

  it('draws one path per series, skipping non-finite points, and places log ticks', () => {
    const doc = parse(svg) as { svg: { path: unknown[] | unknown } };
    expect(Array.isArray(doc.svg.path) ? doc.svg.path.length : 1).toBe(2);
    expect(svg).toContain('>10k<');
    expect(svg).toContain('>1M<');
    expect(svg).not.toContain('NaN');
  });

  it('is deterministic', () => {
    expect(lineChart({ title: 't', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', points: [[1, 2], [3, 4]] }] })).toBe(
      lineChart({ title: 't', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', points: [[1, 2], [3, 4]] }] }),
    );
  });

  it('survives empty data', () => {
    const empty = lineChart({ title: 'none', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 's', points: [] }] });
    expect(XMLValidator.validate(empty)).toBe(true);
    expect(empty).not.toContain('NaN');
  });

  it('maps larger values higher (smaller y) on the plot', () => {
    const s = lineChart({ title: 't', x: { label: 'x' }, y: { label: 'y', min: 0 }, series: [{ name: 's', points: [[0, 0], [1, 100]] }] });
    const d = /<path d="M([\d.]+) ([\d.]+) L([\d.]+) ([\d.]+)"/.exec(s)!;
    expect(Number(d[4])).toBeLessThan(Number(d[2]));
    expect(Number(d[3])).toBeGreaterThan(Number(d[1]));
  });
});

describe('barChart', () => {
  it('draws a bar per finite value with its label, and no bar for null', () => {
    const svg = barChart({ title: 'b', categories: ['naive', 'batched'], series: [{ name: 'computed', values: [19.6, 645] }, { name: 'measured', values: [18, null] }], y: { label: 'msg/s', min: 0 } });
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(1 + 3);
    expect(svg).toContain('>645<');
    const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#/g)].map((m) => Number(m[1]));
    expect(Math.max(...heights)).toBeGreaterThan(10 * Math.min(...heights));
  });
});

it('escapeXml escapes the five XML characters', () => {
  expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});
