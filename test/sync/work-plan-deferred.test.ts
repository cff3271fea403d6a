/**
 * An address announced at two positions, backed off at one and then at the other while it still
 * waited: the first position's deferred bit went stale (the address's entry moved to the second),
 * and nothing ever cleared it, so a holder claiming only that position was never asked for it.
 * The path is a real one: a failed request spares a position another holder claims, that holder
 * goes (removed, or "don't have"), and the spared position backs off (backOffSpared) while the
 * address already waits at its other position.
 */
import { describe, expect, it } from 'vitest';
import { hashReady } from '../../src/hash/index.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { WorkPlan } from '../../src/sync/work-plan.js';

describe('WorkPlan: an address backed off at two of its positions in turn', () => {
  it('waits at one position only: once its back-off ends, a holder of the other position it waited at is asked', async () => {
    await hashReady();
    const [a] = generateChunks(1, seededRandom(31));
    const store = new MemoryChunkStore();
    await store.append([0, 1].map((position) => ({ position, address: a!.address })));
    const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
    const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength: () => 2 }, { maxPeers: 8 });
    for (const [peer, position] of [['X', 0], ['Z', 0], ['Y', 1]] as const) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.of(position), 0);
    }
    const plan = new WorkPlan(store, views, seededRandom(32), DEFAULT_DOWNLOADER);
    // Takes of one address: the window is not planned again (it is, when it runs shorter than a take).
    const only = (...peers: string[]) => (peer: string) => peers.includes(peer);
    // a is asked at 0 of X, which fails the request: Z claims 0 too, so 0 is spared and goes to Z.
    const first = plan.take(1, 1, 0, only('X'), () => 1).get('X');
    expect(first?.positions).toEqual([0]);
    plan.failRequest(first!, 0, 'X');
    plan.release(first!, 'all', 'X');
    // Z has no slot: a is asked at 1 of Y, the one holder there, which fails too: a backs off at 1.
    const second = plan.take(1, 1, 1, only('Y'), () => 1).get('Y');
    expect(second?.positions).toEqual([1]);
    plan.failRequest(second!, 1, 'Y');
    plan.release(second!, 'all', 'Y');
    // Z goes, and X says it does not have a after all: 0 is left to X alone, and backs off too.
    views.untrack('Z');
    views.clear('X', [0]);
    expect(plan.take(1, 1, 2, () => true, () => 1).size).toBe(0);
    // Long after every back-off: Y, which claims a at 1, is asked for it.
    plan.markStale();
    const later = plan.take(1, 10, 3_600_000, () => true, () => 1);
    expect(later.get('Y')?.positions).toEqual([1]);
  });
});
