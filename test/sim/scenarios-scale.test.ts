/**
 * Many chunks announced in blocks and put at random nodes over time: the benchmark's 1,000 nodes x
 * 10,000 chunks, scaled down to fit the test budget (bench/sim.ts runs it larger).
 */
import { describe, expect, it } from 'vitest';
import { findScenario } from '../../src/sim/scenarios/index.js';
import { expectStrict } from './strict.js';

describe('scale in the simulator', () => {
  it(
    'scale (scaled down from 1,000 x 10,000): chunks announced in blocks and put at random nodes over time',
    async () => {
      const scenario = findScenario('scale');
      if (!scenario) throw new Error('no scale scenario');
      const result = await scenario.run({ seed: 23, nodes: 40, chunks: 200 });
      expectStrict(result);
      expect(result.figures.honestNodes).toBe(40);
      expect(result.report.positions).toBe(200);
      expect(result.facts.blocks).toBe(30);
      // Every chunk a node stored from a peer crossed the wire at least once, and seldom twice.
      expect(result.figures.usefulChunkBytes).toBeGreaterThan(0);
      expect(result.figures.chunkBytesReceived).toBeGreaterThanOrEqual(result.figures.usefulChunkBytes);
      expect(result.figures.redundancy).toBeLessThanOrEqual(1.1);
    },
    240_000,
  );
});
