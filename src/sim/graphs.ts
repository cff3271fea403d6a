/**
 * Seeded synthetic overlays for testing samplers and driving the simulator (SPEC §5.3, "How to
 * test a sampler").
 *
 * A graph is an adjacency list over nodes 0..n-1: `adjacency[v]` holds v's neighbours in ascending
 * order. Every generator returns a simple graph (undirected, no self-loops, no multi-edges) that
 * is connected. Node v's peer id is `String(v)` ("0".."n-1"); `toPeerLists` gives the lists in that
 * form, as a sampler's `neighbors` callback wants them.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { randomInt, type Random } from '../runtime.js';

export type Adjacency = number[][];

/** Whole-graph attempts before a generator gives up (each attempt is a fresh random draw). */
const MAX_ATTEMPTS = 100;

function badInput(message: string): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message);
}

function checkSize(n: number, minimum: number): void {
  if (!Number.isInteger(n) || n < minimum) throw badInput(`graph size must be an integer >= ${minimum}, got ${n}`);
}

function emptyAdjacency(n: number): Adjacency {
  return Array.from({ length: n }, () => []);
}

function addEdge(adjacency: Adjacency, u: number, v: number): void {
  (adjacency[u] as number[]).push(v);
  (adjacency[v] as number[]).push(u);
}

function hasEdge(adjacency: Adjacency, u: number, v: number): boolean {
  return (adjacency[u] as number[]).includes(v);
}

function sortLists(adjacency: Adjacency): Adjacency {
  for (const list of adjacency) list.sort((a, b) => a - b);
  return adjacency;
}

/** Connected components, largest first; each lists its nodes in ascending order. */
export function connectedComponents(adjacency: Adjacency): number[][] {
  const n = adjacency.length;
  const seen = new Uint8Array(n);
  const components: number[][] = [];
  const stack: number[] = [];
  for (let root = 0; root < n; root++) {
    if (seen[root]) continue;
    const component: number[] = [];
    seen[root] = 1;
    stack.push(root);
    while (stack.length > 0) {
      const v = stack.pop() as number;
      component.push(v);
      for (const w of adjacency[v] as number[]) {
        if (!seen[w]) {
          seen[w] = 1;
          stack.push(w);
        }
      }
    }
    components.push(component.sort((a, b) => a - b));
  }
  return components.sort((a, b) => b.length - a.length);
}

export function isConnected(adjacency: Adjacency): boolean {
  return adjacency.length > 0 && connectedComponents(adjacency).length === 1;
}

export function degrees(adjacency: Adjacency): number[] {
  return adjacency.map((list) => list.length);
}

/**
 * Everything that keeps `adjacency` from being a connected simple undirected graph over 0..n-1;
 * empty when it is one.
 */
export function graphProblems(adjacency: Adjacency): string[] {
  const n = adjacency.length;
  const problems: string[] = [];
  if (n === 0) return ['graph is empty'];
  for (let v = 0; v < n; v++) {
    const list = adjacency[v] as number[];
    const seen = new Set<number>();
    for (const w of list) {
      if (!Number.isInteger(w) || w < 0 || w >= n) problems.push(`node ${v} lists ${w}, which is not a node`);
      else if (w === v) problems.push(`node ${v} has a self-loop`);
      else if (seen.has(w)) problems.push(`node ${v} lists ${w} twice`);
      else if (!(adjacency[w] as number[]).includes(v)) problems.push(`edge ${v}-${w} is not symmetric`);
      seen.add(w);
    }
  }
  // Connectivity is only meaningful once every listed id is a node.
  if (problems.some((problem) => problem.endsWith('which is not a node'))) return problems;
  const components = connectedComponents(adjacency).length;
  if (components !== 1) problems.push(`graph has ${components} connected components`);
  return problems;
}

/** The lists in peer-id form: "v" -> ["w", ...]. */
export function toPeerLists(adjacency: Adjacency): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  adjacency.forEach((list, v) => lists.set(String(v), list.map(String)));
  return lists;
}

/**
 * One attempt at a simple graph with exactly these degrees: stubs are paired at random, and a
 * pair that would make a self-loop or a multi-edge is redrawn (Steger-Wormald style). Returns
 * undefined when the remaining stubs cannot be paired.
 */
function pairStubs(degreeSequence: readonly number[], random: Random): Adjacency | undefined {
  const n = degreeSequence.length;
  const adjacency = emptyAdjacency(n);
  const stubs: number[] = [];
  degreeSequence.forEach((d, v) => {
    for (let i = 0; i < d; i++) stubs.push(v);
  });
  const removeStub = (index: number) => {
    stubs[index] = stubs[stubs.length - 1] as number;
    stubs.pop();
  };
  const pairAt = (a: number, b: number) => {
    addEdge(adjacency, stubs[a] as number, stubs[b] as number);
    removeStub(Math.max(a, b));
    removeStub(Math.min(a, b));
  };
  const fits = (a: number, b: number) => {
    const u = stubs[a] as number;
    const v = stubs[b] as number;
    return u !== v && !hasEdge(adjacency, u, v);
  };
  while (stubs.length > 0) {
    let paired = false;
    for (let tries = 0; tries < 50 && !paired; tries++) {
      const a = randomInt(random, stubs.length);
      const b = randomInt(random, stubs.length);
      if (a !== b && fits(a, b)) {
        pairAt(a, b);
        paired = true;
      }
    }
    if (paired) continue;
    // Random draws keep failing: this happens only near the end, with few stubs left, so list every
    // pair that still fits and take one at random, or give up on this attempt.
    const candidates: Array<[number, number]> = [];
    for (let a = 0; a < stubs.length; a++) {
      for (let b = a + 1; b < stubs.length; b++) if (fits(a, b)) candidates.push([a, b]);
    }
    if (candidates.length === 0) return undefined;
    const [a, b] = candidates[randomInt(random, candidates.length)] as [number, number];
    pairAt(a, b);
  }
  return adjacency;
}

function connectedWithDegrees(degreeSequence: readonly number[], random: Random, what: string): Adjacency {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const adjacency = pairStubs(degreeSequence, random);
    if (adjacency && isConnected(adjacency)) return sortLists(adjacency);
  }
  throw new AtlasError(ErrorCodes.INTERNAL, `could not build a connected simple ${what} in ${MAX_ATTEMPTS} attempts`);
}

/** A random `degree`-regular graph on n nodes (n * degree must be even, 3 <= degree < n). */
export function randomRegularGraph(n: number, degree: number, random: Random): Adjacency {
  checkSize(n, 4);
  if (!Number.isInteger(degree) || degree < 3 || degree >= n) throw badInput(`degree must be in 3..${n - 1}, got ${degree}`);
  if ((n * degree) % 2 !== 0) throw badInput(`n * degree must be even (n=${n}, degree=${degree})`);
  return connectedWithDegrees(new Array<number>(n).fill(degree), random, `${degree}-regular graph`);
}

/**
 * Configuration model: each node's degree is drawn uniformly from minDegree..maxDegree (one
 * node's degree is raised or lowered by one if the sum is odd), then stubs are paired into a
 * simple connected graph with exactly those degrees.
 */
export function configurationModelGraph(n: number, minDegree: number, maxDegree: number, random: Random): Adjacency {
  checkSize(n, 4);
  if (!Number.isInteger(minDegree) || !Number.isInteger(maxDegree) || minDegree < 2 || maxDegree < minDegree || maxDegree >= n - 1) {
    throw badInput(`degrees must satisfy 2 <= minDegree <= maxDegree < n - 1, got ${minDegree}..${maxDegree}`);
  }
  const sequence = Array.from({ length: n }, () => minDegree + randomInt(random, maxDegree - minDegree + 1));
  if (sequence.reduce((a, b) => a + b, 0) % 2 !== 0) {
    const v = randomInt(random, n);
    sequence[v] = (sequence[v] as number) < maxDegree ? (sequence[v] as number) + 1 : (sequence[v] as number) - 1;
  }
  return connectedWithDegrees(sequence, random, 'configuration-model graph');
}

/**
 * Barabási-Albert preferential attachment: a clique on m + 1 nodes, then each new node links to m
 * distinct existing nodes, each chosen with probability proportional to its degree.
 */
export function barabasiAlbertGraph(n: number, m: number, random: Random): Adjacency {
  if (!Number.isInteger(m) || m < 1) throw badInput(`m must be a positive integer, got ${m}`);
  checkSize(n, m + 2);
  const adjacency = emptyAdjacency(n);
  // Every edge endpoint once: a uniform pick from it is a degree-proportional pick of a node.
  const endpoints: number[] = [];
  for (let u = 0; u <= m; u++) {
    for (let v = u + 1; v <= m; v++) {
      addEdge(adjacency, u, v);
      endpoints.push(u, v);
    }
  }
  const targets: number[] = [];
  for (let v = m + 1; v < n; v++) {
    targets.length = 0;
    // A repeat is redrawn. The m chosen nodes never hold all the weight, so this ends after a few
    // draws; the bound only guards against a broken random source.
    for (let draws = 0; targets.length < m; draws++) {
      if (draws > 1_000 * m) throw new AtlasError(ErrorCodes.INTERNAL, 'preferential attachment kept drawing repeats');
      const target = endpoints[randomInt(random, endpoints.length)] as number;
      if (!targets.includes(target)) targets.push(target);
    }
    for (const target of targets) {
      addEdge(adjacency, v, target);
      endpoints.push(v, target);
    }
  }
  return sortLists(adjacency);
}

export interface ErdosRenyiWithLeavesOptions {
  /** Nodes that get exactly one edge, to a random core node. */
  leaves: number;
  /** Expected degree inside the Erdős-Rényi core. */
  meanDegree: number;
}

/**
 * An Erdős-Rényi core G(n - leaves, p) with p = meanDegree / (core - 1), made connected by linking
 * every smaller component to a random node of the largest, plus `leaves` degree-1 nodes (ids
 * n - leaves .. n - 1), each hanging off a uniformly chosen core node.
 */
export function erdosRenyiWithLeavesGraph(n: number, options: ErdosRenyiWithLeavesOptions, random: Random): Adjacency {
  const { leaves, meanDegree } = options;
  checkSize(n, 4);
  if (!Number.isInteger(leaves) || leaves < 0 || n - leaves < 3) throw badInput(`leaves must be in 0..${n - 3}, got ${leaves}`);
  const core = n - leaves;
  if (!(meanDegree > 0) || meanDegree > core - 1) throw badInput(`meanDegree must be in (0, ${core - 1}], got ${meanDegree}`);
  const p = meanDegree / (core - 1);
  const adjacency = emptyAdjacency(n);
  for (let u = 0; u < core; u++) {
    for (let v = u + 1; v < core; v++) if (random() < p) addEdge(adjacency, u, v);
  }
  const coreComponents = connectedComponents(adjacency.slice(0, core));
  const largest = coreComponents[0] as number[];
  for (const component of coreComponents.slice(1)) {
    addEdge(adjacency, component[randomInt(random, component.length)] as number, largest[randomInt(random, largest.length)] as number);
  }
  for (let leaf = core; leaf < n; leaf++) addEdge(adjacency, leaf, randomInt(random, core));
  return sortLists(adjacency);
}
