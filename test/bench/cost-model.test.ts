import { describe, expect, it } from 'vitest';
import { fitLine } from '../../bench/sync/cost-model.js';

describe('the sync benchmark cost model', () => {
  it('recovers the line through exact points', () => {
    const line = fitLine([5_000, 20_000, 80_000].map((x) => ({ x, y: 240 + 0.009 * x })));
    expect(line.fixed).toBeCloseTo(240, 9);
    expect(line.perChunk).toBeCloseTo(0.009, 12);
  });

  it('fits the least-squares line through scattered points', () => {
    // y = 1 + 2x with residuals +1, -2, +1 (they sum to zero and are orthogonal to x): the fit is y = 1 + 2x.
    const line = fitLine([
      { x: 0, y: 2 },
      { x: 1, y: 1 },
      { x: 2, y: 6 },
    ]);
    expect(line.perChunk).toBeCloseTo(2, 12);
    expect(line.fixed).toBeCloseTo(1, 12);
  });

  it('refuses points at one size only', () => {
    expect(() => fitLine([{ x: 3, y: 1 }, { x: 3, y: 2 }])).toThrow(RangeError);
  });
});
