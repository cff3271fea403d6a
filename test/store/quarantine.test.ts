/** Verified reads and quarantine (store/verified-read.ts, store/quarantine.ts). */
import { describe, expect, it } from 'vitest';
import { hashReady } from '../../src/hash/index.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { VerifiedReader, type CorruptChunk } from '../../src/store/verified-read.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

async function storeOf(count: number) {
  await hashReady();
  const chunks = Array.from({ length: count }, (_, i) => chunkOf(`quarantine chunk ${i}`));
  const addresses = chunks.map(addressOf);
  const store = new MemoryChunkStore();
  await store.append(announcementsFor([...addresses, addresses[0] as string], 0)); // chunk 0 twice
  await store.putMany(chunks);
  return { store, chunks, addresses };
}

function flip(store: MemoryChunkStore, address: string, at: number): void {
  const raw = store.rawChunk(address) as Uint8Array;
  raw[at] = (raw[at] as number) ^ 0x10;
}

describe('VerifiedReader', () => {
  it('serves intact chunks, answers a corrupt one as missing, quarantines it once and reports it', async () => {
    const { store, chunks, addresses } = await storeOf(3);
    const reports: CorruptChunk[] = [];
    const reader = new VerifiedReader(store, { corrupt: (chunk) => reports.push(chunk) });
    flip(store, addresses[0] as string, 2); // damage in place
    const first = reader.read(addresses);
    expect(first.chunks.map((c) => c.address)).toEqual(addresses.slice(1));
    expect(first.missing).toEqual([addresses[0]]);
    expect(reader.readOne(addresses[0] as string)).toBeUndefined(); // still quarantining: no second discard
    await new Promise((resolve) => setImmediate(resolve));
    expect(reports).toEqual([{ address: addresses[0], positions: [0, 3] }]);
    expect(reader.corruptFound).toBe(1);
    expect(store.has(addresses[0] as string)).toBe(false);
    expect(store.inventory.has(0) || store.inventory.has(3)).toBe(false);
    expect(store.chunkCount()).toBe(2);
    expect(store.chunkBytes()).toBe((chunks[1] as Uint8Array).length + (chunks[2] as Uint8Array).length);
    // Fetched again: stored and served as before.
    expect((await store.put(chunks[0] as Uint8Array)).added).toBe(true);
    expect(Buffer.from(reader.readOne(addresses[0] as string) as Uint8Array).equals(Buffer.from(chunks[0] as Uint8Array))).toBe(true);
  });

  it('serves an intact chunk asked under its upper-case address and quarantines nothing', async () => {
    const { store, chunks, addresses } = await storeOf(2);
    const reports: CorruptChunk[] = [];
    const reader = new VerifiedReader(store, { corrupt: (chunk) => reports.push(chunk) });
    const upper = (addresses[1] as string).toUpperCase();
    expect(Buffer.from(reader.readOne(upper) as Uint8Array).equals(Buffer.from(chunks[1] as Uint8Array))).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reports).toEqual([]);
    expect(reader.corruptFound).toBe(0);
    expect(store.has(addresses[1] as string)).toBe(true);
  });

  it('quarantines a corrupt chunk once, under its lower-case address, when it is asked in both cases', async () => {
    const { store, addresses } = await storeOf(2);
    const reports: CorruptChunk[] = [];
    const reader = new VerifiedReader(store, { corrupt: (chunk) => reports.push(chunk) });
    const address = addresses[1] as string;
    flip(store, address, 0);
    expect(reader.read([address.toUpperCase(), address]).missing).toEqual([address.toUpperCase(), address]);
    expect(reader.readOne(address.toUpperCase())).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(reader.corruptFound).toBe(1);
    expect(reports).toEqual([{ address, positions: [1] }]);
    expect(store.has(address)).toBe(false);
  });

  it('never removes an intact chunk, whoever asks', async () => {
    const { store, addresses } = await storeOf(2);
    expect(await store.discard(addresses[1] as string)).toEqual({ discarded: false, positions: [] });
    expect(store.has(addresses[1] as string)).toBe(true);
    expect(store.chunkCount()).toBe(2);
  });

  it('stops reading at a byte bound: the first chunk always, the addresses not read put off', async () => {
    const { store, chunks, addresses } = await storeOf(4);
    const size = (i: number) => (chunks[i] as Uint8Array).length;
    const reader = new VerifiedReader(store);
    const unknown = 'ab'.repeat(20);
    const asked = [unknown, ...addresses];
    const bounded = reader.read(asked, size(0) + size(1));
    expect(bounded.chunks.map((c) => c.address)).toEqual(addresses.slice(0, 2));
    expect(bounded.missing).toEqual([unknown]);
    expect(bounded.later).toEqual(addresses.slice(2));
    const tiny = reader.read(addresses, 1); // below any chunk: the first one still goes
    expect(tiny.chunks.map((c) => c.address)).toEqual(addresses.slice(0, 1));
    expect(tiny.later).toEqual(addresses.slice(1));
    expect(reader.read(addresses)).not.toHaveProperty('later');
  });

  it('reads on past a bound when every chunk read was corrupt, so a reply putting addresses off carries a chunk', async () => {
    const { store, addresses } = await storeOf(3);
    const reader = new VerifiedReader(store);
    flip(store, addresses[0] as string, 1);
    const read = reader.read(addresses, 1);
    expect(read.chunks.map((c) => c.address)).toEqual([addresses[1]]);
    expect(read.missing).toEqual([addresses[0]]);
    expect(read.later).toEqual([addresses[2]]);
  });

  it('serves without hashing when asked not to verify (for measuring the cost only)', async () => {
    const { store, addresses } = await storeOf(1);
    flip(store, addresses[0] as string, 0);
    expect(new VerifiedReader(store, { verify: false }).read(addresses).chunks).toHaveLength(1);
    expect(new VerifiedReader(store).read(addresses).chunks).toHaveLength(0);
  });
});
