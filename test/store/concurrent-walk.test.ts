/**
 * The store's reads against a model through bursts of operations that are not awaited one by one:
 * appends, puts, putVerified with position hints (right, wrong or past the end), truncations,
 * discards of chunks damaged in place, and reopens. After every burst, `get`, `has` and
 * `chunkCount` must say exactly what the model says: a chunk is served while, and only while, it
 * is stored and its address is announced. The store answers reads without asking its address
 * index while its counters say every stored chunk is announced, so this is what checks them.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomInt, seededRandom, type Random } from '../../src/runtime.js';
import { ADDRESS_BYTES } from '../../src/address.js';
import { CHUNK_LOG_FILE, LOG_HEADER } from '../../src/store/chunk-log-format.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-concurrent-walk-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let stores = 0;

const pool = Array.from({ length: 10 }, (_, i) => chunkOf(`walk chunk ${i} ${'w'.repeat(i * 3)}`));
const addresses = pool.map(addressOf);
const dataOf = new Map(addresses.map((address, i) => [address, pool[i] as Uint8Array]));

type Kind = 'memory' | 'lmdb' | 'log';

interface Opened {
  store: ChunkStore;
  /** Damages the stored bytes of `address` (false when this kind cannot). */
  damage(address: string): boolean;
  reopen(): Promise<Opened>;
}

async function open(kind: Kind, path = join(root, `store-${stores++}`)): Promise<Opened> {
  if (kind === 'memory') {
    const store = new MemoryChunkStore();
    return {
      store,
      damage: (address) => {
        const bytes = store.rawChunk(address);
        if (bytes === undefined) return false;
        bytes[0] = ((dataOf.get(address) as Uint8Array)[0] as number) ^ 0xff;
        return true;
      },
      reopen: async () => {
        throw new Error('a memory store does not reopen');
      },
    };
  }
  const store = await LmdbChunkStore.open({ path, noSync: true, chunkStorage: kind });
  return {
    store,
    damage: (address) => kind === 'log' && damageLogRecords(path, address),
    reopen: async () => {
      await store.close();
      return open(kind, path);
    },
  };
}

/** Changes the first data byte of every record of `address` in the chunk log. */
function damageLogRecords(path: string, address: string): boolean {
  const file = join(path, CHUNK_LOG_FILE);
  const bytes = readFileSync(file);
  const key = Buffer.from(address, 'hex');
  const first = (dataOf.get(address) as Uint8Array)[0] as number;
  let damaged = false;
  const fd = openSync(file, 'r+');
  try {
    // A record is its length (4 bytes), its address, its data: `at` is where an address starts.
    for (let at = bytes.indexOf(key, LOG_HEADER.length); at >= 0; at = bytes.indexOf(key, at + ADDRESS_BYTES + bytes.readUInt32LE(at - 4))) {
      writeSync(fd, Buffer.from([first ^ 0xff]), 0, 1, at + ADDRESS_BYTES);
      damaged = true;
    }
  } finally {
    closeSync(fd);
  }
  return damaged;
}

async function walk(kind: Kind, seed: number, steps: number): Promise<void> {
  const random: Random = seededRandom(seed);
  let opened = await open(kind);
  const sequence: string[] = [];
  const stored = new Set<string>();
  const expectModel = (after: string) => {
    const announced = new Set(sequence);
    for (const address of addresses) {
      const served = announced.has(address) && stored.has(address);
      expect({ get: opened.store.get(address) !== undefined, has: opened.store.has(address) }, `${kind} seed ${seed}, ${address.slice(0, 8)} after ${after}`).toEqual({ get: served, has: served });
    }
    expect(opened.store.chunkCount(), `${kind} seed ${seed} after ${after}`).toBe([...announced].filter((address) => stored.has(address)).length);
  };
  for (let step = 0; step < steps; step++) {
    const pending: Promise<unknown>[] = [];
    const done: string[] = [];
    let reopen = false;
    // Damage lands when the burst is issued, its writes later: only a chunk stored before the
    // burst, not put again in it, and not damaged yet, is damaged (so the model knows the outcome).
    const damageable = new Set(stored);
    const burst = 1 + randomInt(random, 4);
    for (let k = 0; k < burst && !reopen; k++) {
      const roll = random();
      const announced = new Set(sequence);
      if (roll < 0.25) {
        const list = Array.from({ length: 1 + randomInt(random, 3) }, () => addresses[randomInt(random, addresses.length)] as string);
        pending.push(opened.store.append(announcementsFor(list, sequence.length)));
        sequence.push(...list);
        done.push('append');
      } else if (roll < 0.45) {
        const batch = Array.from({ length: 1 + randomInt(random, 4) }, () => pool[randomInt(random, pool.length)] as Uint8Array);
        pending.push(opened.store.putMany(batch));
        for (const data of batch) {
          damageable.delete(addressOf(data));
          if (announced.has(addressOf(data))) stored.add(addressOf(data));
        }
        done.push('putMany');
      } else if (roll < 0.6) {
        const batch = Array.from({ length: 1 + randomInt(random, 3) }, () => {
          const address = addresses[randomInt(random, addresses.length)] as string;
          return { address, data: dataOf.get(address) as Uint8Array, position: randomInt(random, sequence.length + 3) };
        });
        pending.push(opened.store.putVerified(batch));
        for (const chunk of batch) {
          damageable.delete(chunk.address);
          if (announced.has(chunk.address)) stored.add(chunk.address);
        }
        done.push('putVerified');
      } else if (roll < 0.8) {
        const length = randomInt(random, sequence.length + 1);
        pending.push(opened.store.truncate(length));
        sequence.length = length;
        done.push(`truncate ${length}`);
      } else if (roll < 0.93) {
        const candidates = [...stored];
        const address = candidates[randomInt(random, candidates.length)];
        if (address === undefined) continue;
        if (damageable.delete(address) && opened.damage(address)) stored.delete(address);
        pending.push(opened.store.discard(address));
        done.push('discard');
      } else reopen = kind !== 'memory';
    }
    await Promise.all(pending);
    expectModel(done.join(', '));
    if (reopen) {
      opened = await opened.reopen();
      expectModel('reopen');
    }
  }
  await opened.store.close();
}

describe('store reads through concurrent bursts of writes, damage and reopens', () => {
  it('MemoryChunkStore (200 seeded walks)', async () => {
    for (let seed = 1; seed <= 200; seed++) await walk('memory', seed, 40);
  });

  it.each(['lmdb', 'log'] as const)('LmdbChunkStore keeping chunks in %s (12 seeded walks)', async (kind) => {
    for (let seed = 1; seed <= 12; seed++) await walk(kind, seed, 40);
  });
});
