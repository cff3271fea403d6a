/**
 * Size: a large network with chunks announced in blocks and put at random nodes over time, and
 * the spread of single new chunks through a settled network (the time for one chunk to reach
 * every node, which should grow like log N).
 */
import type { Simulation } from '../simulation.js';
import { generateChunks } from '../workload.js';
import { log, names, pick, runScenario, type Scenario } from './common.js';

/** Well-known seeds every node starts from: a real network has a few, not one. */
const SEEDS = 3;
const BLOCK_MS = 10_000;

async function addNetwork(sim: Simulation, all: readonly string[], report: (line: string) => void): Promise<void> {
  const seeds = all.slice(0, Math.min(SEEDS, all.length));
  for (let i = 0; i < all.length; i++) {
    const name = all[i] as string;
    await sim.addNode(name, { seeds: seeds.filter((s) => s !== name) });
    if ((i + 1) % 1_000 === 0) report(`${i + 1} nodes added`);
  }
}

export const scale: Scenario = {
  name: 'scale',
  summary: 'a large network: chunks announced in blocks every 10 s and put at random nodes over time, until every node holds every chunk',
  defaults: { nodes: 1_000, chunks: 1_000 },
  minimums: { nodes: 2 },
  run: (options) =>
    runScenario(scale, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const count = sizes.chunks;
      const report = (line: string) => log(options, sim, line);
      await addNetwork(sim, all, report);
      await sim.runFor(20_000);
      report(`overlay settled (${sim.clock.fired} timers so far)`);
      const chunks = generateChunks(count, sim.random);
      // About 30 blocks, at least one chunk each.
      const blocks = Math.max(1, Math.min(30, count));
      const perBlock = Math.ceil(count / blocks);
      const start = sim.clock.now();
      let lastPutAt = start;
      for (let b = 0; b < blocks; b++) {
        const block = chunks.slice(b * perBlock, (b + 1) * perBlock);
        if (block.length === 0) break;
        const at = start + b * BLOCK_MS;
        sim.at(at, () => sim.announce(block));
        for (const chunk of block) {
          // Owners put their chunk within the block interval after it is announced.
          const putAt = at + 500 + sim.random() * (BLOCK_MS - 1_000);
          lastPutAt = Math.max(lastPutAt, putAt);
          const owner = pick(sim.random, all);
          sim.at(putAt, async () => {
            await sim.put(owner, [chunk]);
          });
        }
      }
      report(`${count} chunks in ${blocks} blocks, put at random nodes until ${(lastPutAt / 1000).toFixed(0)} s`);
      await sim.runUntil(() => sim.clock.now() > lastPutAt, lastPutAt - sim.clock.now() + 1_000);
      const outcome = await sim.runUntilConverged(60 * 60_000);
      return { converged: outcome.reached, facts: { blocks, lastPutAtMs: lastPutAt, convergedAfterLastPutMs: outcome.at - lastPutAt } };
    }),
};

export const spread: Scenario = {
  name: 'spread',
  summary: 'single new chunks put one at a time at random nodes of a settled network: the time for each to reach every node',
  defaults: { nodes: 100, chunks: 20 },
  minimums: { nodes: 2 },
  run: (options) =>
    runScenario(spread, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const count = sizes.chunks;
      await addNetwork(sim, all, (line) => log(options, sim, line));
      // Let the overlay settle: peer tables fill and every node picks its neighbours.
      await sim.runFor(30_000);
      log(options, sim, `overlay settled (${sim.clock.fired} timers so far)`);
      const chunks = generateChunks(count, sim.random);
      sim.announce(chunks);
      const gapMs = 5_000;
      const start = sim.clock.now();
      chunks.forEach((chunk, i) => {
        const owner = pick(sim.random, all);
        sim.at(start + i * gapMs, async () => {
          await sim.put(owner, [chunk]);
        });
      });
      await sim.runFor((count - 1) * gapMs + 1);
      log(options, sim, `all ${count} chunks put`);
      const outcome = await sim.runUntilConverged(30 * 60_000);
      return { converged: outcome.reached, facts: { gapMs } };
    }),
};
