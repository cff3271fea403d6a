/**
 * `atlas check <dir>`: a clean store passes; a flipped byte inside a chunk is found and named;
 * random pages overwritten in data.mdb are reported as damage, however LMDB takes them (a clear
 * error, a failed hash, or a crash of the scanning child), and the command itself never crashes.
 * A store whose chunks are in a log: a damaged record and a torn end are reported, and the check
 * changes no byte of the file. A store of an older format is checked after the upgrade a node's
 * open makes.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash160Hex, hashReady } from '../../src/hash/index.js';
import { randomInt, seededRandom } from '../../src/runtime.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { generateChunks } from '../../src/sim/workload.js';
import { runAtlas } from '../cli/helpers.js';
import { downgrade } from '../store/old-format.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-check-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const chunks = Array.from({ length: 300 }, (_, i) => Buffer.from(`check chunk ${i} ${'0123456789'.repeat(20 + (i % 50))} ${i}`));
let clean: Buffer;

beforeAll(async () => {
  await hashReady();
  const path = join(root, 'clean');
  const store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' });
  await store.append(chunks.map((chunk, position) => ({ position, address: hash160Hex(chunk) })));
  await store.putMany(chunks);
  await store.close();
  clean = readFileSync(join(path, 'data.mdb'));
});

/** A node folder (check finds store/ in it) whose store's data.mdb is `data`. */
function storeWith(name: string, data: Buffer): string {
  const path = join(root, name);
  mkdirSync(join(path, 'store'), { recursive: true });
  writeFileSync(join(path, 'store', 'data.mdb'), data);
  return path;
}

describe('atlas check', () => {
  it('passes a clean store and finds a flipped byte inside a chunk, naming it', async () => {
    const ok = await runAtlas(['check', join(root, 'clean'), '--json']);
    expect(ok.code).toBe(0);
    const good = JSON.parse(ok.stdout) as { ok: boolean; report: { chunks: number; corrupt: number; held: number } };
    expect(good.ok).toBe(true);
    expect(good.report).toMatchObject({ chunks: 300, corrupt: 0, held: 300 });

    const target = chunks[123] as Buffer;
    const flipped = Buffer.from(clean);
    const at = flipped.indexOf(target);
    expect(at).toBeGreaterThan(0);
    flipped[at + 30] = (flipped[at + 30] as number) ^ 0x20;
    const bad = await runAtlas(['check', storeWith('flipped', flipped)]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('DAMAGED');
    expect(bad.stdout).toContain(`chunk ${hash160Hex(target)} (position 123)`);
    expect(bad.stdout).toMatch(/corrupt chunks 1;/);
  }, 60_000);

  it('reports pages of garbage as damage, never crashing itself', async () => {
    const random = seededRandom(12);
    const pageSize = 4096;
    const pages = Math.floor(clean.length / pageSize);
    for (let trial = 0; trial < 4; trial++) {
      const damaged = Buffer.from(clean);
      for (let i = 0; i < 20; i++) {
        const page = 2 + randomInt(random, pages - 2);
        for (let b = 0; b < pageSize; b++) damaged[page * pageSize + b] = randomInt(random, 256);
      }
      const result = await runAtlas(['check', storeWith(`pages-${trial}`, damaged), '--json']);
      expect(result.signal).toBeNull();
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout) as { ok: boolean; crashed?: string; error?: unknown; report?: unknown };
      expect(report.ok).toBe(false);
      expect(report.crashed !== undefined || report.error !== undefined || report.report !== undefined).toBe(true);
    }
  }, 120_000);

  it('reports a chunk log record that fails its hash and a torn end, changing nothing in the file', async () => {
    const path = join(root, 'log');
    const store = await LmdbChunkStore.open({ path: join(path, 'store'), chunkStorage: 'log' });
    await store.append(chunks.map((chunk, position) => ({ position, address: hash160Hex(chunk) })));
    await store.putMany(chunks);
    await store.close();
    const ok = await runAtlas(['check', path, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, report: { chunks: 300, corrupt: 0, chunkLog: { records: 300, damaged: 0, cutBytes: 0 } } });

    const file = join(path, 'store', 'chunks.log');
    const bytes = readFileSync(file);
    const at = bytes.indexOf(chunks[77] as Buffer);
    bytes.writeUInt8(bytes.readUInt8(at + 9) ^ 0x08, at + 9);
    const damaged = Buffer.concat([bytes, Buffer.from([200, 0, 0, 0, 1, 2, 3])]);
    writeFileSync(file, damaged);
    const bad = await runAtlas(['check', path]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('DAMAGED');
    expect(bad.stdout).toMatch(/corrupt chunks 1;/);
    expect(bad.stdout).toContain('chunk log: 1 record(s) whose bytes do not hash to their address');
    expect(bad.stdout).toContain('chunk log: 7 byte(s) at its end are not a whole record');
    expect(bad.stdout).toMatch(/chunk log: 299 intact records, 1 damaged, 7 B unreadable at its end/);
    expect(readFileSync(file).equals(damaged)).toBe(true);
  }, 60_000);

  it('checks a store an older atlasnet wrote (one sequence entry a position), upgrading it as a node opening it would', async () => {
    const path = join(root, 'older');
    const store = await LmdbChunkStore.open({ path: join(path, 'store'), chunkStorage: 'log' });
    await store.append(chunks.map((chunk, position) => ({ position, address: hash160Hex(chunk) })));
    await store.putMany(chunks.slice(0, 200));
    await store.close();
    await downgrade(join(path, 'store'), 'log');
    const ok = await runAtlas(['check', path, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, report: { chunks: 200, corrupt: 0, held: 200 } });
    const env = openLmdb({ path: join(path, 'store'), maxDbs: 8 });
    expect(env.openDB('meta', { encoding: 'msgpack' }).get('format')).toEqual({ magic: 'atlasnet-store', version: 4, chunks: 'log' });
    await env.close();
  }, 60_000);
});
