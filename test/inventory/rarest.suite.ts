// Rarest-first planning; run by bitmaps-native.test.ts and bitmaps-wasm.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitmaps } from '../../src/inventory/bitmap.js';
import { Inventory, planRarestFirst, TIE_RUN, type PlannedPosition } from '../../src/inventory/index.js';
import { seededRandom } from '../../src/runtime.js';
import type { TestBitmap } from './backend.js';

function bump(counts: number[], index: number): void {
  counts[index] = (counts[index] ?? 0) + 1;
}

/** Naive holders of every position missing locally, from per-position `has` checks. */
function naiveHolders(own: Inventory, peers: Map<string, Inventory>, exclude: ReadonlySet<number>, candidates: Iterable<number>): Map<number, string[]> {
  const holders = new Map<number, string[]>();
  for (const position of candidates) {
    if (position >= own.length || own.has(position) || exclude.has(position)) continue;
    const who = [...peers].filter(([, inventory]) => inventory.has(position)).map(([peer]) => peer);
    if (who.length > 0) holders.set(position, who);
  }
  return holders;
}

/** Checks a plan against naive holders: right size, right holders, ascending counts, rarest prefix. */
function expectValidPlan(plan: PlannedPosition[], expected: Map<number, string[]>, limit: number): void {
  expect(plan).toHaveLength(Math.min(limit, expected.size));
  expect(new Set(plan.map((item) => item.position)).size).toBe(plan.length);
  for (const item of plan) expect(item.holders, `holders of ${item.position}`).toEqual(expected.get(item.position));
  const counts = plan.map((item) => item.holders.length);
  for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1] as number);
  // The plan is the `limit` rarest: its counts are the smallest counts of all candidates.
  const allCounts = [...expected.values()].map((who) => who.length).sort((a, b) => a - b);
  expect(counts).toEqual(allCounts.slice(0, plan.length));
}

describe('planRarestFirst', () => {
  it('orders missing positions by holder count and names the holders', () => {
    const own = Inventory.fromPositions([0, 1], 10);
    const peers = new Map([
      ['a', Inventory.fromPositions([0, 2, 3, 4, 9], 10)],
      ['b', Inventory.fromPositions([2, 3, 5], 10)],
      ['c', Inventory.fromPositions([1, 2, 5, 12], 13)],
    ]);
    const plan = planRarestFirst({ own, peers, random: seededRandom(1), limit: 10 });
    const counts = new Map(plan.map((item) => [item.position, item.holders]));
    expect(plan.map((item) => item.position).slice(0, 2).sort()).toEqual([4, 9]);
    expect(plan.map((item) => item.position).slice(2, 4).sort()).toEqual([3, 5]);
    expect(plan[4]).toEqual({ position: 2, holders: ['a', 'b', 'c'] });
    expect(counts.get(3)).toEqual(['a', 'b']);
    expect(counts.get(5)).toEqual(['b', 'c']);
    expect(counts.get(9)).toEqual(['a']);
    // 12 is past our sequence; 0 and 1 we hold; 6, 7, 8 nobody holds.
    expect(plan).toHaveLength(5);
  });

  it('gives the positions every peer holds one frozen list of them all, in their order, and every other position a list of its own', () => {
    const own = new Inventory(64);
    const all = Array.from({ length: 40 }, (_, i) => i);
    const peers = new Map([
      ['c', Inventory.fromPositions(all, 64)],
      ['a', Inventory.fromPositions(all.filter((p) => p % 3 !== 0), 64)],
      ['b', Inventory.fromPositions(all.filter((p) => p % 2 === 0), 64)],
    ]);
    const plan = planRarestFirst({ own, peers, random: seededRandom(5), limit: 64 });
    expectValidPlan(plan, naiveHolders(own, peers, new Set(), all), 64);
    const everyPeer = plan.filter((item) => item.holders.length === 3);
    const others = plan.filter((item) => item.holders.length < 3);
    expect(everyPeer.length).toBeGreaterThan(1);
    expect(others.length).toBeGreaterThan(1);
    for (const item of everyPeer) expect(item.holders).toBe(everyPeer[0]?.holders);
    expect(everyPeer[0]?.holders).toEqual(['c', 'a', 'b']);
    expect(Object.isFrozen(everyPeer[0]?.holders)).toBe(true);
    expect(new Set(others.map((item) => item.holders)).size).toBe(others.length);
  });

  it('names a peer holding the whole plan in its place among the others, and gives a plan every peer holds whole one shared list', () => {
    const own = new Inventory(64);
    const all = Array.from({ length: 40 }, (_, i) => i);
    const peers = new Map([
      ['a', Inventory.fromPositions(all.filter((p) => p % 3 !== 0), 64)],
      ['whole', Inventory.fromPositions(all, 64)],
      ['b', Inventory.fromPositions(all.filter((p) => p % 2 === 0), 64)],
    ]);
    const plan = planRarestFirst({ own, peers, random: seededRandom(6), limit: 64 });
    expectValidPlan(plan, naiveHolders(own, peers, new Set(), all), 64);
    const holdersOf = (position: number) => plan.find((item) => item.position === position)?.holders;
    expect([holdersOf(3), holdersOf(6), holdersOf(1), holdersOf(4)]).toEqual([['whole'], ['whole', 'b'], ['a', 'whole'], ['a', 'whole', 'b']]);

    const everyone = new Map([
      ['x', Inventory.fromPositions(all, 64)],
      ['y', Inventory.fromPositions([...all, 50], 64)],
    ]);
    const shared = planRarestFirst({ own, peers: everyone, random: seededRandom(7), limit: 64 });
    expectValidPlan(shared, naiveHolders(own, everyone, new Set(), [...all, 50]), 64);
    const byAll = shared.filter((item) => item.position !== 50);
    expect(byAll).toHaveLength(40);
    for (const item of byAll) expect(item.holders).toBe(byAll[0]?.holders);
    expect(byAll[0]?.holders).toEqual(['x', 'y']);
    expect(shared.find((item) => item.position === 50)?.holders).toEqual(['y']);
  });

  it('honours limit, exclusion in every form, and empty inputs', () => {
    const own = new Inventory(100);
    const peers = new Map([['a', Inventory.fromPositions([1, 2, 3, 4, 5], 100)]]);
    const random = seededRandom(2);
    expect(planRarestFirst({ own, peers, random, limit: 0 })).toEqual([]);
    expect(planRarestFirst({ own, peers, random, limit: 3 })).toHaveLength(3);
    expect(planRarestFirst({ own, peers: new Map(), random, limit: 3 })).toEqual([]);
    expect(planRarestFirst({ own: new Inventory(0), peers, random, limit: 3 })).toEqual([]);
    for (const exclude of [new Set([2, 4]), [2, 4], Uint32Array.of(2, 4), bitmaps.create([2, 4])]) {
      const plan = planRarestFirst({ own, peers, exclude, random, limit: 10 });
      expect(plan.map((item) => item.position).sort()).toEqual([1, 3, 5]);
    }
    expect(planRarestFirst({ own: Inventory.fromPositions([1, 2, 3, 4, 5], 100), peers, random, limit: 10 })).toEqual([]);
    expect(() => planRarestFirst({ own, peers, random, limit: -1 })).toThrow(RangeError);
  });

  it('pairs holders with positions in a plan longer than 2^21 positions too (sorted another way)', () => {
    const length = 2 ** 21 + 3;
    const all = Inventory.fromPositions(Uint32Array.from({ length }, (_, i) => i), length);
    const odd = Inventory.fromPositions(Uint32Array.from({ length: Math.ceil(length / 2) }, (_, i) => 2 * i + 1).filter((p) => p < length), length);
    const plan = planRarestFirst({ own: new Inventory(length), peers: new Map([['all', all], ['odd', odd]]), random: seededRandom(5), limit: length });
    expect(plan).toHaveLength(length);
    let wrong = 0;
    for (const { position, holders } of plan) if (holders.join() !== (position % 2 === 1 ? 'all,odd' : 'all')) wrong++;
    expect(wrong).toBe(0);
    // Rarest first: every even position (one holder) before any odd one (two).
    expect(plan.findIndex((item) => item.position % 2 === 1)).toBe(Math.ceil(length / 2));
  });

  it('is reproducible from the seed', () => {
    const own = new Inventory(1000);
    const peers = new Map(['a', 'b', 'c'].map((peer, i) => [peer, Inventory.fromPositions(Array.from({ length: 300 }, (_, k) => (k * (i + 3)) % 1000), 1000)]));
    const first = planRarestFirst({ own, peers, random: seededRandom(42), limit: 50 });
    const again = planRarestFirst({ own, peers, random: seededRandom(42), limit: 50 });
    const other = planRarestFirst({ own, peers, random: seededRandom(43), limit: 50 });
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('draws from a large tie set by runs exactly as from its whole array: dense and gapped runs, both counting methods', () => {
    // 300,000 positions, every one held by the one peer; we hold every seventh and a block, so the
    // ties have runs without gaps and runs with them.
    const length = 300_000;
    const held = Uint32Array.from({ length }, (_, i) => i).filter((p) => p % 7 === 0 || (p >= 100_000 && p < 100_500));
    const own = Inventory.fromPositions(held, length);
    const peers = new Map([['p', Inventory.fromPositions(Uint32Array.from({ length }, (_, i) => i), length)]]);
    for (const seed of [1, 2, 3]) {
      const bySlices = planRarestFirst({ own, peers, random: seededRandom(seed), limit: 10_000, counting: 'slices' });
      const byCounters = planRarestFirst({ own, peers, random: seededRandom(seed), limit: 10_000, counting: 'counters' });
      expect(bySlices).toEqual(byCounters);
      expect(bySlices).toHaveLength(10_000);
      expect(new Set(bySlices.map((item) => item.position)).size).toBe(10_000);
      for (const { position } of bySlices) expect(own.has(position)).toBe(false);
    }
  });

  it('matches a naive count on random small cases (property)', () => {
    const caseArb = fc.record({
      length: fc.integer({ min: 1, max: 300 }),
      own: fc.array(fc.nat(299), { maxLength: 200 }),
      peers: fc.array(fc.array(fc.nat(320), { maxLength: 250 }), { maxLength: 7 }),
      exclude: fc.array(fc.nat(299), { maxLength: 30 }),
      limit: fc.integer({ min: 0, max: 320 }),
      seed: fc.nat(),
    });
    fc.assert(
      fc.property(caseArb, (c) => {
        const own = Inventory.fromPositions(c.own.filter((p) => p < c.length), c.length);
        const peers = new Map(c.peers.map((positions, i) => [`peer-${i}`, Inventory.fromPositions(positions, 321)]));
        const exclude = new Set(c.exclude);
        const plan = planRarestFirst({ own, peers, exclude, random: seededRandom(c.seed), limit: c.limit });
        expectValidPlan(plan, naiveHolders(own, peers, exclude, Array.from({ length: c.length }, (_, i) => i)), c.limit);
        // Both counting methods make the same draws, so they give the same plan.
        for (const counting of ['counters', 'slices'] as const) {
          expect(planRarestFirst({ own, peers, exclude, random: seededRandom(c.seed), limit: c.limit, counting })).toEqual(plan);
        }
      }),
      { numRuns: 200 },
    );
  });

  it.each(['counters', 'slices'] as const)('breaks ties uniformly at random across seeds (%s)', (counting) => {
    // Ten positions each held by one peer, five held by two: the singles always come first, and
    // which single comes first is uniform over the seeds (chi-square, 9 degrees of freedom).
    const own = new Inventory(20);
    const peers = new Map([
      ['a', Inventory.fromPositions([0, 1, 2, 3, 4, 10, 11, 12, 13, 14], 20)],
      ['b', Inventory.fromPositions([5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 20)],
    ]);
    const runs = 4000;
    const firsts = new Array<number>(10).fill(0);
    const lasts = new Array<number>(5).fill(0);
    for (let seed = 0; seed < runs; seed++) {
      const plan = planRarestFirst({ own, peers, random: seededRandom(seed), limit: 15, counting });
      expect(plan.slice(0, 10).every((item) => item.position < 10)).toBe(true);
      expect(plan.slice(10).every((item) => item.position >= 10)).toBe(true);
      bump(firsts, plan[0]!.position);
      bump(lasts, plan[14]!.position - 10);
    }
    const chiSquare = (observed: number[]) => {
      const expected = runs / observed.length;
      return observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
    };
    // Critical values at p = 1e-4: 33.72 for 9 degrees of freedom, 23.51 for 4.
    expect(chiSquare(firsts)).toBeLessThan(33.72);
    expect(chiSquare(lasts)).toBeLessThan(23.51);
    expect(Math.min(...firsts)).toBeGreaterThan(0);
  });

  it.each(['counters', 'slices'] as const)('samples ties uniformly when the limit cuts through a tie (%s)', (counting) => {
    const own = new Inventory(8);
    const peers = new Map([['a', Inventory.fromPositions([0, 1, 2, 3, 4, 5, 6, 7], 8)]]);
    const picked = new Array<number>(8).fill(0);
    const runs = 4000;
    for (let seed = 0; seed < runs; seed++) {
      const plan = planRarestFirst({ own, peers, random: seededRandom(seed), limit: 2, counting });
      expect(plan).toHaveLength(2);
      for (const item of plan) bump(picked, item.position);
    }
    const expected = (runs * 2) / 8;
    const chi = picked.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(31.26); // p = 1e-4, 7 degrees of freedom
  });

  it.each(['counters', 'slices'] as const)('draws ties in runs of neighbours, so a serving log written in order reads them side by side (%s)', (counting) => {
    const length = 12 * TIE_RUN;
    const own = new Inventory(length);
    const peers = new Map([['a', Inventory.fromPositions(Array.from({ length }, (_, i) => i), length)]]);
    for (let seed = 0; seed < 50; seed++) {
      const plan = planRarestFirst({ own, peers, random: seededRandom(seed), limit: 8 * TIE_RUN, counting }).map((item) => item.position);
      expect(new Set(plan).size).toBe(8 * TIE_RUN);
      // Eight runs of TIE_RUN neighbours; the one run that wraps past the last tie splits in two.
      let breaks = 0;
      for (let i = 1; i < plan.length; i++) if (plan[i] !== (plan[i - 1] as number) + 1) breaks++;
      expect(breaks).toBeLessThanOrEqual(8);
      // Each run is whole: TIE_RUN ties in a row, counted circularly past the last one.
      for (let k = 0; k < plan.length; k += TIE_RUN) {
        const run = plan.slice(k, k + TIE_RUN);
        expect(run.map((position) => (position - (run[0] as number) + length) % length)).toEqual(Array.from({ length: TIE_RUN }, (_, j) => j));
      }
    }
  });

  describe('a million positions and 80 peers', () => {
    const length = 1_000_000;
    const peerIds = Array.from({ length: 80 }, (_, i) => `peer-${i}`);

    it('when most positions are held locally, plans the rarest of the missing ones', () => {
      const random = seededRandom(7);
      const ownPositions: number[] = [];
      for (let i = 0; i < length; i++) if (random() < 0.99) ownPositions.push(i);
      const own = Inventory.fromPositions(Uint32Array.from(ownPositions), length);
      const peers = new Map<string, Inventory>();
      for (const peer of peerIds) {
        const held = new Uint32Array(length);
        let n = 0;
        for (let i = 0; i < length; i++) if (random() < 0.9) held[n++] = i;
        peers.set(peer, Inventory.fromPositions(held.subarray(0, n), length));
      }
      const exclude = new Set<number>();
      const missing = own.missingFrom(peers.get('peer-0')!);
      for (let k = 0; k < missing.length; k += 10) exclude.add(missing[k] as number);

      const limit = 500;
      const plan = planRarestFirst({ own, peers, exclude, random: seededRandom(1), limit });
      const candidates = new Set<number>();
      for (const inventory of peers.values()) for (const position of own.missingFrom(inventory)) candidates.add(position);
      expect(candidates.size).toBeGreaterThan(5000);
      expectValidPlan(plan, naiveHolders(own, peers, exclude, candidates), limit);
      expect(planRarestFirst({ own, peers, exclude, random: seededRandom(1), limit, counting: 'slices' })).toEqual(plan);
    });

    it('for a fresh node, finds the few rare positions among a million held by everyone', () => {
      const own = new Inventory(length);
      // Every peer holds everything but the rare positions: 1000 held by one peer, 1000 by two.
      const rareOnce = Array.from({ length: 1000 }, (_, k) => k * 1000 + 17);
      const rareTwice = Array.from({ length: 1000 }, (_, k) => k * 1000 + 503);
      const peers = new Map<string, Inventory>();
      peerIds.forEach((peer, p) => {
        const bitmap = bitmaps.fromRange(0, length) as TestBitmap;
        bitmap.removeMany(rareOnce.filter((_, k) => k % 80 !== p));
        bitmap.removeMany(rareTwice.filter((_, k) => k % 80 !== p && (k + 1) % 80 !== p));
        peers.set(peer, Inventory.fromBitmap(bitmap, length));
      });
      const plan = planRarestFirst({ own, peers, random: seededRandom(3), limit: 2100 });
      expect(planRarestFirst({ own, peers, random: seededRandom(3), limit: 2100, counting: 'slices' })).toEqual(plan);
      expect(plan).toHaveLength(2100);
      expect(plan.slice(0, 1000).map((item) => item.position).sort((a, b) => a - b)).toEqual(rareOnce);
      expect(plan.slice(1000, 2000).map((item) => item.position).sort((a, b) => a - b)).toEqual(rareTwice);
      plan.slice(0, 1000).forEach((item) => expect(item.holders).toEqual([`peer-${((item.position - 17) / 1000) % 80}`]));
      plan.slice(1000, 2000).forEach((item) => expect(item.holders).toHaveLength(2));
      plan.slice(2000).forEach((item) => expect(item.holders).toHaveLength(80));
    });
  });
});
