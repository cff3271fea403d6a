/**
 * A chunk found corrupt whose removal from LMDB fails (an I/O error injected into the `chunks`
 * sub-database's remove): the inventory bit must say true iff the store can serve the chunk, on
 * every path. The failure is a typed STORE_IO; the chunk is no longer served or counted, its bits
 * are cleared, and the good bytes fetched again are stored and served once the disk lets the
 * damaged record go.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { VerifiedReader } from '../../src/store/verified-read.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

/** The `chunks` sub-database of the last environment opened, and the failure its remove() gives (undefined: none). */
const disk = vi.hoisted(() => ({ chunks: undefined as undefined | { putSync(key: Buffer, value: Buffer): boolean }, failRemove: undefined as Error | undefined, removes: 0 }));

vi.mock('lmdb', async (importOriginal) => {
  const real = await importOriginal<typeof import('lmdb')>();
  const open = ((...args: Parameters<typeof real.open>) => {
    const env = real.open(...args);
    const openDB = env.openDB.bind(env) as (...a: unknown[]) => ReturnType<typeof env.openDB>;
    (env as { openDB: unknown }).openDB = (name: unknown, options: unknown) => {
      const db = openDB(name, options);
      if (name === 'chunks') {
        disk.chunks = db as never;
        const remove = db.remove.bind(db);
        (db as { remove: unknown }).remove = (key: Buffer) => {
          disk.removes++;
          return disk.failRemove === undefined ? remove(key) : Promise.reject(disk.failRemove);
        };
      }
      return db;
    };
    return env;
  }) as typeof real.open;
  return { ...real, open };
});

const root = mkdtempSync(join(tmpdir(), 'atlasnet-discard-failure-'));
let counter = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

const eio = () => Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });

/** A store with chunks in LMDB: 3 chunks announced, the first twice, all stored; the first then damaged in place. */
async function damagedStore() {
  const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: join(root, `store-${counter++}`), noSync: true });
  const chunks = [0, 1, 2].map((i) => chunkOf(`discard failure ${i}`));
  const addresses = chunks.map(addressOf);
  await store.append(announcementsFor([...addresses, addresses[0] as string], 0));
  await store.putMany(chunks);
  const damaged = Buffer.from(chunks[0] as Uint8Array);
  damaged[1] = (damaged[1] as number) ^ 0x40;
  disk.chunks!.putSync(Buffer.from(addresses[0] as string, 'hex'), damaged);
  return { store, chunks, addresses };
}

/** Whether the bits of `positions` and what the store serves for `address` agree (a bit iff the intact chunk is served). */
function servable(store: LmdbChunkStore, address: string, data: Uint8Array): boolean {
  const held = store.get(address);
  return held !== undefined && Buffer.from(held).equals(Buffer.from(data));
}

describe('a chunk removal that fails on a store with chunks in LMDB', () => {
  it('answers a typed STORE_IO, clears the bits and stops serving the chunk: bit iff servable, before and after the disk recovers', async () => {
    const { store, chunks, addresses } = await damagedStore();
    const address = addresses[0] as string;
    try {
      expect(store.inventory.has(0) && store.inventory.has(3)).toBe(true);
      disk.failRemove = eio();
      const error = await store.discard(address).then(() => undefined, (thrown: unknown) => thrown);
      // Typed (STORE_IO naming the errno), no bit for a chunk the store cannot serve, and the store does not offer it.
      const after = {
        error: isAtlasError(error) ? { code: error.code, errno: (error.details as { errno?: string }).errno } : String(error),
        bits: [0, 3].map((position) => store.inventory.has(position)),
        servable: servable(store, address, chunks[0] as Uint8Array),
        get: store.get(address) === undefined ? 'none' : 'bytes',
        has: store.has(address),
      };
      expect(after).toEqual({ error: { code: 'STORE_IO', errno: 'EIO' }, bits: [false, false], servable: false, get: 'none', has: false });
      expect(store.chunkCount()).toBe(2);
      expect(store.chunkBytes()).toBe((chunks[1] as Uint8Array).length + (chunks[2] as Uint8Array).length);
      // A put of the good bytes while the disk still refuses the removal fails the same way, and sets no bit.
      await expect(store.put(chunks[0] as Uint8Array)).rejects.toMatchObject({ code: 'STORE_IO' });
      expect([store.inventory.has(0), store.inventory.has(3), store.has(address)]).toEqual([false, false, false]);
      // The other chunks are untouched.
      expect(servable(store, addresses[1] as string, chunks[1] as Uint8Array) && store.inventory.has(1)).toBe(true);
      // The disk recovers: the good bytes fetched again replace the damaged record, bits and all.
      disk.failRemove = undefined;
      expect((await store.put(chunks[0] as Uint8Array)).added).toBe(true);
      expect([store.inventory.has(0), store.inventory.has(3), servable(store, address, chunks[0] as Uint8Array)]).toEqual([true, true, true]);
      expect(store.chunkCount()).toBe(3);
    } finally {
      disk.failRemove = undefined;
      await store.close();
    }
  });

  it('a batch holding the chunk while its removal still fails stores the others, and answers that one alone with STORE_IO', async () => {
    const { store, chunks, addresses } = await damagedStore();
    const address = addresses[0] as string;
    try {
      disk.failRemove = eio();
      await expect(store.discard(address)).rejects.toMatchObject({ code: 'STORE_IO' });
      const fresh = chunkOf('discard failure, announced later');
      await store.append(announcementsFor([addressOf(fresh)], 4));
      const outcomes = await store.putMany([chunks[0] as Uint8Array, fresh, chunks[1] as Uint8Array]);
      expect(outcomes.map((o) => (o.ok ? (o.added ? 'added' : 'held') : `${o.error.code} ${String((o.error.details as { errno?: string }).errno)}`))).toEqual(['STORE_IO EIO', 'added', 'held']);
      expect([0, 1, 2, 3, 4].map((position) => store.inventory.has(position))).toEqual([false, true, true, false, true]);
      expect([servable(store, addressOf(fresh), fresh), store.has(address), store.chunkCount()]).toEqual([true, false, 3]);
      disk.failRemove = undefined;
      expect((await store.putMany([chunks[0] as Uint8Array]))[0]).toMatchObject({ ok: true, added: true, positions: [0, 3] });
      expect(servable(store, address, chunks[0] as Uint8Array)).toBe(true);
    } finally {
      disk.failRemove = undefined;
      await store.close();
    }
  });

  it('a reader quarantining the chunk stops answering it missing once the good bytes are back', async () => {
    const { store, chunks, addresses } = await damagedStore();
    const address = addresses[0] as string;
    const failures: unknown[] = [];
    const reader = new VerifiedReader(store, { discardFailed: (_address, error) => failures.push(error) });
    try {
      disk.failRemove = eio();
      expect(reader.read([address]).missing).toEqual([address]);
      await vi.waitFor(() => expect(failures).toHaveLength(1));
      expect(store.inventory.has(0) || store.inventory.has(3)).toBe(false);
      disk.failRemove = undefined;
      await store.put(chunks[0] as Uint8Array);
      expect(Buffer.from(reader.readOne(address) ?? []).equals(Buffer.from(chunks[0] as Uint8Array))).toBe(true);
    } finally {
      disk.failRemove = undefined;
      await store.close();
    }
  });

  it('a removal that succeeds clears the bits and the record, as before', async () => {
    const { store, chunks, addresses } = await damagedStore();
    try {
      expect(await store.discard(addresses[0] as string)).toEqual({ discarded: true, positions: [0, 3] });
      expect([store.inventory.has(0), store.inventory.has(3), store.has(addresses[0] as string)]).toEqual([false, false, false]);
      expect((await store.put(chunks[0] as Uint8Array)).added).toBe(true);
      expect(store.inventory.has(0) && store.inventory.has(3)).toBe(true);
    } finally {
      await store.close();
    }
  });
});
