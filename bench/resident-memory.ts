/**
 * A benchmark process's resident memory as Linux counts it in /proc/self/status. Where /proc is
 * not there, the peak falls back to maxRSS (with the flaw below) and the split is empty.
 */
import { readFileSync } from 'node:fs';

/**
 * The process's peak resident memory: VmHWM, the high-water mark of this process's own memory
 * since it started. Not `process.resourceUsage().maxRSS`: Linux carries that figure across fork
 * and exec, so a child of a larger process (the benchmark runner) reads its parent's size at the
 * fork until it grows past it.
 */
export function peakResidentBytes(): number {
  return statusBytes(['VmHWM'])?.[0] ?? process.resourceUsage().maxRSS * 1024;
}

/**
 * The resident memory now, split: anonymous (the process's own heap, V8's and native) and
 * file-backed (mostly LMDB's memory-mapped pages: clean page cache the kernel drops under
 * pressure).
 */
export function residentSplit(): { rssAnonBytes?: number; rssFileBytes?: number } {
  const [anon, file] = statusBytes(['RssAnon', 'RssFile']) ?? [];
  return anon !== undefined && file !== undefined ? { rssAnonBytes: anon, rssFileBytes: file } : {};
}

/** The named kB fields of /proc/self/status in bytes; undefined without /proc or when one is missing. */
function statusBytes(fields: readonly string[]): number[] | undefined {
  let status: string;
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const bytes = fields.map((field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024);
  return bytes.every(Number.isFinite) ? bytes : undefined;
}
