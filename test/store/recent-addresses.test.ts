import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { RecentAddresses } from '../../src/store/recent-addresses.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-recent-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bytesOf = (i: number) => Buffer.from(addressOf(chunkOf(`recent ${i}`)), 'hex');

describe('RecentAddresses', () => {
  it('answers only the position a slot holds, replaces it with the next one there, and forgets cut positions', () => {
    const recent = new RecentAddresses();
    expect(recent.get(5)).toBeUndefined();
    recent.set(5, bytesOf(5));
    recent.set(9, bytesOf(9));
    expect(Buffer.from(recent.get(5) as Uint8Array).equals(bytesOf(5))).toBe(true);
    const sameSlot = 5 + (1 << 17);
    expect(recent.get(sameSlot)).toBeUndefined();
    recent.set(sameSlot, bytesOf(sameSlot));
    expect(recent.get(5)).toBeUndefined();
    expect(Buffer.from(recent.get(sameSlot) as Uint8Array).equals(bytesOf(sameSlot))).toBe(true);
    recent.dropFrom(9);
    expect(recent.get(9)).toBeUndefined();
    expect(recent.get(sameSlot)).toBeUndefined();
    recent.set(3, bytesOf(3));
    recent.dropFrom(4);
    expect(Buffer.from(recent.get(3) as Uint8Array).equals(bytesOf(3))).toBe(true);
  });

  // With sequence pages off, every read of the store goes through this cache.
  it('never lets a store answer a position with the address it held before a truncation', async () => {
    const store = await LmdbChunkStore.open({ path: join(root, 'store'), noSync: true, sequenceCacheBytes: 0 });
    const before = [0, 1, 2, 3].map((i) => addressOf(chunkOf(`before ${i}`)));
    const after = [2, 3].map((i) => addressOf(chunkOf(`after ${i}`)));
    await store.append(announcementsFor(before, 0));
    expect([0, 1, 2, 3].map((p) => store.addressAt(p))).toEqual(before); // read, so remembered
    await store.truncate(2);
    expect(store.addressAt(2)).toBeUndefined();
    await store.append(announcementsFor(after, 2));
    expect([0, 1, 2, 3].map((p) => store.addressAt(p))).toEqual([...before.slice(0, 2), ...after]);
    expect(store.positionsOf(before[2] as string)).toEqual([]);
    expect(store.positionsOf(after[0] as string)).toEqual([2]);
    await store.close();
  });
});
