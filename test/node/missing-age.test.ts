/**
 * `missing()` ages a chunk from when the node first knew it announced and not held (its open, or
 * the announcement's arrival), not from the first `missing()` call: a node without sources builds
 * its missing list only when asked.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { Backfiller } from '../../src/sync/sources/backfill.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { steppedClock } from '../support/clock.js';
import { waitFor } from '../support/wait.js';

const chunk = (name: string) => new Uint8Array(Buffer.from(`$ORIGIN ${name}.id\n`));
const addressOf = (name: string) => hash160Hex(chunk(name));

async function openNode(chain: MemoryChain) {
  const clock = steppedClock();
  const store = new MemoryChunkStore();
  const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a'), clock, store });
  return { clock, node, store };
}

/** Turns a bit of `name`'s stored bytes and reads it, so the node finds it corrupt and removes it. */
async function loseOnRead(node: AtlasNode, store: MemoryChunkStore, name: string): Promise<void> {
  const held = store.rawChunk(addressOf(name))!;
  held[0] = (held[0] as number) ^ 0xff; // the disk turned a bit
  const quarantined = once(node, 'chunk:corrupt');
  expect((await node.getChunks([addressOf(name)])).size).toBe(0); // found on read, then removed
  await quarantined;
}

/** Runs `body` on a node opened on `chain`, closing it whatever happens. */
async function withNode(chain: MemoryChain, body: (parts: Awaited<ReturnType<typeof openNode>>) => Promise<void>): Promise<void> {
  const parts = await openNode(chain);
  try {
    await body(parts);
  } finally {
    await parts.node.close();
  }
}

const ages = (node: AtlasNode) => node.missing().map(({ address, ageMs, attempts }) => ({ address, ageMs, attempts }));

describe('missing() ages', () => {
  it('a chunk announced before the node opened ages from the open, the first missing() call included', async () => {
    const chain = new MemoryChain();
    chain.announce([addressOf('alice'), addressOf('bob')]);
    await withNode(chain, async ({ clock, node }) => {
      await node.putChunks([chunk('alice')]);
      clock.advance(60_000);
      expect(ages(node)).toEqual([{ address: addressOf('bob'), ageMs: 60_000, attempts: 0 }]);
      clock.advance(1_000);
      expect(node.missing()[0]?.ageMs).toBe(61_000);
    });
  });

  it('a chunk announced while the node runs ages from its announcement, oldest first', async () => {
    const chain = new MemoryChain();
    chain.announce([addressOf('alice')]);
    await withNode(chain, async ({ clock, node }) => {
      await node.start();
      clock.advance(30_000);
      chain.announce([addressOf('bob')]);
      await waitFor(() => node.store.sequenceLength() === 2, 'the announcement followed', 5_000);
      clock.advance(10_000);
      expect(ages(node)).toEqual([
        { address: addressOf('alice'), ageMs: 40_000, attempts: 0 },
        { address: addressOf('bob'), ageMs: 10_000, attempts: 0 },
      ]);
    });
  });

  it('a position announced again after a rollback ages from the new announcement', async () => {
    const chain = new MemoryChain();
    chain.announce([addressOf('alice'), addressOf('bob')]);
    await withNode(chain, async ({ clock, node }) => {
      clock.advance(20_000);
      chain.rollback(1);
      chain.announce([addressOf('carol')]);
      await waitFor(() => node.store.addressAt(1) === addressOf('carol'), 'the reorganisation followed', 5_000);
      clock.advance(5_000);
      expect(ages(node)).toEqual([
        { address: addressOf('alice'), ageMs: 25_000, attempts: 0 },
        { address: addressOf('carol'), ageMs: 5_000, attempts: 0 },
      ]);
    });
  });

  it('remembers a bounded number of lengths between scans: past it, ages err short, never long', async () => {
    const clock = steppedClock();
    const store = new MemoryChunkStore();
    const chain = new MemoryChain();
    await store.append(chain.announce([addressOf('first')]));
    const backfill = new Backfiller({ store, sources: [{ name: 'never', fetch: async () => undefined }], clock });
    const appends = 3_000;
    for (let i = 0; i < appends; i++) {
      clock.advance(1);
      await store.append(chain.announce([addressOf(`n${i}`)]));
      backfill.sequenceChanged();
    }
    const missing = backfill.missing();
    expect(missing).toHaveLength(appends + 1);
    // position p was announced at clock tick p (0 for the one there at construction): its true age is appends - p
    missing.forEach((item, position) => expect(item.ageMs, `position ${position}`).toBeLessThanOrEqual(appends - position));
    expect(missing[0]?.ageMs).toBe(appends);
    expect(missing[appends]?.ageMs).toBe(0);
    // at most 1,024 lengths kept (each a distinct age, plus "now"), thinned evenly: no age more than a few dozen ticks short
    expect(new Set(missing.map((item) => item.ageMs)).size).toBeLessThanOrEqual(1_025);
    expect(Math.max(...missing.map((item, position) => appends - position - item.ageMs))).toBeLessThan(32);
  });
});

describe('missing() after a loss', () => {
  it('a loss reported for a chunk still held, or announced nowhere, adds nothing', async () => {
    const clock = steppedClock();
    const store = new MemoryChunkStore();
    const chain = new MemoryChain();
    await store.append(chain.announce([addressOf('alice')]));
    await store.putMany([chunk('alice')]);
    const backfill = new Backfiller({ store, sources: [{ name: 'never', fetch: async () => undefined }], clock });
    backfill.lost(addressOf('alice')); // held
    backfill.lost(addressOf('nobody')); // not announced
    expect(backfill.missing()).toEqual([]);
  });

  it('lists a chunk found corrupt and removed, aged from its loss, until it is held again', async () => {
    const chain = new MemoryChain();
    chain.announce([addressOf('alice')]);
    await withNode(chain, async ({ clock, node, store }) => {
      await node.putChunks([chunk('alice')]);
      clock.advance(50_000);
      expect(node.missing()).toEqual([]);
      await loseOnRead(node, store, 'alice');
      clock.advance(7_000);
      expect(ages(node)).toEqual([{ address: addressOf('alice'), ageMs: 7_000, attempts: 0 }]);
      await node.putChunks([chunk('alice')]);
      expect(node.missing()).toEqual([]);
    });
  });

  it('keeps missing() oldest first when a chunk lost now precedes older ones a later scan finds', async () => {
    const chain = new MemoryChain();
    chain.announce([addressOf('alice')]);
    await withNode(chain, async ({ clock, node, store }) => {
      await node.start();
      await node.putChunks([chunk('alice')]);
      expect(node.missing()).toEqual([]);
      chain.announce([addressOf('carol')]); // known from now, found by the next scan
      await waitFor(() => store.sequenceLength() === 2, 'the announcement followed', 5_000);
      clock.advance(10_000);
      await loseOnRead(node, store, 'alice'); // alice is tracked first, aged from now
      clock.advance(10_000);
      expect(ages(node)).toEqual([
        { address: addressOf('carol'), ageMs: 20_000, attempts: 0 },
        { address: addressOf('alice'), ageMs: 10_000, attempts: 0 },
      ]);
      expect(node.missing(1).map((item) => item.address)).toEqual([addressOf('carol')]);
    });
  });
});
