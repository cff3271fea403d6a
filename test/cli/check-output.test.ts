/**
 * `atlas check` reports like every atlas command: the report is its output on stdout, and a
 * failure is one line on stderr (`atlas: ...`) with exit code 1; a store that cannot be checked
 * prints nothing on stdout. Damage in the chunk log names the file, chunks.log.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash160Hex, hashReady } from '../../src/hash/index.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { errorLines, runAtlas } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'atlas-check-output-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const chunks = Array.from({ length: 40 }, (_, i) => Buffer.from(`check output chunk ${i} ${'abcdefghij'.repeat(10 + i)} ${i}`));

/** A node folder whose store keeps its chunks in a log. */
async function logStore(name: string): Promise<string> {
  const path = join(root, name);
  const store = await LmdbChunkStore.open({ path: join(path, 'store'), chunkStorage: 'log' });
  await store.append(chunks.map((chunk, position) => ({ position, address: hash160Hex(chunk) })));
  await store.putMany(chunks);
  await store.close();
  return path;
}

/** Flips a bit inside chunk 7's bytes in the log: that record no longer hashes to its address. */
function damageLog(path: string): string {
  const file = join(path, 'store', 'chunks.log');
  const bytes = readFileSync(file);
  const at = bytes.indexOf(chunks[7] as Buffer);
  expect(at).toBeGreaterThan(0);
  bytes.writeUInt8(bytes.readUInt8(at + 5) ^ 0x04, at + 5);
  writeFileSync(file, bytes);
  return file;
}

beforeAll(async () => {
  await hashReady();
});

describe('atlas check output', () => {
  it('passes a sound store with nothing on stderr', async () => {
    const path = await logStore('sound');
    const result = await runAtlas(['check', path]);
    expect(result.code, result.stderr).toBe(0);
    expect(errorLines(result.stderr)).toEqual([]);
    expect(result.stdout).toContain(': OK');
    expect(result.stdout).toContain(join(path, 'store', 'chunks.log'));
  });

  it('reports a damaged chunk log as one line on stderr naming the file, exit 1; the report stays on stdout', async () => {
    const path = await logStore('damaged');
    const file = damageLog(path);
    // One after the other: a check holds the store's lock, as a node would.
    const human = await runAtlas(['check', path]);
    const json = await runAtlas(['check', path, '--json']);
    for (const result of [human, json]) {
      expect(result.code, result.stderr).toBe(1);
      const errors = errorLines(result.stderr);
      expect(errors, result.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(/^atlas: .*DAMAGED/);
      expect(errors[0]).toContain(`chunk log ${file} is damaged: 1 record(s) fail their hash`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
    expect(human.stdout).toContain('DAMAGED');
    expect(human.stdout).toMatch(new RegExp(`chunk log: 39 intact records, 1 damaged, 0 B unreadable at its end \\(${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, chunkLogFile: file, report: { chunkLog: { damaged: 1 } } });
  });

  it('a store that cannot be checked is a failure on stderr, nothing on stdout', async () => {
    const path = join(root, 'unreadable');
    mkdirSync(join(path, 'store'), { recursive: true });
    writeFileSync(join(path, 'store', 'data.mdb'), Buffer.alloc(64 * 1024, 0x5a));
    const result = await runAtlas(['check', path]);
    expect(result.signal).toBeNull();
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    const errors = errorLines(result.stderr);
    expect(errors, result.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^atlas: .*store: (cannot be checked|DAMAGED): /);
  });

  it('a chunk log gone missing is reported on stderr, naming the file', async () => {
    const path = await logStore('no-log');
    rmSync(join(path, 'store', 'chunks.log'));
    const result = await runAtlas(['check', path]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toBe('');
    const errors = errorLines(result.stderr);
    expect(errors, result.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^atlas: .*cannot be checked: .*chunks\.log/);
  });
});
