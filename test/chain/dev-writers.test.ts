/**
 * Several processes announcing on one dev chain file at once (`atlas announce` run in parallel):
 * each append reads the file's end and writes the next positions, so without one writer at a
 * time two wrote the same positions, and every process refused the file from then on.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DevChain } from '../../src/chain/dev.js';
import { writeLockPath } from '../../src/chain/write-lock.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-dev-writers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writer(path: string, goFile: string, prefix: string, count: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'dev-writer-process.ts'), path, goFile, prefix, String(count)], { timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('DevChain with writers in several processes', () => {
  it('gives every announcement a position of its own, in one file every process can open again', async () => {
    const path = join(root, 'chain.jsonl');
    const goFile = join(root, 'go');
    const count = 40;
    const writers = ['a', 'b', 'c'].map((prefix) => writer(path, goFile, prefix, count));
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // each has opened the chain (or will, before the go file is old)
    writeFileSync(goFile, '');
    expect(await Promise.all(writers)).toEqual(['done\n', 'done\n', 'done\n']);
    const lines = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { position: number; address: string });
    expect(lines.map((l) => l.position)).toEqual(Array.from({ length: 3 * count }, (_, i) => i));
    expect(new Set(lines.map((l) => l.address)).size).toBe(3 * count);
    const reopened = await DevChain.open(path);
    expect(await reopened.length()).toBe(3 * count);
    await reopened.close();
    expect(existsSync(writeLockPath(path))).toBe(false);
  });
});
