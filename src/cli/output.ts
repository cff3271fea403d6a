/** Plain-text tables and number formats for the CLI's human output; `--json` bypasses them. */
import { replaceControlCharacters } from '../errors.js';

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

/**
 * A table with one header line, a rule, and the rows; cells are padded to the widest. A cell is
 * one line (`inlineText`): a remote field holding a line end cannot add a row of its own.
 */
export function formatTable(columns: readonly Column[], givenRows: readonly (readonly string[])[]): string {
  const rows = givenRows.map((row) => row.map(inlineText));
  const widths = columns.map((column, i) => Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${value.toFixed(2)}x`;
}

/** JSON.stringify's output with DEL and the C1 controls escaped too (it escapes only U+0000-U+001F): still valid JSON, never obeyed by a terminal. */
export function terminalSafeJson(json: string): string {
  return json.replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function writeJson(value: unknown, write: (text: string) => void = (t) => process.stdout.write(t)): void {
  write(terminalSafeJson(JSON.stringify(value, null, 2)) + '\n');
}

/** `text` safe to show on a terminal: its control characters (but tab and line ends) replaced by '?'. */
export function printable(text: string): string {
  return replaceControlCharacters(text, '\t\n\r');
}

/** `text` as one line safe to show: every control character, line ends and tabs included, replaced by '?' (a remote field inside a line). */
export function inlineText(text: string): string {
  return replaceControlCharacters(text);
}

/** A field of a remote reply as text: a string as it is, anything else as its JSON (cut to 200 characters), never "[object Object]". */
export function remoteText(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 200 ? `${json.slice(0, 200)}…` : json;
}

/** One line of human output; whatever a remote node put in it is shown, never obeyed, by the terminal. */
export function writeLine(text: string, write: (text: string) => void = (t) => process.stdout.write(t)): void {
  write(printable(text) + '\n');
}
