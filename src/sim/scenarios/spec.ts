/**
 * The original test scenarios of SPEC §8, held to the strict criterion: every bit of the
 * sequence on every honest node, bytes verified by hash.
 */
import { shuffle } from '../../runtime.js';
import { DEFAULT_MAX_CHUNK_SIZE } from '../../store/types.js';
import { generateChunks } from '../workload.js';
import type { Simulation } from '../simulation.js';
import { isolateFromEachOther, log, names, pick, runScenario, type Scenario } from './common.js';

/** Virtual time any of these small networks gets to converge. */
const DEADLINE_MS = 30 * 60_000;
/** Virtual time for the overlay to form before data is put. */
const WARM_UP_MS = 5_000;

async function addSeeded(sim: Simulation, all: readonly string[], seedsOf: (index: number) => string[], start = true): Promise<void> {
  for (let i = 0; i < all.length; i++) await sim.addNode(all[i] as string, { seeds: seedsOf(i), start });
}

export const mesh: Scenario = {
  name: 'mesh',
  summary: 'SPEC §8 mesh: 8 peers all seeded with one node; each chunk put at a random node',
  defaults: { nodes: 9, chunks: 200 },
  minimums: { nodes: 2 },
  run: (options) =>
    runScenario(mesh, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      await addSeeded(sim, all, (i) => (i === 0 ? [] : [all[0] as string]));
      await sim.runFor(WARM_UP_MS);
      for (const chunk of chunks) await sim.put(pick(sim.random, all), [chunk]);
      log(options, sim, `${chunks.length} chunks put at random nodes`);
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      return { converged: outcome.reached, facts: { convergedAfterPutMs: outcome.at - WARM_UP_MS } };
    }),
};

export const line: Scenario = {
  name: 'line',
  summary: 'SPEC §8 line: nodes in a chain, only adjacent nodes reach each other; data put at both ends',
  defaults: { nodes: 9, chunks: 100 },
  minimums: { nodes: 3, chunks: 2 },
  run: (options) =>
    runScenario(line, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      for (let i = 0; i < all.length; i++) {
        for (let j = 0; j < all.length; j++) if (Math.abs(i - j) > 1) sim.network.block(all[i] as string, all[j] as string);
      }
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      await addSeeded(sim, all, (i) => (i === 0 ? [] : [all[i - 1] as string]));
      await sim.runFor(WARM_UP_MS);
      const half = Math.ceil(chunks.length / 2);
      await sim.put(all[0] as string, chunks.slice(0, half));
      await sim.put(all[all.length - 1] as string, chunks.slice(half));
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      // No node may ever have admitted a peer it cannot reach.
      let nonAdjacentPeers = 0;
      sim.honest().forEach((member) => {
        const i = all.indexOf(member.name);
        for (const peer of member.table) if (Math.abs(all.indexOf(peer) - i) > 1) nonAdjacentPeers++;
      });
      return { converged: outcome.reached, facts: { convergedAfterPutMs: outcome.at - WARM_UP_MS, nonAdjacentPeers } };
    }),
};

export const star: Scenario = {
  name: 'star',
  summary: 'SPEC §8 NAT/star: peers reach only the seed, never each other, and the seed cannot call them',
  defaults: { nodes: 9, chunks: 100 },
  minimums: { nodes: 3, chunks: 2 },
  run: (options) =>
    runScenario(star, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const seed = all[0] as string;
      const peers = all.slice(1);
      isolateFromEachOther(sim, peers);
      for (const peer of peers) sim.network.block(seed, peer);
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      await addSeeded(sim, all, (i) => (i === 0 ? [] : [seed]));
      await sim.runFor(WARM_UP_MS);
      // Half at the seed; half at a peer behind NAT, which can only spread it by pushing to the seed.
      const half = Math.ceil(chunks.length / 2);
      await sim.put(seed, chunks.slice(0, half));
      await sim.put(peers[0] as string, chunks.slice(half));
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      const natPeersKnowingPeers = peers.filter((p) => [...(sim.get(p)?.table ?? [])].some((q) => q !== seed)).length;
      const seedTable = sim.get(seed)?.table.size ?? 0;
      return { converged: outcome.reached, facts: { convergedAfterPutMs: outcome.at - WARM_UP_MS, natPeersKnowingPeers, seedTable } };
    }),
};

export const churn: Scenario = {
  name: 'churn',
  summary: 'SPEC §8 churn: a ring of 18 nodes; only a window of 8 consecutive nodes is alive, sliding one node every 30 s',
  defaults: { nodes: 18, chunks: 100 },
  minimums: { nodes: 4 },
  run: (options) =>
    runScenario(churn, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const n = all.length;
      const window = Math.min(8, n - 1);
      const stepMs = 30_000;
      const ring = (i: number) => all[((i % n) + n) % n] as string;
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      // Every node exists (its data outlives its process); only the window runs.
      await addSeeded(sim, all, (i) => [ring(i - 1), ring(i + 1)], false);
      for (let i = 0; i < n; i++) {
        if (i < window) await sim.startNode(ring(i));
        else await sim.stopNode(ring(i));
      }
      let first = 0;
      let slides = 0;
      let minAlive = window;
      let maxAlive = window;
      const slide = async () => {
        await sim.stopNode(ring(first));
        await sim.restartNode(ring(first + window));
        first++;
        slides++;
        const alive = sim.all().filter((m) => m.node !== undefined).length;
        minAlive = Math.min(minAlive, alive);
        maxAlive = Math.max(maxAlive, alive);
        sim.at(sim.clock.now() + stepMs, slide);
      };
      sim.at(stepMs, slide);
      await sim.runFor(WARM_UP_MS);
      for (const chunk of chunks) await sim.put(ring(Math.floor(sim.random() * window)), [chunk]);
      // Two laps at most: every node must come up after the data exists, and get all of it.
      const outcome = await sim.runUntilConverged(2 * n * stepMs + stepMs);
      log(options, sim, `${slides} slides`);
      return { converged: outcome.reached, facts: { slides, laps: slides / n, minAlive, maxAlive } };
    }),
};

export const storage: Scenario = {
  name: 'storage',
  summary: 'SPEC §8 storage: chunks put to nodes before they start are readable everywhere after sync, and after a restart',
  defaults: { nodes: 5, chunks: 100 },
  minimums: { nodes: 2, chunks: 2 },
  run: (options) =>
    runScenario(storage, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const first = all[0] as string;
      const last = all[all.length - 1] as string;
      const chunks = generateChunks(sizes.chunks, sim.random);
      const half = Math.ceil(chunks.length / 2);
      sim.announce(chunks);
      await sim.addNode(first, { start: false });
      await sim.put(first, chunks.slice(0, half));
      const readableBeforeStart = (await sim.get(first)?.node?.getChunks(chunks.slice(0, half).map((c) => c.address)))?.size ?? 0;
      await sim.startNode(first);
      for (const name of all.slice(1, -1)) await sim.addNode(name, { seeds: [first] });
      await sim.runFor(WARM_UP_MS);
      // A late node that already holds the other half when it starts.
      await sim.addNode(last, { seeds: [first], start: false });
      await sim.put(last, chunks.slice(half));
      await sim.startNode(last);
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      await sim.stopNode(first);
      await sim.restartNode(first);
      const afterRestart = await sim.get(first)?.node?.getChunks(chunks.map((c) => c.address));
      const readableAfterRestart = chunks.filter((c) => Buffer.from(afterRestart?.get(c.address) ?? []).equals(Buffer.from(c.data))).length;
      return { converged: outcome.reached, facts: { readableBeforeStart, readableAfterRestart, chunks: chunks.length } };
    }),
};

export const peerExchange: Scenario = {
  name: 'peer-exchange',
  summary: 'SPEC §8 peer exchange: 8 reachable peers and 4 nobody can call; unreachable peers never appear in peer lists, the seed ends up listing all 8',
  defaults: { nodes: 13, chunks: 60 },
  minimums: { nodes: 3 },
  run: (options) =>
    runScenario(peerExchange, options, {}, async (sim, sizes) => {
      const total = sizes.nodes;
      const unreachableCount = Math.max(1, Math.round((total - 1) / 3));
      const reachable = names(total - unreachableCount);
      const unreachable = names(unreachableCount, 'u');
      const seed = reachable[0] as string;
      // Nobody can open a call to an unreachable node; it can call out, and replies reach it.
      for (const u of unreachable) for (const other of [...reachable, ...unreachable]) if (other !== u) sim.network.block(other, u);
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      await sim.addNode(seed);
      for (const name of [...reachable.slice(1), ...unreachable]) await sim.addNode(name, { seeds: [seed] });
      const probe = sim.probe();
      let unreachableListed = 0;
      let probes = 0;
      const isUnreachable = (peer: string) => unreachable.includes(peer);
      const probeAll = async () => {
        for (const name of reachable) {
          const reply = await probe.peers(name, {}).catch(() => undefined);
          if (!reply) continue;
          probes++;
          unreachableListed += reply.peers.filter(isUnreachable).length;
        }
      };
      const every = 5_000;
      const tick = async () => {
        await probeAll();
        sim.at(sim.clock.now() + every, tick);
      };
      sim.at(every, tick);
      await sim.runFor(WARM_UP_MS);
      for (const chunk of chunks) await sim.put(pick(sim.random, [...reachable, ...unreachable]), [chunk]);
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      await sim.settle(probeAll());
      const seedList = (await sim.settle(probe.peers(seed, {}))).peers;
      const unreachableAdmitted = sim.all().reduce((sum, m) => sum + [...m.table].filter(isUnreachable).length, 0);
      return {
        converged: outcome.reached,
        facts: {
          probes,
          unreachableListed,
          unreachableAdmitted,
          reachablePeers: reachable.length - 1,
          seedListsReachable: reachable.slice(1).filter((p) => seedList.includes(p)).length,
          seedListSize: seedList.length,
        },
      };
    }),
};

export const bigChunks: Scenario = {
  name: 'big-chunks',
  summary: 'SPEC §8 big chunks: 100 chunks of exactly 40,960 bytes, fetched by a new node in one get of 100',
  defaults: { nodes: 3, chunks: 100 },
  chunkBytes: DEFAULT_MAX_CHUNK_SIZE,
  minimums: { nodes: 2 },
  run: (options) =>
    runScenario(bigChunks, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const count = sizes.chunks;
      const chunks = generateChunks(count, sim.random, { size: DEFAULT_MAX_CHUNK_SIZE, prefix: 'big' });
      const first = all[0] as string;
      const second = all[1] as string;
      sim.announce(chunks);
      await sim.addNode(first, { start: false });
      await sim.put(first, chunks);
      await sim.startNode(first);
      await sim.addNode(second, { seeds: [first] });
      const fetched = await sim.runUntil(() => (sim.get(second)?.node?.stats().have ?? 0) === count, DEADLINE_MS);
      const stats = sim.get(second)?.node?.stats();
      const gets = sim.network.stats(second).byMethod.getChunks;
      for (const name of all.slice(2)) await sim.addNode(name, { seeds: [first] });
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      return {
        converged: fetched.reached && outcome.reached,
        facts: {
          chunkSize: chunks.every((c) => c.data.byteLength === DEFAULT_MAX_CHUNK_SIZE) ? DEFAULT_MAX_CHUNK_SIZE : -1,
          secondNodeGetRequests: stats?.downloads.requests ?? -1,
          secondNodeGetCalls: gets?.messagesOut ?? 0,
          secondNodeChunksReceived: stats?.downloads.chunksReceived ?? -1,
          secondNodeReplyBytes: gets?.bytesIn ?? 0,
        },
      };
    }),
};

/** The (offset, length) pairs of SPEC §4's conformance case. */
export const INVENTORY_RANGES: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 1],
  [2, 1],
  [3, 1000],
  [0, 2],
  [1, 2],
  [2, 100],
  [0, 4],
];

export const inventory: Scenario = {
  name: 'inventory',
  summary: 'SPEC §4 byte ranges over the wire: 25 announcements stored one by one in random order; every range checked after each store',
  defaults: { nodes: 1, chunks: 25 },
  fixed: ['nodes'],
  run: (options) =>
    runScenario(inventory, options, {}, async (sim, sizes) => {
      const count = sizes.chunks;
      const chunks = generateChunks(count, sim.random);
      sim.announce(chunks);
      const name = 'n0';
      await sim.addNode(name);
      const order = chunks.map((_, i) => i);
      shuffle(order, sim.random);
      const expected = new Uint8Array(Math.ceil(count / 8));
      const probe = sim.probe();
      let checks = 0;
      let mismatches = 0;
      for (const index of order) {
        await sim.put(name, [chunks[index] as (typeof chunks)[number]]);
        expected[index >> 3] = (expected[index >> 3] as number) | (0x80 >> (index & 7));
        for (const [offset, length] of INVENTORY_RANGES) {
          const reply = await sim.settle(probe.inventory(name, { offset, length }));
          const want = expected.subarray(Math.min(offset, expected.length), Math.min(offset + length, expected.length));
          checks++;
          if (!Buffer.from(reply.bytes).equals(Buffer.from(want))) mismatches++;
        }
      }
      const outcome = await sim.runUntilConverged(60_000);
      return { converged: outcome.reached, facts: { checks, mismatches } };
    }),
};
