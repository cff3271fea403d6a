/**
 * The sequence kept in runs of 1,024 positions (store format 4): appends and cuts inside and
 * across runs, stores of formats 2 and 3 (one entry a position) rewritten at open, a rewrite cut
 * short, and damaged runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { seededRandom } from '../../src/runtime.js';
import { SEQUENCE_RUN_POSITIONS, SEQUENCE_RUNS_DB } from '../../src/store/lmdb-sequence.js';
import { LmdbChunkStore, type ChunkStorage } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';
import { addressOf, announcementsFor, chunkOf, expectCode } from './contract.js';
import { downgrade } from './old-format.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-sequence-test-'));
let counter = 0;
const freshPath = () => join(root, `store-${counter++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const random = seededRandom(41);
const randomAddress = () => Array.from({ length: 40 }, () => Math.floor(random() * 16).toString(16)).join('');

/** What a reader sees of a store's sequence: every address, digests at a few lengths, chunks. */
function reading(store: ChunkStore, chunkAddresses: readonly string[] = []) {
  const length = store.sequenceLength();
  const digestsAt = [0, 1, SEQUENCE_RUN_POSITIONS - 1, SEQUENCE_RUN_POSITIONS, SEQUENCE_RUN_POSITIONS + 1, length].filter((l) => l <= length);
  return {
    length,
    sequence: Array.from({ length }, (_, i) => store.addressAt(i)),
    digests: digestsAt.map((l) => store.sequenceDigest(l)),
    chunks: chunkAddresses.map((address) => store.has(address)),
    inventory: Array.from(store.inventory.positions()),
  };
}

async function databaseNames(path: string): Promise<string[]> {
  const env = openLmdb({ path, maxDbs: 8 });
  const names = [...env.getKeys()].map(String).sort();
  await env.close();
  return names;
}

async function storeOf(path: string, storage: ChunkStorage, addresses: readonly string[], chunks: readonly Uint8Array[]): Promise<LmdbChunkStore> {
  const store = await LmdbChunkStore.open({ path, chunkStorage: storage, noSync: true });
  await store.append(announcementsFor(addresses, 0));
  for (const data of chunks) await store.put(data);
  return store;
}

describe('the sequence in runs', () => {
  // Without sequence pages, every address is read from its run in LMDB.
  it.each([undefined, 0])('appends and cuts inside and across runs as a memory store does, the same after every reopen (sequenceCacheBytes %s)', async (sequenceCacheBytes) => {
    await hashReady();
    const path = freshPath();
    const options = sequenceCacheBytes === undefined ? {} : { sequenceCacheBytes };
    let store = await LmdbChunkStore.open({ path, chunkStorage: 'log', noSync: true, ...options });
    const model = new MemoryChunkStore();
    const R = SEQUENCE_RUN_POSITIONS;
    // Appends of 1 into a new run, up to a run's end, across one or two run ends; cuts at a run's
    // end, one past, one before, inside, to 1 and to 0.
    const steps: (['append', number] | ['cut', number])[] = [
      ['append', 1], ['append', R - 2], ['append', 1], ['append', 1], ['append', R], ['append', 700], ['append', 2 * R + 1],
      ['cut', 3 * R], ['cut', 2 * R + 1], ['cut', 2 * R - 1], ['append', 3], ['cut', R + 17], ['append', R], ['cut', 1], ['append', R + 5], ['cut', 0], ['append', 2],
    ];
    for (const [kind, n] of steps) {
      if (kind === 'append') {
        const batch = announcementsFor(Array.from({ length: n }, randomAddress), store.sequenceLength());
        await store.append(batch);
        await model.append(batch);
      } else {
        await store.truncate(n);
        await model.truncate(n);
      }
      expect(reading(store)).toEqual(reading(model));
      await store.close();
      store = await LmdbChunkStore.open({ path, noSync: true, ...options });
      expect(reading(store)).toEqual(reading(model));
    }
    await store.close();
  });

  for (const storage of ['lmdb', 'log'] as const) {
    it(`rewrites a format-${storage === 'log' ? 3 : 2} store (one entry a position) into runs at open: the same sequence, digests and chunks, format 4`, async () => {
      await hashReady();
      const path = freshPath();
      const chunks = Array.from({ length: 12 }, (_, i) => chunkOf(`migrated chunk ${i}`));
      // 2,500 positions: two full runs and part of a third; the chunks' addresses at scattered positions, one twice.
      const addresses = Array.from({ length: 2_500 }, randomAddress);
      chunks.forEach((data, i) => (addresses[i * 211] = addressOf(data)));
      addresses[2_499] = addressOf(chunks[3]!);
      const store = await storeOf(path, storage, addresses, chunks);
      const before = reading(store, chunks.map(addressOf));
      await store.close();
      await downgrade(path, storage);
      expect(await databaseNames(path)).toContain('sequence');

      const reopened = await LmdbChunkStore.open({ path });
      expect(reopened.chunkStorage).toBe(storage);
      expect(reading(reopened, chunks.map(addressOf))).toEqual(before);
      expect(reopened.positionsOf(addressOf(chunks[3]!))).toEqual([633, 2_499]);
      await reopened.close();
      expect(await databaseNames(path)).toEqual(['checkpoints', 'chunks', 'meta', SEQUENCE_RUNS_DB]);
      const env = openLmdb({ path, maxDbs: 8 });
      expect(env.openDB('meta', { encoding: 'msgpack' }).get('format')).toEqual({ magic: 'atlasnet-store', version: 4, chunks: storage });
      expect(env.openDB(SEQUENCE_RUNS_DB, { keyEncoding: 'uint32', encoding: 'binary' }).getCount()).toBe(3);
      await env.close();
    });
  }

  it('a rewrite cut short (runs written, old entries and format still there) is done again whole at the next open', async () => {
    await hashReady();
    const path = freshPath();
    const addresses = Array.from({ length: 1_500 }, randomAddress);
    const store = await storeOf(path, 'lmdb', addresses, []);
    const before = reading(store);
    await store.close();
    await downgrade(path, 'lmdb');
    // What a process killed between the rewrite's transactions leaves: some runs, one of them stale.
    const env = openLmdb({ path, maxDbs: 8 });
    const runs = env.openDB<Buffer, number>(SEQUENCE_RUNS_DB, { keyEncoding: 'uint32', encoding: 'binary' });
    runs.putSync(0, Buffer.alloc(SEQUENCE_RUN_POSITIONS * 20, 7));
    runs.putSync(5, Buffer.alloc(40, 9));
    await env.close();

    const reopened = await LmdbChunkStore.open({ path });
    expect(reading(reopened)).toEqual(before);
    await reopened.close();
    expect(await databaseNames(path)).toEqual(['checkpoints', 'chunks', 'meta', SEQUENCE_RUNS_DB]);
  });

  it('a process killed while it rewrites an old store leaves it whole: every later open reads the same sequence', async () => {
    await hashReady();
    const path = freshPath();
    // 600,000 positions: three of the rewrite's transactions.
    const addresses = Array.from({ length: 600_000 }, (_, i) => i.toString(16).padStart(40, '0'));
    const store = await storeOf(path, 'log', addresses, []);
    const before = { length: store.sequenceLength(), digest: store.sequenceDigest(), last: store.addressAt(599_999) };
    await store.close();
    await downgrade(path, 'log');
    // Killed as soon as the rewrite's first transaction is seen committed, until one kill lands
    // before the last (runs written, the old format still in place).
    const watcher = openLmdb({ path, maxDbs: 8 });
    const runs = watcher.openDB<Buffer, number>(SEQUENCE_RUNS_DB, { keyEncoding: 'uint32', encoding: 'binary' });
    const meta = watcher.openDB('meta', { encoding: 'msgpack' });
    let cutShort = 0;
    for (let attempt = 0; attempt < 5 && cutShort === 0; attempt++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'open-child.ts'), path], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (runs.getCount() > 0) child.kill('SIGKILL');
        }, 1);
        child.on('exit', () => {
          clearInterval(poll);
          resolve();
        });
      });
      if ((meta.get('format') as { version: number }).version === 3 && runs.getCount() > 0) cutShort++;
    }
    await watcher.close();
    expect(cutShort).toBe(1);
    const reopened = await LmdbChunkStore.open({ path });
    expect({ length: reopened.sequenceLength(), digest: reopened.sequenceDigest(), last: reopened.addressAt(599_999) }).toEqual(before);
    expect(reopened.addressAt(262_144)).toBe(addresses[262_144]);
    await reopened.close();
    expect(await databaseNames(path)).toEqual(['checkpoints', 'chunks', 'meta', SEQUENCE_RUNS_DB]);
  }, 60_000);

  it('refuses, as STORE_CORRUPT and changing nothing, an old store whose positions have a hole', async () => {
    const path = freshPath();
    const store = await storeOf(path, 'lmdb', Array.from({ length: 30 }, randomAddress), []);
    await store.close();
    await downgrade(path, 'lmdb');
    const env = openLmdb({ path, maxDbs: 8 });
    env.openDB<Buffer, number>('sequence', { keyEncoding: 'uint32', encoding: 'binary' }).removeSync(12);
    await env.close();
    await expectCode(LmdbChunkStore.open({ path }), ErrorCodes.STORE_CORRUPT);
    // Still the old format, old entries in place: nothing was dropped.
    expect(await databaseNames(path)).toContain('sequence');
    const after = openLmdb({ path, maxDbs: 8 });
    expect(after.openDB('meta', { encoding: 'msgpack' }).get('format')).toEqual({ magic: 'atlasnet-store', version: 2 });
    expect(after.openDB('sequence', { keyEncoding: 'uint32', encoding: 'binary' }).getCount()).toBe(29);
    await after.close();
  });

  const damages: [string, (runs: ReturnType<typeof runsOf>) => unknown][] = [
    ['a last run that holds part of an address', (runs) => runs.putSync(2, Buffer.alloc(30, 1))],
    ['a run missing in the middle', (runs) => runs.removeSync(1)],
    ['a short run in the middle', (runs) => runs.putSync(1, Buffer.alloc(100, 1))],
  ];
  function runsOf(env: ReturnType<typeof openLmdb>) {
    return env.openDB<Buffer, number>(SEQUENCE_RUNS_DB, { keyEncoding: 'uint32', encoding: 'binary' });
  }
  for (const [damage, apply] of damages) {
    it(`refuses a store with ${damage} as STORE_CORRUPT`, async () => {
      const path = freshPath();
      const store = await storeOf(path, 'log', Array.from({ length: 2 * SEQUENCE_RUN_POSITIONS + 10 }, randomAddress), []);
      await store.close();
      const env = openLmdb({ path, maxDbs: 8 });
      apply(runsOf(env));
      await env.close();
      await expectCode(LmdbChunkStore.open({ path }), ErrorCodes.STORE_CORRUPT);
    });
  }
});
