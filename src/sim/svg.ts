/**
 * A hand-written SVG line chart of replication over time: for each sample, the fraction of honest
 * nodes holding each chunk, as its minimum, median and maximum over chunks (the min-max range
 * shaded). No plotting dependency: the figure is a few paths and text elements.
 */
import type { ReplicationSample } from './replication.js';

export interface ReplicationPlotOptions {
  title?: string;
  /** A second line under the title (e.g. nodes, chunks, seed). */
  subtitle?: string;
  width?: number;
  height?: number;
}

const MARGIN = { top: 58, right: 24, bottom: 52, left: 64 };
const COLORS = { band: '#9ecae1', min: '#3182bd', median: '#08519c', max: '#6baed6', axis: '#444', grid: '#e5e5e5' } as const;

/** The plot as an SVG document (a string). Samples must be in time order. */
export function replicationSvg(samples: readonly ReplicationSample[], options: ReplicationPlotOptions = {}): string {
  const width = options.width ?? 720;
  const height = options.height ?? 360;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const t0 = samples[0]?.time ?? 0;
  const t1 = Math.max(samples[samples.length - 1]?.time ?? 1, t0 + 1);
  const seconds = (t: number) => (t - t0) / 1000;
  const span = seconds(t1);
  const ticks = niceTicks(span, 6);
  const xMax = Math.max(span, ticks[ticks.length - 1] ?? span);
  const step = (ticks[1] ?? 1) - (ticks[0] ?? 0);
  const decimals = Math.max(0, Math.min(3, -Math.floor(Math.log10(step) + 1e-9)));
  const x = (t: number) => MARGIN.left + (seconds(t) / xMax) * plotW;
  const y = (fraction: number) => MARGIN.top + (1 - fraction) * plotH;
  const fmt = (v: number) => v.toFixed(1);

  const line = (pick: (s: ReplicationSample) => number) =>
    samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${fmt(x(s.time))},${fmt(y(pick(s)))}`).join('');
  const band =
    samples.length === 0
      ? ''
      : samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${fmt(x(s.time))},${fmt(y(s.max))}`).join('') +
        [...samples].reverse().map((s) => `L${fmt(x(s.time))},${fmt(y(s.min))}`).join('') +
        'Z';

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(options.title ?? 'Replication over time')}</text>`);
  if (options.subtitle) parts.push(`<text x="${MARGIN.left}" y="40" fill="#555">${escapeXml(options.subtitle)}</text>`);
  // Grid and axes.
  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const py = fmt(y(fraction));
    parts.push(`<line x1="${MARGIN.left}" y1="${py}" x2="${MARGIN.left + plotW}" y2="${py}" stroke="${COLORS.grid}"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${Math.round(fraction * 100)}%</text>`);
  }
  for (const tick of ticks) {
    const px = fmt(MARGIN.left + (tick / xMax) * plotW);
    parts.push(`<line x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${MARGIN.top + plotH}" stroke="${COLORS.grid}"/>`);
    parts.push(`<text x="${px}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${tick.toFixed(decimals)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="${COLORS.axis}"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle">virtual time since the first sample (s)</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">nodes holding a chunk</text>`);
  // Data.
  if (samples.length > 0) {
    parts.push(`<path d="${band}" fill="${COLORS.band}" fill-opacity="0.35" stroke="none"/>`);
    parts.push(`<path d="${line((s) => s.min)}" fill="none" stroke="${COLORS.min}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    parts.push(`<path d="${line((s) => s.max)}" fill="none" stroke="${COLORS.max}" stroke-width="1.5" stroke-dasharray="1 2"/>`);
    parts.push(`<path d="${line((s) => s.median)}" fill="none" stroke="${COLORS.median}" stroke-width="2.2"/>`);
  } else {
    parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="#888">no samples</text>`);
  }
  // Legend.
  const legend: [string, string, string][] = [
    ['max', COLORS.max, '1 2'],
    ['median', COLORS.median, ''],
    ['min', COLORS.min, '4 3'],
  ];
  legend.forEach(([label, color, dash], i) => {
    const lx = MARGIN.left + plotW - 210 + i * 72;
    const ly = MARGIN.top + plotH - 14;
    parts.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    parts.push(`<text x="${lx + 27}" y="${ly}" dominant-baseline="middle">${label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** About `count` round tick values from 0 to at least `max` (steps of 1, 2 or 5 x 10^k). */
export function niceTicks(max: number, count: number): number[] {
  if (!(max > 0)) return [0];
  const raw = max / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power) as number;
  const ticks: number[] = [];
  for (let i = 0; i * step < max + step && ticks.length < 100; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}
