/**
 * Faults beyond SPEC §8: a partition that heals, Byzantine peers, a chain reorganisation in the
 * middle of a sync, and a late joiner catching up from an established network.
 */
import { shuffle } from '../../runtime.js';
import type { Address } from '../../address.js';
import { BYZANTINE_BEHAVIOURS, type ByzantineBehaviour } from '../byzantine.js';
import type { SimNode, Simulation } from '../simulation.js';
import { generateChunks, type GeneratedChunk } from '../workload.js';
import { log, names, pick, runScenario, type Fact, type Scenario } from './common.js';

const DEADLINE_MS = 30 * 60_000;
/** Byzantine scenario: how often neighbour sets are polled, and how long the run goes on after
 * convergence to watch liars being dropped. */
const POLL_MS = 5_000;
const JUDGEMENT_MS = 15 * 60_000;
const WARM_UP_MS = 20_000;

/** `predicate`, evaluated at most once per `everyMs` of virtual time (it may be costly). */
function throttled(sim: Simulation, everyMs: number, predicate: () => boolean): () => boolean {
  let next = -Infinity;
  let last = false;
  return () => {
    const now = sim.clock.now();
    if (now >= next) {
      next = now + everyMs;
      last = predicate();
    }
    return last;
  };
}

function holdsAll(sim: Simulation, nodes: readonly string[], chunks: readonly GeneratedChunk[]): boolean {
  return nodes.every((name) => chunks.every((chunk) => sim.replication.holds(name, chunk.address)));
}

function countHeld(sim: Simulation, nodes: readonly string[], chunks: readonly GeneratedChunk[]): number {
  let held = 0;
  for (const name of nodes) for (const chunk of chunks) if (sim.replication.holds(name, chunk.address)) held++;
  return held;
}

export const partition: Scenario = {
  name: 'partition',
  summary: 'the network splits in two halves, chunks are put on both sides, each side converges on its own, then the halves heal',
  defaults: { nodes: 16, chunks: 200 },
  minimums: { nodes: 4, chunks: 2 },
  run: (options) =>
    runScenario(partition, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const half = all.length / 2;
      const sideA = all.slice(0, Math.floor(half));
      const sideB = all.slice(Math.floor(half));
      const seeds = [sideA[0] as string, sideB[0] as string];
      const chunks = generateChunks(sizes.chunks, sim.random);
      const chunksA = chunks.slice(0, Math.ceil(chunks.length / 2));
      const chunksB = chunks.slice(chunksA.length);
      sim.announce(chunks);
      for (const name of all) await sim.addNode(name, { seeds: seeds.filter((s) => s !== name) });
      await sim.runFor(WARM_UP_MS);
      sim.network.partition(sideA, sideB);
      const partitionedAt = sim.clock.now();
      log(options, sim, 'partitioned');
      for (const chunk of chunksA) await sim.put(pick(sim.random, sideA), [chunk]);
      for (const chunk of chunksB) await sim.put(pick(sim.random, sideB), [chunk]);
      const sides = await sim.runUntil(
        throttled(sim, 1_000, () => holdsAll(sim, sideA, chunksA) && holdsAll(sim, sideB, chunksB)),
        DEADLINE_MS,
      );
      // Nothing may cross while the halves are cut.
      const leakedBeforeHeal = countHeld(sim, sideA, chunksB) + countHeld(sim, sideB, chunksA);
      sim.network.heal();
      const healedAt = sim.clock.now();
      log(options, sim, 'healed');
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      return {
        converged: sides.reached && outcome.reached,
        facts: {
          sidesConverged: sides.reached,
          sidesConvergedAfterMs: sides.at - partitionedAt,
          leakedBeforeHeal,
          convergedAfterHealMs: outcome.at - healedAt,
        },
      };
    }),
};

/** Byzantine behaviours an honest node can detect from what the peer sends it. */
export const DETECTABLE_BEHAVIOURS: readonly ByzantineBehaviour[] = ['corrupt', 'liar', 'stall', 'oversized', 'garbage'];

export const byzantine: Scenario = {
  name: 'byzantine',
  summary: '20% Byzantine peers (corrupt bytes, lying inventories, stalling, oversized and garbage replies, peer-exchange floods): honest nodes converge, nothing corrupt is stored, liars fall out of honest peer tables',
  defaults: { nodes: 60, chunks: 300 },
  minimums: { nodes: 6 },
  run: (options) =>
    runScenario(byzantine, options, {}, async (sim, sizes) => {
      const total = sizes.nodes;
      const byzantineCount = Math.max(1, Math.round(total * 0.2));
      const honest = names(total - byzantineCount);
      const seed = honest[0] as string;
      const roles = new Map<string, ByzantineBehaviour>();
      for (let i = 0; i < byzantineCount; i++) roles.set(`x${i}`, BYZANTINE_BEHAVIOURS[i % BYZANTINE_BEHAVIOURS.length] as ByzantineBehaviour);
      // Join in a random order, so Byzantine peers are spread through the overlay.
      const joining = [...honest.slice(1), ...roles.keys()];
      shuffle(joining, sim.random);
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      await sim.addNode(seed);
      for (const name of joining) {
        const behaviour = roles.get(name);
        await sim.addNode(name, behaviour === undefined ? { seeds: [seed] } : { seeds: [seed], behaviour });
      }
      // Every removal of a liar from an honest node's table for what it did (penalties, or the
      // health they cost), however short its stint: many end between two polls.
      const removedForOffences: Record<string, number> = {};
      for (const member of sim.honest()) {
        member.node?.on('peer:remove', ({ peer, reason }) => {
          const behaviour = roles.get(peer);
          if (behaviour !== undefined && (reason === 'penalised' || reason === 'unhealthy')) removedForOffences[behaviour] = (removedForOffences[behaviour] ?? 0) + 1;
        });
      }
      await sim.runFor(WARM_UP_MS);
      for (const chunk of chunks) await sim.put(pick(sim.random, honest), [chunk]);
      // Every stint of a Byzantine peer among an honest node's neighbours (polled), and how it
      // ended: dropped from the node's table, or only replaced as a neighbour.
      const open = new Map<string, number>();
      const longest: Record<string, number> = {};
      const endedDropped: Record<string, number> = {};
      const endedReplaced: Record<string, number> = {};
      const poll = () => {
        const now = sim.clock.now();
        const current = new Set<string>();
        for (const member of sim.honest()) {
          for (const peer of member.node?.stats().neighbors ?? []) if (roles.has(peer)) current.add(`${member.name} ${peer}`);
        }
        for (const key of current) if (!open.has(key)) open.set(key, now);
        for (const [key, since] of [...open]) {
          const [name, peer] = key.split(' ') as [string, string];
          const behaviour = roles.get(peer) as ByzantineBehaviour;
          longest[behaviour] = Math.max(longest[behaviour] ?? 0, now - since);
          if (current.has(key)) continue;
          open.delete(key);
          const ended = sim.get(name)?.table.has(peer) ? endedReplaced : endedDropped;
          ended[behaviour] = (ended[behaviour] ?? 0) + 1;
        }
        sim.at(now + POLL_MS, poll);
      };
      poll();
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      const tablesAtConvergence = byzantineInTables(sim, roles);
      log(options, sim, `converged: ${outcome.reached}`);
      // The judgement: a while longer, watching how long liars last as neighbours.
      await sim.runFor(JUDGEMENT_MS);
      const neighboursAtEnd = sim.honest().reduce((sum, m) => sum + (m.node?.stats().neighbors ?? []).filter((p) => roles.has(p)).length, 0);
      const facts: Record<string, Fact> = {
        byzantine: byzantineCount,
        honest: honest.length,
        convergedAtMs: outcome.at,
        byzantineNeighboursAtEnd: neighboursAtEnd,
        bogusAdmitted: sim.honest().reduce((sum, m) => sum + [...m.table].filter((p) => p.startsWith('bogus-')).length, 0),
        maxPendingPeers: Math.max(...sim.honest().map((m) => m.node?.stats().pendingPeers ?? 0)),
        maxPeers: Math.max(...sim.honest().map((m) => m.node?.stats().peers ?? 0)),
        rejectedChunks: sim.chunkTraffic().rejected,
        auditsFailed: sim.honest().reduce((sum, m) => sum + (m.node?.stats().audits.failed ?? 0), 0),
      };
      for (const [behaviour, count] of Object.entries(tablesAtConvergence)) facts[`inTablesAtConvergence.${behaviour}`] = count;
      for (const [behaviour, count] of Object.entries(byzantineInTables(sim, roles))) facts[`inTablesAtEnd.${behaviour}`] = count;
      for (const behaviour of new Set(roles.values())) {
        facts[`longestNeighbourMs.${behaviour}`] = longest[behaviour] ?? 0;
        facts[`droppedAsNeighbour.${behaviour}`] = endedDropped[behaviour] ?? 0;
        facts[`replacedAsNeighbour.${behaviour}`] = endedReplaced[behaviour] ?? 0;
        facts[`removedForOffences.${behaviour}`] = removedForOffences[behaviour] ?? 0;
      }
      return { converged: outcome.reached, facts };
    }),
};

/** How many honest peer tables hold a Byzantine peer, by behaviour. */
function byzantineInTables(sim: Simulation, roles: ReadonlyMap<string, ByzantineBehaviour>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const behaviour of new Set(roles.values())) counts[behaviour] = 0;
  for (const member of sim.honest()) {
    for (const peer of member.table) {
      const behaviour = roles.get(peer);
      if (behaviour !== undefined) counts[behaviour] = (counts[behaviour] ?? 0) + 1;
    }
  }
  return counts;
}

export const reorg: Scenario = {
  name: 'reorg',
  summary: 'a chain reorganisation in the middle of a sync: the sequence is rolled back and new announcements follow',
  defaults: { nodes: 12, chunks: 300 },
  minimums: { nodes: 2, chunks: 10 },
  run: (options) =>
    runScenario(reorg, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const count = sizes.chunks;
      const chunks = generateChunks(count, sim.random);
      sim.announce(chunks);
      for (const name of all) await sim.addNode(name, name === all[0] ? {} : { seeds: [all[0] as string] });
      await sim.runFor(5_000);
      for (const chunk of chunks) await sim.put(pick(sim.random, all), [chunk]);
      // Let the sync get under way, but not finish.
      const midway = await sim.runUntil(() => sim.fractionHeld() >= 0.3 || sim.converged(), DEADLINE_MS);
      const fractionAtReorg = sim.fractionHeld();
      const midSync = midway.reached && !sim.converged();
      const keep = Math.floor(count * 0.6);
      sim.rollback(keep);
      // The new branch: fresh chunks, and a few of the rolled-back ones announced again.
      const fresh = generateChunks(Math.floor(count * 0.3), sim.random, { prefix: 'branch' });
      const again = chunks.slice(keep, keep + Math.min(10, count - keep));
      sim.announce([...fresh, ...again]);
      await sim.runFor(1_000); // owners put once their node has seen the new block
      for (const chunk of fresh) await sim.put(pick(sim.random, all), [chunk]);
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      const digests = new Set(sim.honest().map((m) => m.store.sequenceDigest()));
      const dropped = chunks.slice(keep + again.length).map((c) => c.address);
      const droppedAnnounced = sim.honest().reduce((sum, m) => sum + dropped.filter((a: Address) => m.store.positionsOf(a).length > 0).length, 0);
      return {
        converged: outcome.reached,
        facts: {
          midSync,
          fractionAtReorg: Number(fractionAtReorg.toFixed(3)),
          rolledBackTo: keep,
          sequenceLength: sim.chain.size,
          distinctSequenceDigests: digests.size,
          droppedStillAnnounced: droppedAnnounced,
          convergedAfterReorgMs: outcome.at - midway.at,
        },
      };
    }),
};

export const lateJoiner: Scenario = {
  name: 'late-joiner',
  summary: 'a node joins an established, converged network and catches up on everything',
  defaults: { nodes: 20, chunks: 500 },
  minimums: { nodes: 2 },
  run: (options) =>
    runScenario(lateJoiner, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const established = all.slice(0, -1);
      const joiner = all[all.length - 1] as string;
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      for (const name of established) await sim.addNode(name, name === all[0] ? {} : { seeds: [all[0] as string] });
      await sim.runFor(5_000);
      for (const chunk of chunks) await sim.put(pick(sim.random, established), [chunk]);
      const before = await sim.runUntilConverged(DEADLINE_MS);
      await sim.runFor(60_000); // an established network: settled for a minute
      const joinedAt = sim.clock.now();
      const member: SimNode = await sim.addNode(joiner, { seeds: [all[0] as string] });
      const outcome = await sim.runUntilConverged(DEADLINE_MS);
      const stats = member.node?.stats();
      return {
        converged: before.reached && outcome.reached,
        facts: {
          establishedConvergedAtMs: before.at,
          catchUpMs: outcome.at - joinedAt,
          joinerRequests: stats?.downloads.requests ?? -1,
          joinerDuplicates: stats?.downloads.duplicateChunks ?? -1,
        },
      };
    }),
};
