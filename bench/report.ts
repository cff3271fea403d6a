/**
 * The one shape every benchmark reports in: a figure beside its reference from the same run,
 * as a ratio, since shared machines drift in absolute speed.
 */
export interface BenchRow {
  /** What was measured, e.g. "native batch, 170 B". */
  label: string;
  value: number;
  unit: string;
  /** The reference measured in the same run, e.g. per-item node:crypto. */
  reference?: { label: string; value: number };
  /** Target for value/reference (or for value alone when there is no reference). */
  target?: { min?: number; max?: number; of: 'ratio' | 'value' };
  note?: string;
}

export interface BenchReport {
  name: string;
  rows: BenchRow[];
  notes?: string[];
}

export interface BenchOptions {
  /** CI's quick mode: a minute or two for every suite together. */
  quick: boolean;
}

export type BenchSuite = (options: BenchOptions) => Promise<BenchReport>;

export function ratioOf(row: BenchRow): number | undefined {
  return row.reference && row.reference.value !== 0 ? row.value / row.reference.value : undefined;
}

export function meetsTarget(row: BenchRow): boolean | undefined {
  if (!row.target) return undefined;
  const measured = row.target.of === 'ratio' ? ratioOf(row) : row.value;
  if (measured === undefined) return undefined;
  if (row.target.min !== undefined && measured < row.target.min) return false;
  if (row.target.max !== undefined && measured > row.target.max) return false;
  return true;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6) return value.toExponential(3);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

export function formatReport(report: BenchReport): string {
  const header = ['measure', 'value', 'reference', 'ratio', 'target', ''];
  const lines = report.rows.map((row) => {
    const ratio = ratioOf(row);
    const ok = meetsTarget(row);
    const target = row.target
      ? `${row.target.min !== undefined ? `>=${row.target.min}` : ''}${row.target.max !== undefined ? `<=${row.target.max}` : ''}${row.target.of === 'ratio' ? 'x' : ''}`
      : '';
    return [
      row.label,
      `${fmt(row.value)} ${row.unit}`,
      row.reference ? `${fmt(row.reference.value)} ${row.unit} (${row.reference.label})` : '',
      ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
      target,
      ok === undefined ? '' : ok ? 'ok' : 'SLOW',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ') + ' |';
  const out = [`## ${report.name}`, row(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(row)];
  for (const row of report.rows) if (row.note) out.push(`- ${row.label}: ${row.note}`);
  for (const note of report.notes ?? []) out.push(`- ${note}`);
  return out.join('\n');
}
