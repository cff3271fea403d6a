/**
 * A neighbour that claims nothing (an empty inventory) is never audited: an audit checks a claim,
 * and there is none. That is no hole: such a neighbour costs us no request and earns no fault (an
 * honest node just started claims nothing too), it is audited as soon as it claims something, and
 * it cannot keep its slot for ever: renewal drops a neighbour drawn uniformly, whatever it claims
 * (src/peers/neighbors.ts), every neighborRenewMs (120 s by default).
 */
import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { NeighborSet } from '../../src/peers/neighbors.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { seededRandom } from '../../src/runtime.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { Auditor, DEFAULT_AUDIT } from '../../src/sync/audit.js';
import { PeerViews } from '../../src/sync/peer-views.js';

const PEER = '127.0.0.9:7000';

describe('a neighbour that claims nothing', () => {
  it('is asked nothing and blamed for nothing by audits, and is audited within everyMs once it claims a chunk', async () => {
    const clock = new VirtualClock(1_000);
    const asked: number[] = [];
    const faults: string[] = [];
    const client = {
      getChunks: async () => {
        asked.push(clock.now());
        return { chunks: [], missing: [] };
      },
    };
    const noInventory = () => Promise.reject(new Error('unused'));
    const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: DEFAULT_LIMITS, self: () => 'self', localLength: () => 10 }, { maxPeers: 8 });
    const store = { inventory: new Inventory(10), addressAt: () => 'ab'.repeat(20) };
    const hooks = { called() {}, fault: (_peer: string, fault: string) => void faults.push(fault), health: () => 1, stalled() {} };
    const auditor = new Auditor({ store, views, client, clock, random: seededRandom(5), hooks });
    const lifetime = new AbortController();
    views.track(PEER);
    auditor.watch(PEER, lifetime.signal);
    // An hour of rounds (one a second), the view empty throughout.
    for (let t = 0; t < 3_600; t++) {
      auditor.run(lifetime.signal);
      await clock.advance(1_000);
    }
    expect(asked).toEqual([]);
    expect(faults).toEqual([]);
    // It claims a chunk: the next audit asks for it (and, told "don't have", blames it).
    views.markHeld(PEER, Uint32Array.of(3), clock.now());
    const claimedAt = clock.now();
    for (let t = 0; t * 1_000 <= DEFAULT_AUDIT.everyMs && asked.length === 0; t++) {
      auditor.run(lifetime.signal);
      await clock.advance(1_000);
    }
    expect(asked.length).toBe(1);
    expect((asked[0] as number) - claimedAt).toBeLessThanOrEqual(DEFAULT_AUDIT.everyMs);
    expect(faults).toEqual(['bad-data']);
    lifetime.abort();
    auditor.stop();
  });

  it('leaves the neighbour set at renewal like any other: a uniform draw of K, whatever it claims', () => {
    // K = 8 (the default), the one claiming nothing among them; each renewal drops a random one
    // and takes a new sample. Over 90 renewals (3 h at 120 s) it stayed with probability (7/8)^90.
    const stays: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const set = new NeighborSet(8, seededRandom(seed));
      for (let i = 0; i < 8; i++) set.add(i === 0 ? 'empty' : `n${i}`);
      let renewals = 0;
      for (let fresh = 0; set.has('empty') && renewals < 90; renewals++) {
        set.remove(set.pickForRenewal() as string);
        set.add(`new${fresh++}`);
      }
      expect(set.has('empty')).toBe(false);
      stays.push(renewals);
    }
    // About K renewals on average (16 min at the defaults).
    const mean = stays.reduce((a, b) => a + b, 0) / stays.length;
    expect(mean).toBeGreaterThan(5);
    expect(mean).toBeLessThan(12);
  });
});
