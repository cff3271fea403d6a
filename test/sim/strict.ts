import { expect } from 'vitest';
import type { ScenarioResult } from '../../src/sim/scenarios/index.js';

/** SPEC §8, strengthened: every bit of the sequence on every honest node, bytes verified by hash, nothing corrupt anywhere. */
export function expectStrict(result: ScenarioResult): void {
  expect(result.errors).toEqual([]);
  expect(result.report.problems).toEqual([]);
  expect(result.converged).toBe(true);
  expect(result.report.missing).toBe(0);
  expect(result.report.corrupt).toBe(0);
  expect(result.report.positions).toBeGreaterThan(0);
  // Every honest node's copy of every distinct chunk was hashed.
  expect(result.report.verifiedChunks).toBeGreaterThanOrEqual(result.report.nodes);
  expect(result.report.ok).toBe(true);
}
