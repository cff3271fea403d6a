/**
 * What the Backfiller reads of the store: the sequence is scanned again only when it changed
 * (only the appended positions after an append, every position after a rollback), a chunk stored
 * meanwhile is dropped without a rescan, and `missing(limit)` looks at no more than `limit` entries.
 */
import { describe, expect, it, vi } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { Backfiller } from '../../src/sync/sources/backfill.js';
import { missingRoute } from '../../src/sync/sources/missing-route.js';
import type { ChunkSource } from '../../src/sync/sources/types.js';

const chunk = (n: number) => new Uint8Array(Buffer.from(`chunk ${n}`));
const never: ChunkSource = { name: 'never', fetch: async () => undefined };

async function setup(count: number) {
  const clock = new VirtualClock();
  const chain = new MemoryChain();
  const store = new MemoryChunkStore();
  await store.append(chain.announce(Array.from({ length: count }, (_, i) => hash160Hex(chunk(i)))));
  const backfill = new Backfiller({ store, sources: [never], clock, random: () => 0.5, options: { intervalMs: 1_000, graceMs: 60_000 } });
  return { clock, chain, store, backfill };
}

describe('Backfiller scans', () => {
  it('after a rollback and an append of as many announcements, lists the new addresses and not the dropped ones', async () => {
    const { chain, store, backfill } = await setup(3);
    expect(backfill.missing().map((m) => m.address)).toEqual([0, 1, 2].map((i) => hash160Hex(chunk(i))));
    chain.rollback(2);
    await store.truncate(2);
    await store.append(chain.announce([hash160Hex(chunk(7))]));
    // same length (3) and same held count (0) as before: only the digest tells them apart
    expect(backfill.missing().map((m) => m.address)).toEqual([0, 1, 7].map((i) => hash160Hex(chunk(i))));
  });

  it('reads no position again when only the held chunks changed, and only the new ones after an append', async () => {
    const { clock, chain, store, backfill } = await setup(200);
    backfill.start();
    await clock.advance(1_000);
    const addressAt = vi.spyOn(store, 'addressAt');
    await store.put(chunk(5));
    await store.put(chunk(6));
    await clock.advance(5_000); // five rounds
    expect(addressAt).not.toHaveBeenCalled();
    expect(backfill.missing().map((m) => m.address)).not.toContain(hash160Hex(chunk(5)));
    expect(backfill.missingCount).toBe(198);
    await store.append(chain.announce([hash160Hex(chunk(500)), hash160Hex(chunk(501))]));
    await clock.advance(1_000);
    expect(addressAt).toHaveBeenCalledTimes(2);
    expect(backfill.missingCount).toBe(200);
    backfill.stop();
  });

  it('missing(limit) reads the positions of at most limit chunks, oldest first, and the route passes its limit', async () => {
    const { store, backfill } = await setup(500);
    const positionsOf = vi.spyOn(store, 'positionsOf');
    const first = backfill.missing(3);
    expect(first.map((m) => m.positions)).toEqual([[0], [1], [2]]);
    expect(positionsOf).toHaveBeenCalledTimes(3);
    positionsOf.mockClear();
    const route = missingRoute(() => backfill);
    const res = { status: 0, body: '', writeHead(status: number) { this.status = status; }, end(body: string) { this.body = body; } };
    await route.handle({} as never, res as never, { url: new URL('http://x/v1/atlas/missing?limit=10') } as never);
    const reply = JSON.parse(res.body) as { total: number; missing: unknown[] };
    expect(reply.total).toBe(500);
    expect(reply.missing).toHaveLength(10);
    expect(positionsOf).toHaveBeenCalledTimes(10);
  });

  it('neither hashes nor stores again a chunk the source stored itself, as the peers source does', async () => {
    const { clock, store } = await setup(1);
    const putVerified = vi.spyOn(store, 'putVerified');
    // a source that verifies and stores what it fetches, then hands the bytes back
    const storing: ChunkSource = {
      name: 'peers',
      storesWhatItFetches: true,
      fetch: async () => {
        await store.put(chunk(0));
        // bytes that would be refused if they were hashed again: they are not, the store holds the chunk
        return new Uint8Array(Buffer.from('not the chunk'));
      },
    };
    const backfill = new Backfiller({ store, sources: [storing], clock, options: { intervalMs: 1_000, graceMs: 0 } });
    backfill.start();
    await clock.advance(1_000);
    await vi.waitFor(() => expect(backfill.stored).toBe(1));
    expect(putVerified).not.toHaveBeenCalled();
    expect(backfill.refused).toBe(0);
    expect(backfill.missing()).toEqual([]);
    backfill.stop();
  });

  it('does not count as its own a chunk another path stored while a source was answering', async () => {
    const { clock, store } = await setup(2);
    // an HTTP mirror that answers slowly; meanwhile the downloader stores the chunks
    const slow: ChunkSource = {
      name: 'mirror',
      fetch: async (address) => {
        const n = address === hash160Hex(chunk(0)) ? 0 : 1;
        await store.put(chunk(n)); // stands for the downloader, racing the mirror
        return chunk(n);
      },
    };
    const backfill = new Backfiller({ store, sources: [slow], clock, options: { intervalMs: 1_000, graceMs: 0 } });
    backfill.start();
    await clock.advance(1_000);
    await vi.waitFor(() => expect(backfill.heldMeanwhile).toBe(2));
    expect(backfill.stored).toBe(0);
    expect(backfill.missing()).toEqual([]);
    backfill.stop();
  });

  it('does not count as its own a chunk stored by another path between the check and its own put', async () => {
    const { clock, store } = await setup(1);
    const mirror: ChunkSource = { name: 'mirror', fetch: async () => chunk(0) };
    // the downloader stores the same chunk just before the backfiller's put lands
    const putVerified = store.putVerified.bind(store);
    vi.spyOn(store, 'putVerified').mockImplementation(async (chunks) => {
      await store.put(chunk(0));
      return putVerified(chunks);
    });
    const stored: unknown[] = [];
    const backfill = new Backfiller({ store, sources: [mirror], clock, options: { intervalMs: 1_000, graceMs: 0 }, onStored: (outcomes) => stored.push(...outcomes) });
    backfill.start();
    await clock.advance(1_000);
    await vi.waitFor(() => expect(backfill.heldMeanwhile).toBe(1));
    expect(backfill.stored).toBe(0);
    expect(stored).toEqual([]); // not reported as stored from the mirror either
    backfill.stop();
  });
});
