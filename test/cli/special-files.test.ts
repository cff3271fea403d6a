/**
 * Paths that are no regular file, given where the CLI reads a file whole: a device would be read
 * without end (`--data /dev/zero` took 20 GB before the kernel killed it), a pipe would hold the
 * read. Each is one line and a non-zero exit, before anything is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorLines, runAtlas } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'atlas-cli-special-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('atlas with a path that is no regular file', () => {
  const pipe = join(dir, 'a-pipe');
  execFileSync('mkfifo', [pipe]);
  const chunk = join(dir, 'chunk.txt');
  writeFileSync(chunk, 'a chunk\n');

  it.each([
    ['demo --data /dev/zero', ['demo', '--data', '/dev/zero'], /\/dev\/zero: not a regular file/],
    ['demo --data <pipe>', ['demo', '--data', pipe], /a-pipe: not a regular file/],
    ['node -c /dev/zero', ['node', '-d', join(dir, 'node'), '-c', '/dev/zero'], /chain file \/dev\/zero: .*not a regular file/],
    ['announce -c <pipe>', ['announce', chunk, '-c', pipe], /a-pipe: .*not a regular file/],
  ])('%s', async (_name, args, pattern) => {
    const result = await runAtlas(args, { timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(1);
    const errors = errorLines(result.stderr);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^atlas: /);
    expect(errors[0]).toMatch(pattern);
  });
});
