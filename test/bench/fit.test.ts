import { describe, expect, it } from 'vitest';
import { fitLine } from '../../bench/fit.js';

describe('the benchmarks’ least-squares line', () => {
  it('recovers the line through exact points, explaining all of their variance', () => {
    const line = fitLine([5_000, 20_000, 80_000], [5_000, 20_000, 80_000].map((x) => 240 + 0.009 * x));
    expect(line.intercept).toBeCloseTo(240, 9);
    expect(line.slope).toBeCloseTo(0.009, 12);
    expect(line.r2).toBeCloseTo(1, 12);
  });

  it('fits the least-squares line through scattered points, with their R²', () => {
    // y = 1 + 2x with residuals +1, -2, +1 (they sum to zero and are orthogonal to x): the fit is y = 1 + 2x.
    const line = fitLine([0, 1, 2], [2, 1, 6]);
    expect(line.slope).toBeCloseTo(2, 12);
    expect(line.intercept).toBeCloseTo(1, 12);
    // Explained 8 (= 2² · 2) of the total 14 (mean 3: 1 + 4 + 9).
    expect(line.r2).toBeCloseTo(8 / 14, 12);
  });

  it('gives a flat line through points at one x', () => {
    expect(fitLine([3, 3], [1, 2])).toEqual({ slope: 0, intercept: 1.5, r2: 1 });
  });
});
