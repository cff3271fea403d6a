/**
 * SPEC §8's scenarios in the simulator, each held to the strict criterion (every bit of the
 * sequence on every honest node, every chunk's bytes hashed), plus each scenario's own property.
 */
import { describe, expect, it } from 'vitest';
import { findScenario, type ScenarioOptions, type ScenarioResult } from '../../src/sim/scenarios/index.js';
import { expectStrict } from './strict.js';

async function run(name: string, options: Partial<ScenarioOptions> = {}): Promise<ScenarioResult> {
  const scenario = findScenario(name);
  if (!scenario) throw new Error(`no scenario ${name}`);
  return scenario.run({ seed: 11, ...options });
}

describe('SPEC §8 scenarios in the simulator', () => {
  it('mesh: 8 peers seeded with one node converge on chunks put at random nodes', async () => {
    const result = await run('mesh');
    expectStrict(result);
    expect(result.figures.honestNodes).toBe(9);
    expect(result.report.positions).toBe(200);
  });

  it('line: only adjacent nodes reach each other, data put at both ends crosses the whole line', async () => {
    const result = await run('line');
    expectStrict(result);
    expect(result.figures.honestNodes).toBe(9);
    expect(result.facts.nonAdjacentPeers).toBe(0);
  });

  it('NAT/star: peers that reach only the seed converge, including on data put behind the NAT', async () => {
    const result = await run('star');
    expectStrict(result);
    expect(result.facts.natPeersKnowingPeers).toBe(0);
    // The seed can call nobody, so it admits nobody: the peers come to it.
    expect(result.facts.seedTable).toBe(0);
  });

  it('churn: a ring of 18 with a sliding window of 8 live nodes; every node ends with everything', async () => {
    const result = await run('churn', { chunks: 60 });
    expectStrict(result);
    expect(result.figures.honestNodes).toBe(18);
    expect(result.facts.minAlive).toBe(8);
    expect(result.facts.maxAlive).toBe(8);
    // The window went round far enough for every node to have been alive after the data was put.
    expect(result.facts.slides as number).toBeGreaterThanOrEqual(10);
  });

  it('storage: chunks put before a node starts are readable everywhere after sync, and after a restart', async () => {
    const result = await run('storage');
    expectStrict(result);
    expect(result.facts.readableBeforeStart).toBe(50);
    expect(result.facts.readableAfterRestart).toBe(100);
  });

  it('peer exchange: unreachable peers never appear in peer lists; the seed lists all 8 reachable peers', async () => {
    const result = await run('peer-exchange');
    expectStrict(result);
    expect(result.facts.probes as number).toBeGreaterThan(0);
    expect(result.facts.unreachableListed).toBe(0);
    expect(result.facts.unreachableAdmitted).toBe(0);
    expect(result.facts.reachablePeers).toBe(8);
    expect(result.facts.seedListsReachable).toBe(8);
    expect(result.facts.seedListSize).toBe(8);
  });

  it('big chunks: 100 chunks of exactly 40,960 bytes reach a new node in one get of 100', async () => {
    const result = await run('big-chunks');
    expectStrict(result);
    expect(result.facts.chunkSize).toBe(40_960);
    expect(result.facts.secondNodeGetCalls).toBe(1);
    expect(result.facts.secondNodeGetRequests).toBe(1);
    expect(result.facts.secondNodeChunksReceived).toBe(100);
    expect(result.facts.secondNodeReplyBytes as number).toBeGreaterThan(100 * 40_960);
  });

  it('inventory: the SPEC §4 byte ranges over the wire after every store, in random order', async () => {
    const result = await run('inventory');
    expectStrict(result);
    expect(result.facts.checks).toBe(25 * 8);
    expect(result.facts.mismatches).toBe(0);
  });
});
