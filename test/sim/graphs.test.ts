import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { seededRandom } from '../../src/runtime.js';
import {
  barabasiAlbertGraph,
  configurationModelGraph,
  connectedComponents,
  degrees,
  erdosRenyiWithLeavesGraph,
  graphProblems,
  isConnected,
  randomRegularGraph,
  toPeerLists,
  type Adjacency,
} from '../../src/sim/graphs.js';

function edgeCount(adjacency: Adjacency): number {
  return degrees(adjacency).reduce((a, b) => a + b, 0) / 2;
}

function sortedAscending(adjacency: Adjacency): boolean {
  return adjacency.every((list) => list.every((v, i) => i === 0 || (list[i - 1] as number) < v));
}

function expectBadRequest(build: () => unknown): void {
  let caught: unknown;
  try {
    build();
  } catch (error) {
    caught = error;
  }
  expect(isAtlasError(caught, 'BAD_REQUEST')).toBe(true);
}

const SEEDS = [1, 2, 3];

describe('graphProblems', () => {
  it('accepts a connected simple graph', () => {
    expect(graphProblems([[1, 2], [0, 2], [0, 1]])).toEqual([]);
  });

  it('names each defect', () => {
    expect(graphProblems([])).toEqual(['graph is empty']);
    expect(graphProblems([[0, 1], [0]])).toContain('node 0 has a self-loop');
    expect(graphProblems([[1, 1], [0, 0]])).toContain('node 0 lists 1 twice');
    expect(graphProblems([[1], []])).toContain('edge 0-1 is not symmetric');
    expect(graphProblems([[5], [0]])).toContain('node 0 lists 5, which is not a node');
    expect(graphProblems([[1], [0], [3], [2]])).toContain('graph has 2 connected components');
  });
});

describe('connectedComponents', () => {
  it('lists components largest first', () => {
    expect(connectedComponents([[1], [0], [3, 4], [2, 4], [2, 3], []])).toEqual([[2, 3, 4], [0, 1], [5]]);
    expect(isConnected([[1], [0], []])).toBe(false);
    expect(isConnected([[1], [0]])).toBe(true);
  });
});

describe('randomRegularGraph', () => {
  it.each(SEEDS)('is a connected simple 8-regular graph on 1,000 nodes (seed %i)', (seed) => {
    const graph = randomRegularGraph(1_000, 8, seededRandom(seed));
    expect(graph).toHaveLength(1_000);
    expect(graphProblems(graph)).toEqual([]);
    expect(new Set(degrees(graph))).toEqual(new Set([8]));
    expect(sortedAscending(graph)).toBe(true);
  });

  it('works where simple pairings are rare (dense small graph)', () => {
    const graph = randomRegularGraph(12, 9, seededRandom(4));
    expect(graphProblems(graph)).toEqual([]);
    expect(new Set(degrees(graph))).toEqual(new Set([9]));
  });

  it('is reproducible from its seed and differs between seeds', () => {
    expect(randomRegularGraph(200, 6, seededRandom(9))).toEqual(randomRegularGraph(200, 6, seededRandom(9)));
    expect(randomRegularGraph(200, 6, seededRandom(9))).not.toEqual(randomRegularGraph(200, 6, seededRandom(10)));
  });

  it('refuses impossible parameters', () => {
    expectBadRequest(() => randomRegularGraph(11, 3, seededRandom(1)));
    expectBadRequest(() => randomRegularGraph(10, 10, seededRandom(1)));
    expectBadRequest(() => randomRegularGraph(10, 2, seededRandom(1)));
  });
});

describe('configurationModelGraph', () => {
  it.each(SEEDS)('has degrees 6..10, every value present, connected and simple (seed %i)', (seed) => {
    const graph = configurationModelGraph(1_000, 6, 10, seededRandom(seed));
    expect(graphProblems(graph)).toEqual([]);
    const d = degrees(graph);
    expect(Math.min(...d)).toBe(6);
    expect(Math.max(...d)).toBe(10);
    for (let k = 6; k <= 10; k++) {
      // About 200 nodes each; far from 100 only if the draw were not uniform.
      expect(d.filter((x) => x === k).length).toBeGreaterThan(100);
    }
    expect(sortedAscending(graph)).toBe(true);
  });

  it('refuses impossible parameters', () => {
    expectBadRequest(() => configurationModelGraph(100, 7, 6, seededRandom(1)));
    expectBadRequest(() => configurationModelGraph(10, 6, 10, seededRandom(1)));
  });
});

describe('barabasiAlbertGraph', () => {
  it.each(SEEDS)('is connected and simple with m(m+1)/2 + (n-m-1)m edges and a heavy tail (seed %i)', (seed) => {
    const n = 1_000;
    const m = 3;
    const graph = barabasiAlbertGraph(n, m, seededRandom(seed));
    expect(graphProblems(graph)).toEqual([]);
    expect(edgeCount(graph)).toBe((m * (m + 1)) / 2 + (n - m - 1) * m);
    const d = degrees(graph);
    expect(Math.min(...d)).toBe(m);
    // Preferential attachment grows hubs of order m·√n ≈ 95; a uniform attachment would stay near 20.
    expect(Math.max(...d)).toBeGreaterThan(40);
    // Half the nodes keep degree m or m + 1.
    expect(d.filter((x) => x <= m + 1).length).toBeGreaterThan(n / 2);
  });

  it('refuses m < 1 and n <= m + 1', () => {
    expectBadRequest(() => barabasiAlbertGraph(100, 0, seededRandom(1)));
    expectBadRequest(() => barabasiAlbertGraph(4, 3, seededRandom(1)));
  });
});

describe('erdosRenyiWithLeavesGraph', () => {
  it.each(SEEDS)('has a connected ER core of mean degree ~6 and 200 leaves (seed %i)', (seed) => {
    const n = 1_000;
    const leaves = 200;
    const graph = erdosRenyiWithLeavesGraph(n, { leaves, meanDegree: 6 }, seededRandom(seed));
    expect(graphProblems(graph)).toEqual([]);
    const d = degrees(graph);
    for (let v = n - leaves; v < n; v++) {
      expect(d[v]).toBe(1);
      expect(graph[v]?.[0]).toBeLessThan(n - leaves);
    }
    // Core edges: Binomial(799·800/2, 6/799) has mean 2,400 and sd 49, plus the few bridging edges.
    const coreEdges = edgeCount(graph) - leaves;
    expect(coreEdges).toBeGreaterThan(2_400 - 250);
    expect(coreEdges).toBeLessThan(2_400 + 250);
  });

  it('bridges a core that the random draw left in pieces', () => {
    const graph = erdosRenyiWithLeavesGraph(300, { leaves: 50, meanDegree: 1.5 }, seededRandom(5));
    expect(graphProblems(graph)).toEqual([]);
  });

  it('refuses impossible parameters', () => {
    expectBadRequest(() => erdosRenyiWithLeavesGraph(10, { leaves: 8, meanDegree: 1 }, seededRandom(1)));
    expectBadRequest(() => erdosRenyiWithLeavesGraph(10, { leaves: 2, meanDegree: 8 }, seededRandom(1)));
  });
});

describe('toPeerLists', () => {
  it('names node v "v" and keeps the order of its neighbours', () => {
    const lists = toPeerLists([[1, 2], [0], [0]]);
    expect([...lists.entries()]).toEqual([
      ['0', ['1', '2']],
      ['1', ['0']],
      ['2', ['0']],
    ]);
  });
});
