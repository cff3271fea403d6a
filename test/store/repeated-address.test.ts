/**
 * An address announced many times (SPEC §1 allows it; BNS announces NO_CHUNK_ADDRESS for every
 * revoke and transfer without a zone file) costs a lookup the same work however often it is
 * announced: the store answers one shared, frozen list of its positions until they change, where
 * a copy per call made each put or received chunk of it O(N). No timing: the tests assert that no
 * list is built per call (the same array comes back), and that nobody can change the store's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NO_CHUNK_ADDRESS } from '../../src/address.js';
import { hash160Hex, hashReady } from '../../src/hash/index.js';
import { AddressArray } from '../../src/store/address-array.js';
import { AddressIndex } from '../../src/store/address-index.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-repeated-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let opened = 0;

const stores: [string, () => Promise<ChunkStore>][] = [
  ['MemoryChunkStore', async () => new MemoryChunkStore()],
  ['LmdbChunkStore (chunk log)', () => LmdbChunkStore.open({ path: join(root, `log-${opened++}`), noSync: true })],
  ['LmdbChunkStore (chunks in LMDB)', () => LmdbChunkStore.open({ path: join(root, `lmdb-${opened++}`), chunkStorage: 'lmdb', noSync: true })],
];

const N = 5_000;
const popular = new Uint8Array(Buffer.from('$ORIGIN popular.id\n'));
const plain = new Uint8Array(Buffer.from('$ORIGIN plain.id\n'));

describe.each(stores)('%s: an address announced many times', (_name, open) => {
  it('is answered one frozen list until its positions change, and no caller can change the store through it', async () => {
    await hashReady();
    const store = await open();
    try {
      const address = hash160Hex(popular);
      await store.append(Array.from({ length: N }, (_, position) => ({ position, address })));
      const first = store.positionsOf(address);
      expect(first).toHaveLength(N);
      expect(store.positionsOf(address)).toBe(first); // not a copy per call
      expect(store.positionsOf(address.toUpperCase())).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(() => (first as number[]).push(-1)).toThrow(TypeError);
      expect(() => ((first as number[])[0] = 7)).toThrow(TypeError);
      expect(store.positionsOf(address)[0]).toBe(0);
      // An append and a cut each give a new list; the one handed out before stays as it was.
      await store.append([{ position: N, address }]);
      const grown = store.positionsOf(address);
      expect(grown).not.toBe(first);
      expect(grown).toHaveLength(N + 1);
      expect(first).toHaveLength(N);
      await store.truncate(N - 1);
      expect(store.positionsOf(address)).toHaveLength(N - 1);
      expect(store.positionsOf(address).at(-1)).toBe(N - 2);
      expect(grown).toHaveLength(N + 1);
      expect(grown.at(-1)).toBe(N);
      // Cut again without a list handed out in between, then grown again: still whole and ascending.
      await store.truncate(N - 3);
      await store.append([{ position: N - 3, address: hash160Hex(plain) }, { position: N - 2, address }]);
      expect(store.positionsOf(address)).toEqual([...Array.from({ length: N - 3 }, (_, i) => i), N - 2]);
      await store.truncate(1);
      expect(store.positionsOf(address)).toEqual([0]);
      // An address announced once gets a list of its own each time (changing it changes nothing).
      (store.positionsOf(address) as number[]).push(9);
      expect(store.positionsOf(address)).toEqual([0]);
    } finally {
      await store.close();
    }
  });

  it('puts a held chunk of it without building its list of positions again (the outcome shares the one list)', async () => {
    await hashReady();
    const store = await open();
    try {
      const address = hash160Hex(popular);
      await store.append([...Array.from({ length: N }, (_, position) => ({ position, address })), { position: N, address: hash160Hex(plain) }]);
      const added = await store.put(popular);
      expect(added).toMatchObject({ added: true });
      expect(added.positions).toHaveLength(N);
      expect(store.inventory.count).toBe(N);
      const listed = store.positionsOf(address);
      const again = await store.putMany([popular, popular, popular, popular, popular]);
      for (const outcome of again) {
        expect(outcome).toMatchObject({ ok: true, added: false });
        expect(outcome.ok && outcome.positions).toBe(listed);
      }
      // With the downloader's position hint, at a repeated position or none.
      for (const position of [0, N - 1, undefined]) {
        const [verified] = await store.putVerified([{ address, data: popular, ...(position === undefined ? {} : { position }) }]);
        expect(verified!.ok && verified!.positions).toBe(listed);
      }
    } finally {
      await store.close();
    }
  });
});

describe('AddressIndex.positionsNear', () => {
  it('answers a repeated address the shared list with or without a hint, and a hint announced once with [hint]', () => {
    const sequence = new AddressArray();
    const index = new AddressIndex((position, key, keyAt) => sequence.isAt(position, key, keyAt));
    const zero = Buffer.from(NO_CHUNK_ADDRESS, 'hex');
    const once = Buffer.alloc(20, 7);
    for (let position = 0; position < N; position++) {
      sequence.push(zero);
      index.add(zero, position);
    }
    sequence.push(once);
    index.add(once, N);
    const listed = index.positionsOf(zero);
    expect(listed).toHaveLength(N);
    for (const hint of [0, 17, N - 1, undefined]) expect(index.positionsNear(zero, hint)).toBe(listed);
    // At an offset in a packed batch of keys, as received batches ask.
    const packed = Buffer.concat([once, zero]);
    expect(index.positionsNear(packed, 3, 20)).toBe(listed);
    expect(index.positionsNear(once, N)).toEqual([N]);
  });
});
