/**
 * A benchmark process's peak resident memory: Linux's VmHWM (/proc/self/status), the high-water
 * mark of this process's own memory since it started. Not `process.resourceUsage().maxRSS`:
 * Linux carries that figure across fork and exec, so a child of a larger process (the
 * benchmark runner) reads its parent's size at the fork until it grows past it. Where /proc is
 * not there, maxRSS, with that flaw.
 */
import { readFileSync } from 'node:fs';

export function peakResidentBytes(): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // No /proc: the kernel's own figure below.
  }
  return process.resourceUsage().maxRSS * 1024;
}
