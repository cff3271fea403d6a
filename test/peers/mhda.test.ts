import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { backtrackAcceptance, MhdaSampler, RandomWalkSampler } from '../../src/peers/mhda.js';
import type { WalkSampler } from '../../src/peers/walk-sampler.js';
import { DEFAULT_BURN_IN, type NeighborList, type WalkSamplerOptions } from '../../src/peers/walk-types.js';
import { randomInt, seededRandom, shuffle, type Random } from '../../src/runtime.js';
import {
  barabasiAlbertGraph,
  configurationModelGraph,
  degrees,
  erdosRenyiWithLeavesGraph,
  randomRegularGraph,
  toPeerLists,
  type Adjacency,
} from '../../src/sim/graphs.js';
import { chiSquareGoodnessOfFit, chiSquarePValue, chiSquareUniform, type ChiSquareResult } from '../../src/sim/stats.js';

// SPEC §5.3 "How to test a sampler": ~1,000 nodes, ~20,000 independent walks of 100 steps.
const NODES = 1_000;
const WALKS = 20_000;
const WALK_STEPS = 100;
const P_MIN = 1e-4;

type SamplerClass = new (options: WalkSamplerOptions) => WalkSampler;

interface EndNodeRun {
  adjacency: Adjacency;
  sampler?: SamplerClass;
  seed: number;
  /** The local table restarts draw from; every node by default. */
  table?: readonly string[];
  maxDegree?: number;
  reuseLists?: boolean;
  /** Counts neighbors() calls. */
  calls?: { count: number };
}

/** Where WALKS independent walks of WALK_STEPS steps end, counted per node. */
async function endNodeCounts(run: EndNodeRun): Promise<Float64Array> {
  const lists = toPeerLists(run.adjacency);
  const table = run.table ?? [...lists.keys()];
  const random = seededRandom(run.seed);
  const Sampler = run.sampler ?? MhdaSampler;
  const options: WalkSamplerOptions = {
    neighbors: (peer) => {
      if (run.calls) run.calls.count++;
      return lists.get(peer) ?? [];
    },
    random,
    start: () => table[randomInt(random, table.length)] as string,
    // Generated graphs are simple; the duplicate check has its own test below.
    distinctLists: true,
    ...(run.maxDegree === undefined ? {} : { maxDegree: run.maxDegree }),
    ...(run.reuseLists === undefined ? {} : { reuseLists: run.reuseLists }),
  };
  const counts = new Float64Array(run.adjacency.length);
  let discarded = 0;
  for (let w = 0; w < WALKS; w++) {
    const end = await new Sampler(options).walk(WALK_STEPS);
    if (end === undefined) discarded++;
    else counts[Number(end)] = (counts[Number(end)] ?? 0) + 1;
  }
  expect(discarded).toBe(0);
  return counts;
}

const GRAPHS: Array<[name: string, build: () => Adjacency]> = [
  ['random 8-regular', () => randomRegularGraph(NODES, 8, seededRandom(101))],
  ['configuration model, degrees 6-10', () => configurationModelGraph(NODES, 6, 10, seededRandom(102))],
  ['Barabási-Albert, m = 3', () => barabasiAlbertGraph(NODES, 3, seededRandom(103))],
  ['Erdős-Rényi core with 200 leaves', () => erdosRenyiWithLeavesGraph(NODES, { leaves: 200, meanDegree: 6 }, seededRandom(104))],
];

const ba = barabasiAlbertGraph(NODES, 3, seededRandom(103));
const baDegrees = degrees(ba);

describe('MHDA end nodes are uniform (chi-square, p > 1e-4)', () => {
  it.each(GRAPHS)('%s, starts uniform over the graph', async (_name, build) => {
    const result = chiSquareUniform(await endNodeCounts({ adjacency: build(), seed: 7 }));
    expect(result.degreesOfFreedom).toBe(NODES - 1);
    expect(result.pValue).toBeGreaterThan(P_MIN);
  });

  it('Barabási-Albert, every walk starting at one of the 10 biggest hubs', async () => {
    const hubs = [...baDegrees.keys()].sort((a, b) => (baDegrees[b] as number) - (baDegrees[a] as number)).slice(0, 10);
    const result = chiSquareUniform(await endNodeCounts({ adjacency: ba, seed: 8, table: hubs.map(String) }));
    expect(result.pValue).toBeGreaterThan(P_MIN);
  });

  it('Erdős-Rényi with leaves, every walk starting at a leaf', async () => {
    const graph = erdosRenyiWithLeavesGraph(NODES, { leaves: 200, meanDegree: 6 }, seededRandom(104));
    const leaves = [...graph.keys()].filter((v) => graph[v]?.length === 1).map(String);
    expect(leaves.length).toBeGreaterThanOrEqual(200);
    const result = chiSquareUniform(await endNodeCounts({ adjacency: graph, seed: 9, table: leaves }));
    expect(result.pValue).toBeGreaterThan(P_MIN);
  });
});

describe('reuseLists: the previous step\'s lists reused', () => {
  it.each(GRAPHS)('%s: end nodes still uniform, at about one call a step instead of two or more', async (_name, build) => {
    const adjacency = build();
    const reused = { count: 0 };
    const result = chiSquareUniform(await endNodeCounts({ adjacency, seed: 7, reuseLists: true, calls: reused }));
    expect(result.pValue).toBeGreaterThan(P_MIN);
    const fresh = { count: 0 };
    await endNodeCounts({ adjacency, seed: 7, calls: fresh });
    expect(fresh.count / (WALKS * WALK_STEPS)).toBeGreaterThanOrEqual(2);
    expect(reused.count / (WALKS * WALK_STEPS)).toBeLessThan(1.3);
  });

  it('uses a list at most one step after fetching it: a walk between two peers reads each list every other step', async () => {
    let calls = 0;
    const lists = new Map([['a', ['b']], ['b', ['a']]]);
    const sampler = new MhdaSampler({ neighbors: (p) => (calls++, lists.get(p) ?? []), random: seededRandom(4), start: () => 'a', burnIn: 0, reuseLists: true });
    for (let s = 0; s < 100; s++) await sampler.step();
    expect(calls).toBeGreaterThanOrEqual(50);
    expect(calls).toBeLessThanOrEqual(102);
  });

  it('a restart reads fresh lists: after a failure the walk asks start()\'s peer again', async () => {
    const ring = faultyRing();
    const sampler = new MhdaSampler({ neighbors: ring.neighbors, random: seededRandom(1), start: ring.start, reuseLists: true, burnIn: 0 });
    for (let s = 0; s < 10; s++) await sampler.step();
    const callsBefore = ring.state.calls;
    ring.state.failAtCall = ring.state.calls + 1;
    expect(await sampler.step()).toBeUndefined(); // restarted at '5'
    expect(ring.state.calls).toBe(callsBefore + 1);
    await sampler.step();
    // Two calls: '5' (its list was not kept across the restart) and the proposal.
    expect(ring.state.calls).toBe(callsBefore + 3);
  });
});

describe('negative control: the plain random walk', () => {
  it('fails the same test on Barabási-Albert (p < 1e-4) and fits π(v) ∝ d(v) instead', async () => {
    const counts = await endNodeCounts({ adjacency: ba, seed: 7, sampler: RandomWalkSampler });
    expect(chiSquareUniform(counts).pValue).toBeLessThan(P_MIN);
    expect(chiSquareGoodnessOfFit(counts, baDegrees).pValue).toBeGreaterThan(P_MIN);
  });

  it('while MHDA on the same graph does not fit π(v) ∝ d(v)', async () => {
    const counts = await endNodeCounts({ adjacency: ba, seed: 7 });
    expect(chiSquareGoodnessOfFit(counts, baDegrees).pValue).toBeLessThan(P_MIN);
  });
});

describe('maxDegree cap', () => {
  it('biases MHDA to π(v) ∝ d(v) / min(d(v), C), as SPEC §5.3 warns', async () => {
    const cap = 6;
    const counts = await endNodeCounts({ adjacency: ba, seed: 10, maxDegree: cap });
    expect(chiSquareUniform(counts).pValue).toBeLessThan(P_MIN);
    expect(chiSquareGoodnessOfFit(counts, baDegrees.map((d) => d / Math.min(d, cap))).pValue).toBeGreaterThan(P_MIN);
  });

  it('samples a fresh uniform subset of a long list and takes d as the capped length', async () => {
    // A star: hub a with six leaves, capped at 2. A fixed subset would only ever reach two leaves;
    // with d(a) = 2 rather than 6, a leaf's proposal of a is accepted half the time, not a sixth.
    const leaves = ['b', 'c', 'd', 'e', 'f', 'g'];
    const lists = new Map<string, string[]>([['a', leaves], ...leaves.map((v): [string, string[]] => [v, ['a']])]);
    const sampler = new MhdaSampler({ neighbors: (p) => lists.get(p) ?? [], random: seededRandom(3), start: () => 'a', burnIn: 0, maxDegree: 2 });
    const visits = new Map<string, number>();
    let fromLeaf = 0;
    let leafToHub = 0;
    for (let s = 0; s < 20_000; s++) {
      const at = sampler.current;
      await sampler.step();
      const now = sampler.current as string;
      if (at !== undefined && at !== 'a') {
        fromLeaf++;
        if (now === 'a') leafToHub++;
      }
      if (now !== 'a') visits.set(now, (visits.get(now) ?? 0) + 1);
    }
    expect(visits.size).toBe(6);
    expect(chiSquareUniform([...visits.values()]).pValue).toBeGreaterThan(P_MIN);
    expect(Math.abs(leafToHub / fromLeaf - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / fromLeaf));
  });
});

describe('restart burn-in (SPEC §5.3 practical rules)', () => {
  it('removes most of the bias restarts cause when 5 % of steps hit a dead peer', async () => {
    const lists = toPeerLists(ba);
    const table = shuffle([...lists.keys()], seededRandom(5)).slice(0, 50);
    const run = async (burnIn: number) => {
      const random = seededRandom(11);
      const counts = new Float64Array(NODES);
      let restarts = 0;
      let steps = 0;
      for (let w = 0; w < WALKS; w++) {
        const sampler = new MhdaSampler({
          // Each call fails with probability 2.5 %: a step makes two calls or three.
          neighbors: (peer) => (random() < 0.025 ? [] : (lists.get(peer) ?? [])),
          random,
          start: () => table[randomInt(random, table.length)] as string,
          burnIn,
          distinctLists: true,
        });
        await sampler.walk(WALK_STEPS);
        const sample = Number(await sampler.sample({ maxSteps: 10_000 }));
        counts[sample] = (counts[sample] ?? 0) + 1;
        restarts += sampler.restarts;
        steps += sampler.steps;
      }
      return { result: chiSquareUniform(counts), restartRate: restarts / steps };
    };
    const without = await run(0);
    const withBurnIn = await run(DEFAULT_BURN_IN);
    for (const { restartRate } of [without, withBurnIn]) {
      expect(restartRate).toBeGreaterThan(0.045);
      expect(restartRate).toBeLessThan(0.06);
    }
    expect(without.result.pValue).toBeLessThan(P_MIN);
    // The statistic's excess over its df estimates N · Σ (p_v − 1/n)² · n, the squared bias.
    const excess = (r: ChiSquareResult) => r.statistic - r.degreesOfFreedom;
    expect(excess(withBurnIn.result)).toBeLessThan(0.1 * excess(without.result));
  });
});

/** SPEC §5.3 step 4 written out, as the test's own reference. */
const specAcceptance = (dj: number, dk2: number, di: number) => Math.min(1, Math.min(1, (dj / dk2) ** 2) * Math.max(1, (di / dj) ** 2));
/** The original code's mistake: a three-argument min, which drops the max term. */
const threeArgumentMin = (dj: number, dk2: number, di: number) => Math.min(1, (dj / dk2) ** 2, Math.max(1, (di / dj) ** 2));

describe('backtrackAcceptance', () => {
  it('is the product min{1,(dj/dk′)²} · max{1,(di/dj)²}, capped at 1, not a three-argument min', () => {
    expect(backtrackAcceptance(2, 4, 4)).toBe(1); // the three-argument min gives 0.25
    expect(threeArgumentMin(2, 4, 4)).toBe(0.25);
    expect(backtrackAcceptance(3, 6, 4)).toBeCloseTo((1 / 4) * (16 / 9), 15);
    expect(backtrackAcceptance(2, 4, 2)).toBe(0.25);
    expect(backtrackAcceptance(4, 2, 1)).toBe(1);
    expect(backtrackAcceptance(5, 5, 5)).toBe(1);
    for (let dj = 2; dj <= 12; dj++) {
      for (let dk2 = 1; dk2 <= 12; dk2++) {
        for (let di = 1; di <= 12; di++) {
          const p = backtrackAcceptance(dj, dk2, di);
          expect(p).toBeCloseTo(specAcceptance(dj, dk2, di), 15);
          expect(p).toBeGreaterThan(0);
          expect(p).toBeLessThanOrEqual(1);
          // Never below the buggy form, and above it exactly when both factors matter.
          const buggy = threeArgumentMin(dj, dk2, di);
          if (dk2 > dj && di > dj) expect(p).toBeGreaterThan(buggy);
          else expect(p).toBeCloseTo(buggy, 15);
        }
      }
    }
  });
});

/**
 * The exact next-node distribution from j, having come from i (undefined: no previous), by SPEC
 * §5.3, with step 4's acceptance as a parameter. Staying is the key j.
 */
function specTransition(
  lists: Map<string, string[]>,
  i: string | undefined,
  j: string,
  acceptance: (dj: number, dk2: number, di: number) => number,
): Map<string, number> {
  const next = new Map<string, number>();
  const add = (v: string, p: number) => {
    if (p > 0) next.set(v, (next.get(v) ?? 0) + p);
  };
  const nj = lists.get(j) as string[];
  const d = (v: string) => (lists.get(v) as string[]).length;
  for (const k of nj) {
    const propose = 1 / nj.length;
    const accept = Math.min(1, nj.length / d(k));
    add(j, propose * (1 - accept));
    if (k !== i) add(k, propose * accept);
    else if (nj.length === 1) add(k, propose * accept);
    else {
      for (const k2 of nj) {
        if (k2 === i) continue;
        const q = acceptance(nj.length, d(k2), d(k));
        add(k2, (propose * accept * q) / (nj.length - 1));
        add(k, (propose * accept * (1 - q)) / (nj.length - 1));
      }
    }
  }
  return next;
}

type Observed = Map<string, { i: string | undefined; j: string; next: Map<string, number> }>;

/** One long walk, step by step: for each state (previous, current), where the walk went next. */
async function observeTransitions(lists: Map<string, string[]>, steps: number, seed: number): Promise<Observed> {
  const sampler = new MhdaSampler({ neighbors: (p) => lists.get(p) ?? [], random: seededRandom(seed), start: () => '0', burnIn: 0 });
  await sampler.step();
  const observed: Observed = new Map();
  for (let s = 0; s < steps; s++) {
    const i = sampler.previous;
    const j = sampler.current as string;
    await sampler.step();
    const key = `${i ?? '-'}>${j}`;
    let state = observed.get(key);
    if (!state) observed.set(key, (state = { i, j, next: new Map() }));
    const to = sampler.current as string;
    state.next.set(to, (state.next.get(to) ?? 0) + 1);
  }
  expect(sampler.restarts).toBe(0);
  return observed;
}

/** Pooled chi-square of every well-observed state's transitions against the reference kernel. */
function transitionFit(lists: Map<string, string[]>, observed: Observed, acceptance: typeof specAcceptance): number {
  let statistic = 0;
  let df = 0;
  for (const { i, j, next } of observed.values()) {
    const total = [...next.values()].reduce((a, b) => a + b, 0);
    if (total < 300) continue;
    const expected = specTransition(lists, i, j, acceptance);
    // Pearson's approximation wants at least 5 expected in every possible bin.
    if ([...expected.values()].some((p) => p > 0 && p * total < 5)) continue;
    const bins = [...new Set([...expected.keys(), ...next.keys()])];
    if (bins.length < 2) {
      // A forced move: it must be the only thing observed.
      expect([...next.keys()]).toEqual([...expected.keys()]);
      continue;
    }
    const fit = chiSquareGoodnessOfFit(
      bins.map((v) => next.get(v) ?? 0),
      bins.map((v) => expected.get(v) ?? 0),
    );
    if (fit.statistic === Infinity) return 0;
    statistic += fit.statistic;
    df += fit.degreesOfFreedom;
  }
  expect(df).toBeGreaterThan(0);
  return chiSquarePValue(statistic, df);
}

function adjacencyLists(edges: Array<[number, number]>): Map<string, string[]> {
  const n = Math.max(...edges.flat()) + 1;
  const adjacency: Adjacency = Array.from({ length: n }, () => []);
  for (const [u, v] of edges) {
    adjacency[u]?.push(v);
    adjacency[v]?.push(u);
  }
  return toPeerLists(adjacency);
}

describe('MHDA transitions follow SPEC §5.3 step by step', () => {
  // j = 0 with N(0) = {1, 2, 3}; d(1) = 4 and d(2) = d(3) = 6, so on a backtrack 0 → 1 both factors
  // of step 4 matter: product 4/9 against 1/4 for the three-argument min.
  const bothFactors = adjacencyLists([
    [0, 1], [0, 2], [0, 3], [1, 4], [1, 5], [1, 6], [2, 3], [2, 4], [2, 5], [2, 6], [2, 7], [3, 4], [3, 5], [3, 6], [3, 7],
  ]);
  // 1 sits between two nodes of degree 4: from 0 > 1 MHDA goes on to 2 or stays, never back.
  const neverBack = adjacencyLists([[0, 1], [1, 2], [0, 3], [0, 4], [0, 5], [2, 3], [2, 4], [2, 5]]);

  it('match the exact kernel, and not the three-argument-min kernel, on a graph built for it', async () => {
    const observed = await observeTransitions(bothFactors, 300_000, 21);
    expect(transitionFit(bothFactors, observed, specAcceptance)).toBeGreaterThan(P_MIN);
    expect(transitionFit(bothFactors, observed, threeArgumentMin)).toBeLessThan(P_MIN);
  });

  it('never backtrack where step 4 always goes on (d(i)/d(j) = 2), and stay after half the proposals', async () => {
    const observed = await observeTransitions(neverBack, 200_000, 22);
    for (const key of ['0>1', '2>1']) {
      const next = observed.get(key)?.next as Map<string, number>;
      const total = [...next.values()].reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThan(5_000);
      const back = key[0] as string;
      const forward = back === '0' ? '2' : '0';
      expect(next.get(back) ?? 0).toBe(0);
      // Exact: forward 1/2 (the three-argument min gives 5/16), stay 1/2; 5 standard deviations.
      expect(Math.abs((next.get(forward) ?? 0) / total - 0.5)).toBeLessThan(5 * Math.sqrt(0.25 / total));
    }
    expect(transitionFit(neverBack, observed, specAcceptance)).toBeGreaterThan(P_MIN);
    expect(transitionFit(neverBack, observed, threeArgumentMin)).toBeLessThan(P_MIN);
  });

  it.each([
    ['Erdős-Rényi with leaves (d(j) = 1 states)', toPeerLists(erdosRenyiWithLeavesGraph(24, { leaves: 6, meanDegree: 3 }, seededRandom(31)))],
    ['Barabási-Albert', toPeerLists(barabasiAlbertGraph(20, 2, seededRandom(32)))],
  ])('match the exact kernel on small %s', async (_name, lists) => {
    const observed = await observeTransitions(lists, 200_000, 23);
    expect(transitionFit(lists, observed, specAcceptance)).toBeGreaterThan(P_MIN);
  });

  it('a rejected proposal forgets the previous node', async () => {
    const sampler = new MhdaSampler({ neighbors: (p) => neverBack.get(p) ?? [], random: seededRandom(4), start: () => '1', burnIn: 0 });
    await sampler.step();
    let stays = 0;
    for (let s = 0; s < 1_000; s++) {
      const before = sampler.current;
      await sampler.step();
      if (sampler.current === before) {
        stays++;
        expect(sampler.previous).toBeUndefined();
      } else {
        expect(sampler.previous).toBe(before);
      }
    }
    expect(stays).toBeGreaterThan(100);
  });

  it('reduces to the non-backtracking walk on a regular graph: it never stays and never goes back', async () => {
    const lists = toPeerLists(randomRegularGraph(200, 6, seededRandom(33)));
    const sampler = new MhdaSampler({ neighbors: (p) => lists.get(p) ?? [], random: seededRandom(5), start: () => '0' });
    await sampler.step();
    let before = sampler.previous;
    for (let s = 0; s < 20_000; s++) {
      const at = sampler.current;
      await sampler.step();
      expect(sampler.current).not.toBe(at);
      expect(sampler.current).not.toBe(before);
      before = at;
    }
  });
});

describe('lists as peers report them', () => {
  const lists = toPeerLists(barabasiAlbertGraph(150, 3, seededRandom(41)));

  async function trajectory(options: Partial<WalkSamplerOptions>, steps = 3_000): Promise<Array<string | undefined>> {
    const sampler = new MhdaSampler({ neighbors: (p) => lists.get(p) ?? [], random: seededRandom(42), start: () => '7', burnIn: 0, ...options });
    const path: Array<string | undefined> = [];
    for (let s = 0; s < steps; s++) path.push(await sampler.step());
    return path;
  }

  it('dedupes and drops the peer itself: a walk over dirty lists is the walk over the clean ones', async () => {
    const dirty = new Map<string, NeighborList>();
    const mess = seededRandom(43);
    for (const [peer, list] of lists) {
      dirty.set(peer, shuffle([...list, ...list.slice(0, 2), peer, 42 as unknown as string], mess));
    }
    // Cleaning keeps the first occurrence of each entry, so the clean list is in the dirty order.
    const cleanInDirtyOrder = new Map([...dirty].map(([peer, list]) => [peer, [...new Set(list.filter((v) => typeof v === 'string' && v !== peer))]]));
    const reference = new MhdaSampler({ neighbors: (p) => cleanInDirtyOrder.get(p) ?? [], random: seededRandom(42), start: () => '7', burnIn: 0, distinctLists: true });
    const expected: Array<string | undefined> = [];
    for (let s = 0; s < 3_000; s++) expected.push(await reference.step());
    expect(await trajectory({ neighbors: (p) => dirty.get(p) ?? [] })).toEqual(expected);
  });

  it('distinctLists only skips the check: same walk on clean lists', async () => {
    expect(await trajectory({ distinctLists: true })).toEqual(await trajectory({}));
  });

  it('an asynchronous neighbors() (promise or thenable) walks exactly like a synchronous one', async () => {
    const sync = await trajectory({});
    expect(await trajectory({ neighbors: async (p) => lists.get(p) ?? [] })).toEqual(sync);
    const thenable = (p: string) => ({ then: (resolve: (v: NeighborList) => void) => resolve(lists.get(p) ?? []) });
    expect(await trajectory({ neighbors: thenable as unknown as WalkSamplerOptions['neighbors'] })).toEqual(sync);
    expect(await trajectory({ start: async () => '7' })).toEqual(sync);
  });
});

/** A 10-node ring (d = 2 everywhere) whose next neighbors() call can be made to fail. */
function faultyRing() {
  const lists = toPeerLists(Array.from({ length: 10 }, (_, v) => [(v + 9) % 10, (v + 1) % 10]));
  const state = { calls: 0, failAtCall: -1, mode: 'throw' as 'throw' | 'reject' | 'empty' | 'not an array', starts: 0 };
  const neighbors = (peer: string): NeighborList | Promise<NeighborList> => {
    state.calls++;
    if (state.calls === state.failAtCall) {
      if (state.mode === 'throw') throw new Error('peer down');
      if (state.mode === 'reject') return Promise.reject(new Error('peer down'));
      if (state.mode === 'empty') return [];
      return { peers: [] } as unknown as NeighborList;
    }
    return lists.get(peer) ?? [];
  };
  const start = () => {
    state.starts++;
    return '5';
  };
  return { state, neighbors, start };
}

describe('restarts', () => {
  it.each([
    ['throws', 'throw', 1],
    ['rejects', 'reject', 1],
    ['reports an empty list', 'empty', 1],
    ['replies with no array', 'not an array', 1],
    ['(the proposed peer) throws', 'throw', 2],
  ] as const)('a peer that %s restarts the walk at start() and the next 20 steps are discarded', async (_what, mode, whichCall) => {
    const ring = faultyRing();
    ring.state.mode = mode;
    const sampler = new MhdaSampler({ neighbors: ring.neighbors, random: seededRandom(1), start: ring.start });
    expect(sampler.burnIn).toBe(20);
    // The first start burns in too.
    const first: Array<string | undefined> = [];
    for (let s = 0; s < 25; s++) first.push(await sampler.step());
    expect(first.slice(0, 20).every((v) => v === undefined)).toBe(true);
    expect(first.slice(20).every((v) => v !== undefined)).toBe(true);
    expect(sampler.burningIn).toBe(false);
    expect([sampler.restarts, ring.state.starts]).toEqual([0, 1]);

    ring.state.failAtCall = ring.state.calls + whichCall;
    expect(await sampler.step()).toBeUndefined();
    expect([sampler.restarts, ring.state.starts]).toEqual([1, 2]);
    expect(sampler.current).toBe('5');
    expect(sampler.previous).toBeUndefined();
    expect(sampler.burningIn).toBe(true);

    let discarded = 0;
    while ((await sampler.step()) === undefined) {
      discarded++;
      expect(discarded).toBeLessThanOrEqual(20);
    }
    expect(discarded).toBe(20);
    expect(sampler.restarts).toBe(1);
    expect(sampler.steps).toBe(25 + 1 + 21);
  });

  it('sample() returns the first node past burn-in, and gives up with UNREACHABLE when every peer fails', async () => {
    const ring = faultyRing();
    const sampler = new MhdaSampler({ neighbors: ring.neighbors, random: seededRandom(2), start: ring.start });
    expect(await sampler.sample()).toMatch(/^\d$/);
    expect(sampler.steps).toBe(21);

    const dead = new MhdaSampler({ neighbors: () => [], random: seededRandom(2), start: () => '0' });
    const error = await dead.sample({ maxSteps: 50 }).catch((e: unknown) => e);
    expect(isAtlasError(error, 'UNREACHABLE')).toBe(true);
    expect(dead.restarts).toBe(50);
  });

  it('start() giving no peer rejects UNREACHABLE; a throwing start() propagates and the walk stays unplaced', async () => {
    const empty = new MhdaSampler({ neighbors: () => ['x'], random: seededRandom(1), start: () => '' });
    expect(isAtlasError(await empty.step().catch((e: unknown) => e), 'UNREACHABLE')).toBe(true);

    let broken = true;
    const ring = faultyRing();
    const sampler = new MhdaSampler({
      neighbors: ring.neighbors,
      random: seededRandom(1),
      start: () => {
        if (broken) throw new Error('empty table');
        return '3';
      },
    });
    await expect(sampler.step()).rejects.toThrow('empty table');
    expect(sampler.current).toBeUndefined();
    broken = false;
    expect(await sampler.step()).toBeUndefined();
    expect(sampler.current).toMatch(/^[24]$/);
  });
});

describe('abort and concurrency', () => {
  /** A ring whose lists come back asynchronously once `release()` is called, honouring the signal. */
  function slowRing() {
    const lists = toPeerLists(Array.from({ length: 10 }, (_, v) => [(v + 9) % 10, (v + 1) % 10]));
    const pending: Array<() => void> = [];
    const seen: Array<AbortSignal | undefined> = [];
    let honourSignal = true;
    const neighbors = (peer: string, options?: { signal?: AbortSignal }) => {
      seen.push(options?.signal);
      return new Promise<NeighborList>((resolve, reject) => {
        pending.push(() => resolve(lists.get(peer) ?? []));
        if (honourSignal) options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
      });
    };
    const release = () => {
      for (const done of pending.splice(0)) done();
    };
    return { neighbors, release, seen, ignoreSignal: () => (honourSignal = false) };
  }

  /** Answers the pending list requests until `promise` settles (a step asks for its lists in turn). */
  async function settle<T>(ring: ReturnType<typeof slowRing>, promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let round = 0; round < 20 && !settled; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      ring.release();
    }
    return promise;
  }

  async function placedSampler(ring: ReturnType<typeof slowRing>) {
    const sampler = new MhdaSampler({ neighbors: ring.neighbors, random: seededRandom(6), start: () => '0', burnIn: 0 });
    for (let s = 0; s < 5; s++) await settle(ring, sampler.step());
    return sampler;
  }

  it('an already aborted signal rejects ABORTED without asking any peer', async () => {
    let calls = 0;
    const sampler = new MhdaSampler({ neighbors: () => (calls++, ['1']), random: seededRandom(1), start: () => '0' });
    const error = await sampler.step({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isAtlasError(error, 'ABORTED')).toBe(true);
    expect(calls).toBe(0);
    expect(sampler.current).toBeUndefined();
  });

  it.each([
    ['a neighbors() call that honours the signal', false],
    ['a neighbors() call that ignores it and answers later', true],
  ])('aborting during %s rejects ABORTED and leaves the walk where it was', async (_what, ignore) => {
    const ring = slowRing();
    const sampler = await placedSampler(ring);
    if (ignore) ring.ignoreSignal();
    const before = { current: sampler.current, previous: sampler.previous, steps: sampler.steps, restarts: sampler.restarts };
    const controller = new AbortController();
    const step = sampler.step({ signal: controller.signal });
    expect(ring.seen.at(-1)).toBe(controller.signal);
    controller.abort(new Error('stop'));
    if (ignore) ring.release();
    const error = await step.catch((e: unknown) => e);
    expect(isAtlasError(error, 'ABORTED')).toBe(true);
    expect({ current: sampler.current, previous: sampler.previous, steps: sampler.steps, restarts: sampler.restarts }).toEqual(before);

    // The walk goes on afterwards.
    await settle(ring, sampler.step());
    expect(sampler.steps).toBe(before.steps + 1);
    expect(sampler.restarts).toBe(0);
  });

  it('refuses a second step while one is pending (BUSY)', async () => {
    const ring = slowRing();
    const sampler = await placedSampler(ring);
    const first = sampler.step();
    expect(isAtlasError(await sampler.step().catch((e: unknown) => e), 'BUSY')).toBe(true);
    expect(isAtlasError(await sampler.walk(3).catch((e: unknown) => e), 'BUSY')).toBe(true);
    await settle(ring, first);
    await expect(settle(ring, sampler.step())).resolves.toMatch(/^\d$/);
  });
});

describe('options', () => {
  it('refuses a bad burnIn, maxDegree or step count with BAD_REQUEST', async () => {
    const base = { neighbors: () => ['1'], random: seededRandom(1) as Random, start: () => '0' };
    for (const bad of [{ burnIn: -1 }, { burnIn: 1.5 }, { maxDegree: 0 }, { maxDegree: 2.5 }]) {
      let caught: unknown;
      try {
        new MhdaSampler({ ...base, ...bad });
      } catch (error) {
        caught = error;
      }
      expect(isAtlasError(caught, 'BAD_REQUEST')).toBe(true);
    }
    expect(isAtlasError(await new MhdaSampler(base).walk(0).catch((e: unknown) => e), 'BAD_REQUEST')).toBe(true);
    expect(isAtlasError(await new MhdaSampler(base).sample({ maxSteps: 0 }).catch((e: unknown) => e), 'BAD_REQUEST')).toBe(true);
  });
});
