/**
 * The ChainAdapter contract: what every adapter must do for ChainFollower and the node. Each
 * adapter's test file calls chainAdapterContract with a harness that knows how to make that
 * adapter announce and roll back.
 */
import { describe, expect, it } from 'vitest';
import { ChainFollower } from '../../src/sync/chain-follow.js';
import type { ChainAdapter, ChainEvent } from '../../src/chain/types.js';
import { isAtlasError } from '../../src/errors.js';
import { MemoryChunkStore } from '../../src/store/memory.js';

export interface ChainHarness {
  chain: ChainAdapter;
  /** Announces one chunk per key, at the next positions; returns their addresses. */
  announce(keys: readonly string[]): Promise<string[]>;
  /** Makes the chain drop every announcement at position >= length. */
  rollback(length: number): Promise<void>;
  dispose(): Promise<void>;
}

export function chainAdapterContract(name: string, make: () => Promise<ChainHarness>): void {
  describe(`ChainAdapter contract: ${name}`, () => {
    it('starts empty and reads nothing', async () => {
      const h = await make();
      expect(await h.chain.length()).toBe(0);
      expect(await h.chain.read(0, 10)).toEqual([]);
      await h.dispose();
    });

    it('appends at gapless positions, reads pages, and tells subscribers in order', async () => {
      const h = await make();
      const events: ChainEvent[] = [];
      h.chain.subscribe((event) => events.push(event));
      const first = await h.announce(['a.id', 'b.id']);
      const second = await h.announce(['c.id']);
      expect(await h.chain.length()).toBe(3);
      const all = await h.chain.read(0, 10);
      expect(all.map((a) => a.position)).toEqual([0, 1, 2]);
      expect(all.map((a) => a.address)).toEqual([...first, ...second]);
      expect((await h.chain.read(1, 1)).map((a) => a.address)).toEqual([first[1]]);
      expect(await h.chain.read(3, 5)).toEqual([]);
      const appended = events.flatMap((e) => (e.type === 'append' ? e.announcements.map((a) => a.position) : []));
      expect(appended).toEqual([0, 1, 2]);
      await h.dispose();
    });

    it('refuses a negative read with BAD_REQUEST', async () => {
      const h = await make();
      await expect(h.chain.read(-1, 1)).rejects.toSatisfy((e) => isAtlasError(e, 'BAD_REQUEST'));
      await h.dispose();
    });

    it('rolls back, says so, and continues at the rolled-back length', async () => {
      const h = await make();
      await h.announce(['a.id', 'b.id', 'c.id']);
      const events: ChainEvent[] = [];
      const unsubscribe = h.chain.subscribe((event) => events.push(event));
      await h.rollback(1);
      expect(await h.chain.length()).toBe(1);
      expect(events.find((e) => e.type === 'rollback')).toEqual({ type: 'rollback', length: 1 });
      const [again] = await h.announce(['d.id']);
      expect((await h.chain.read(1, 1))[0]).toMatchObject({ position: 1, address: again });
      unsubscribe();
      const before = events.length;
      await h.announce(['e.id']);
      expect(events.length).toBe(before);
      await h.dispose();
    });

    it('is followed by ChainFollower through appends and a rollback', async () => {
      const h = await make();
      const store = new MemoryChunkStore();
      const follower = new ChainFollower(store, h.chain);
      await h.announce(['a.id', 'b.id']);
      await follower.start();
      await h.announce(['c.id', 'd.id']);
      await h.rollback(3);
      const [last] = await h.announce(['f.id']);
      await follower.idle();
      expect(store.sequenceLength()).toBe(4);
      expect(store.addressAt(3)).toBe(last);
      expect(store.sequenceDigest()).toBe(await sequenceDigestOf(await h.chain.read(0, 10)));
      await follower.stop();
      await store.close();
      await h.dispose();
    });
  });
}

async function sequenceDigestOf(announcements: readonly { position: number; address: string }[]): Promise<string> {
  const store = new MemoryChunkStore();
  await store.append(announcements.map((a) => ({ position: a.position, address: a.address })));
  return store.sequenceDigest();
}
