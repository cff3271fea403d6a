/**
 * bench/resident-memory.ts: a benchmark child's peak resident memory is its own, not its parent's. The
 * parent here holds 256 MiB of touched memory when it starts the child; the kernel's maxRSS would
 * have the child at least that large.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PARENT_MIB = 256;

describe.runIf(process.platform === 'linux')('peakResidentBytes', () => {
  it("reads a child's own peak, below the size of the larger parent that started it", () => {
    const child = [
      `import { peakResidentBytes } from ${JSON.stringify(join(ROOT, 'bench', 'resident-memory.ts'))};`,
      'console.log(JSON.stringify({ peak: peakResidentBytes(), maxRss: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage.rss() }));',
    ].join('\n');
    const parent = [
      "const { spawnSync } = require('node:child_process');",
      `const held = Buffer.alloc(${PARENT_MIB} * 1024 * 1024, 1);`,
      `const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ${JSON.stringify(child)}], { encoding: 'utf8', cwd: ${JSON.stringify(ROOT)} });`,
      'process.stdout.write(run.stdout);',
      'process.stderr.write(run.stderr);',
      'process.exitCode = run.status ?? 1;',
      'if (held.length === 0) process.exit(1);',
    ].join('\n');
    const result = spawnSync(process.execPath, ['-e', parent], { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
    expect(result.status, `${result.error?.message ?? ''}${result.stderr}`).toBe(0);
    const figures = JSON.parse(result.stdout.trim()) as { peak: number; maxRss: number; rss: number };
    const parentBytes = PARENT_MIB * 1024 * 1024;
    // The flaw this module avoids, shown on the same child: Linux's maxRSS carries the parent's
    // size across fork and exec (a kernel that did not would fail this control, not the module).
    expect(figures.maxRss).toBeGreaterThan(parentBytes);
    expect(figures.peak).toBeLessThan(parentBytes);
    expect(figures.peak).toBeGreaterThanOrEqual(figures.rss * 0.9);
  });
});
