/**
 * What the Backfiller reads of the store: a rollback followed by an append of as many
 * announcements is a change of the sequence, seen by its digest.
 */
import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { Backfiller } from '../../src/sync/sources/backfill.js';
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
});
