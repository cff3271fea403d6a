/** Chunks read at random places from the chunk log, kept in memory (chunkCacheBytes; store/recent-records.ts). */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { InvalidOptionError } from '../../src/errors.js';
import { AtlasNode } from '../../src/node/index.js';
import { CHUNK_LOG_FILE } from '../../src/store/chunk-log-format.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { DEFAULT_CHUNK_CACHE_BYTES, ENTRY_OVERHEAD_BYTES, firstReadSlots } from '../../src/store/recent-records.js';
import { VerifiedReader } from '../../src/store/verified-read.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-chunk-cache-'));
let counter = 0;
const freshPath = () => join(root, `store-${counter++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** 40 chunks of 3,000 bytes: no read of one record's page holds the next whole. */
const CHUNK_BYTES = 3_000;
const chunks = Array.from({ length: 40 }, (_, i) => chunkOf(`chunk ${i} `.padEnd(CHUNK_BYTES, String.fromCharCode(97 + (i % 26)))));
const addresses = chunks.map(addressOf);
/** Every chunk once, never one right after its neighbour in the log (a run, which is not kept). */
const scattered = Array.from({ length: chunks.length }, (_, i) => (i * 7) % chunks.length);
const RECORD_COST = 24 + CHUNK_BYTES + ENTRY_OVERHEAD_BYTES;
const table = (bound: number) => firstReadSlots(bound) * 8;

async function storeOf(options: { chunkCacheBytes?: number; chunkStorage?: 'log' | 'lmdb' } = {}): Promise<{ store: LmdbChunkStore; path: string }> {
  const path = freshPath();
  const store = await LmdbChunkStore.open({ path, noSync: true, chunkStorage: 'log', ...options });
  await store.append(announcementsFor(addresses, 0));
  await store.putMany(chunks);
  return { store, path };
}

describe('chunks kept in memory', () => {
  it('keeps each chunk read twice at random places: one damaged on disk since is still served intact, and a discard reads the file', async () => {
    const { store, path } = await storeOf();
    try {
      const base = table(DEFAULT_CHUNK_CACHE_BYTES);
      expect(store.chunkCache).toEqual({ bytes: base, maxBytes: DEFAULT_CHUNK_CACHE_BYTES, records: 0 });
      for (let round = 0; round < 2; round++) {
        for (const i of scattered) expect(Buffer.from(store.get(addresses[i]!) as Uint8Array).equals(Buffer.from(chunks[i]!))).toBe(true);
        expect(store.chunkCache?.records).toBe(round === 0 ? 0 : chunks.length);
      }
      expect(store.chunkCache).toEqual({ bytes: base + chunks.length * RECORD_COST, maxBytes: DEFAULT_CHUNK_CACHE_BYTES, records: chunks.length });
      // Every chunk's bytes damaged on disk: what is kept answers, so nothing is read from the file.
      const file = join(path, CHUNK_LOG_FILE);
      const damaged = readFileSync(file);
      for (let at = 16 + 24; at < damaged.length; at += 24 + CHUNK_BYTES) damaged[at + 100] = (damaged[at + 100] as number) ^ 0x40;
      writeFileSync(file, damaged);
      const reader = new VerifiedReader(store);
      for (const i of scattered) {
        expect(Buffer.from(store.get(addresses[i]!) as Uint8Array).equals(Buffer.from(chunks[i]!))).toBe(true);
        expect(Buffer.from(reader.serve([addresses[i]!]).chunks[0]?.data as Uint8Array).equals(Buffer.from(chunks[i]!))).toBe(true);
      }
      // A discard does not trust memory: it reads the file, finds the damage, and forgets the chunk.
      expect(await store.discard(addresses[5]!)).toEqual({ discarded: true, positions: [5] });
      expect(store.has(addresses[5]!)).toBe(false);
      expect(store.get(addresses[5]!)).toBeUndefined();
      expect(store.chunkCache?.records).toBe(chunks.length - 1);
    } finally {
      await store.close();
    }
  });

  it('catches damage on disk once the chunk has left memory: the next serve finds it, quarantines it and reports it', async () => {
    const { store, path } = await storeOf({ chunkCacheBytes: table(2 * RECORD_COST) + 2 * RECORD_COST });
    try {
      const corrupt: string[] = [];
      const reader = new VerifiedReader(store, { corrupt: ({ address }) => void corrupt.push(address) });
      const victim = addresses[0]!;
      const intact = (read: { chunks: { data: Uint8Array }[] }) => read.chunks.length === 1 && Buffer.from(read.chunks[0]!.data).equals(Buffer.from(chunks[0]!));
      for (const address of [victim, addresses[20]!, victim]) reader.serve([address]); // the victim is kept
      expect(store.chunkCache?.records).toBe(1);
      const file = join(path, CHUNK_LOG_FILE);
      const damaged = readFileSync(file);
      damaged[16 + 24 + 100] = (damaged[16 + 24 + 100] as number) ^ 0x40;
      writeFileSync(file, damaged);
      expect(intact(reader.serve([victim]))).toBe(true); // from memory, still hashed: intact
      for (const address of [addresses[7]!, addresses[14]!, addresses[7]!, addresses[14]!]) reader.serve([address]);
      expect(store.chunkCache?.records).toBe(2); // the victim, least recently used, left memory
      const after = reader.serve([victim]);
      expect(after.chunks).toEqual([]);
      expect(after.missing).toEqual([victim]);
      await vi.waitFor(() => expect(corrupt).toEqual([victim]));
      expect(store.has(victim)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('holds no more than its bound, keeps none at 0, and none with chunks in LMDB (read from its memory map)', async () => {
    const bound = table(3 * RECORD_COST) + 3 * RECORD_COST + 10;
    const small = await storeOf({ chunkCacheBytes: bound });
    try {
      for (let round = 0; round < 3; round++) {
        for (const i of scattered) {
          for (const j of [i, (i + 20) % chunks.length, i]) {
            expect(Buffer.from(small.store.get(addresses[j]!) as Uint8Array).equals(Buffer.from(chunks[j]!))).toBe(true);
            expect(small.store.chunkCache!.bytes).toBeLessThanOrEqual(bound);
          }
        }
      }
      expect(small.store.chunkCache).toEqual({ bytes: table(3 * RECORD_COST) + 3 * RECORD_COST, maxBytes: bound, records: 3 });
    } finally {
      await small.store.close();
    }
    for (const options of [{ chunkCacheBytes: 0 }, { chunkStorage: 'lmdb' as const }]) {
      const { store } = await storeOf(options);
      try {
        for (const i of [...scattered, ...scattered]) store.get(addresses[i]!);
        expect(store.chunkCache).toBeUndefined();
      } finally {
        await store.close();
      }
    }
  });

  it('refuses a chunkCacheBytes that is not a whole number of bytes >= 0, creating nothing', async () => {
    for (const chunkCacheBytes of [-1, 2.5, Number.NaN]) {
      const path = join(root, `refused-${String(chunkCacheBytes)}`);
      const error = await LmdbChunkStore.open({ path, chunkCacheBytes }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('chunkCacheBytes');
      expect(existsSync(path)).toBe(false);
    }
  });

  it('takes the bound a node is opened with (AtlasNode.open chunkCacheBytes)', async () => {
    const network = new MemoryNetwork();
    try {
      for (const [chunkCacheBytes, expected] of [
        [undefined, DEFAULT_CHUNK_CACHE_BYTES],
        [12_345, 12_345],
      ] as const) {
        const node = await AtlasNode.open({
          chain: new MemoryChain(),
          transport: network.transport(`n${String(chunkCacheBytes)}`),
          dataDir: freshPath(),
          ...(chunkCacheBytes !== undefined ? { chunkCacheBytes } : {}),
        });
        try {
          expect(node.store.chunkCache?.maxBytes).toBe(expected);
        } finally {
          await node.close();
        }
      }
    } finally {
      await network.close();
    }
  });
});
