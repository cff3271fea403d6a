import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { randomInt, seededRandom } from '../../src/runtime.js';
import {
  chiSquareGoodnessOfFit,
  chiSquarePValue,
  chiSquareUniform,
  logGamma,
  regularizedGammaP,
  regularizedGammaQ,
  totalVariationDistance,
  totalVariationFromUniform,
} from '../../src/sim/stats.js';

/**
 * For an even number of degrees of freedom 2m the chi-square tail has a closed form, the Poisson
 * sum e^(-x/2) Σ_{k<m} (x/2)^k / k!: an independent check of the incomplete gamma code.
 */
function evenDfTail(x: number, df: number): number {
  const half = x / 2;
  let logTerm = -half; // log of e^-half * half^k / k!, for k = 0
  let sum = 0;
  for (let k = 0; k < df / 2; k++) {
    if (k > 0) logTerm += Math.log(half) - Math.log(k);
    sum += Math.exp(logTerm);
  }
  return sum;
}

function relativeError(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe('logGamma', () => {
  it('matches log factorials and Γ(1/2) = √π', () => {
    let logFactorial = 0;
    for (let n = 1; n <= 200; n++) {
      expect(Math.abs(logGamma(n) - logFactorial)).toBeLessThan(1e-12 * Math.max(1, logFactorial));
      logFactorial += Math.log(n);
    }
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    // Γ(x + 1) = x Γ(x) across the switch to Stirling's series at 15.
    for (const x of [0.3, 7.25, 14.5, 14.99, 15, 40.5, 499.5]) {
      expect(logGamma(x + 1) - logGamma(x)).toBeCloseTo(Math.log(x), 10);
    }
  });

  it('refuses x <= 0', () => {
    expect(() => logGamma(0)).toThrow();
    expect(() => logGamma(-1)).toThrow();
  });
});

describe('regularized incomplete gamma', () => {
  // Reference values from scipy.special.gammainc / gammaincc (scipy 1.17).
  const reference: Array<[a: number, x: number, p: number]> = [
    [0.5, 0.1, 0.34527915398142317],
    [3, 2, 0.32332358381693654],
    [499.5, 520, 0.8211758345696049],
    [10, 30, 0.9999928782491372],
    [0.1, 5, 0.9998560610341533],
  ];

  it('matches reference values on both sides of x = a + 1', () => {
    for (const [a, x, p] of reference) {
      expect(relativeError(regularizedGammaP(a, x), p)).toBeLessThan(1e-10);
      expect(relativeError(regularizedGammaQ(a, x), 1 - p)).toBeLessThan(1e-9);
    }
    expect(relativeError(regularizedGammaQ(10, 30), 7.121750862815593e-6)).toBeLessThan(1e-9);
  });

  it('P + Q = 1 and Q(a + 1, x) = Q(a, x) + x^a e^-x / Γ(a + 1)', () => {
    for (const a of [0.5, 1, 2.5, 20, 499.5]) {
      for (const x of [0.01, 0.5, a, a + 1, 2 * a + 3, 3 * a + 10]) {
        expect(regularizedGammaP(a, x) + regularizedGammaQ(a, x)).toBeCloseTo(1, 13);
        const step = Math.exp(a * Math.log(x) - x - logGamma(a + 1));
        expect(regularizedGammaQ(a + 1, x)).toBeCloseTo(regularizedGammaQ(a, x) + step, 12);
      }
    }
  });

  it('has the right limits', () => {
    expect(regularizedGammaQ(3, 0)).toBe(1);
    expect(regularizedGammaP(3, 0)).toBe(0);
    expect(regularizedGammaQ(3, Infinity)).toBe(0);
    expect(() => regularizedGammaQ(0, 1)).toThrow();
    expect(() => regularizedGammaQ(1, -1)).toThrow();
  });
});

describe('chiSquarePValue', () => {
  it('gives the tabulated upper quantiles', () => {
    expect(chiSquarePValue(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquarePValue(6.6348966010212145, 1)).toBeCloseTo(0.01, 12);
    expect(chiSquarePValue(10.827566170662733, 1)).toBeCloseTo(0.001, 12);
    expect(chiSquarePValue(23.209251158954356, 10)).toBeCloseTo(0.01, 12);
    expect(chiSquarePValue(18.307038053275146, 10)).toBeCloseTo(0.05, 12);
  });

  it('matches scipy.stats.chi2.sf at 999 degrees of freedom (the sampler tests use 999)', () => {
    // scipy.stats.chi2.sf(x, 999), scipy 1.17; the last two x are chi2.isf(0.05 / 0.01, 999).
    const reference: Array<[x: number, p: number]> = [
      [850, 0.999767484278689],
      [1000, 0.48513148927490146],
      [1073, 0.05142968020183512],
      [1105, 0.010522712072401023],
      [1180, 6.0908692286123216e-5],
      [1073.6426506574246, 0.05],
      [1105.9169575045823, 0.01],
    ];
    for (const [x, p] of reference) expect(relativeError(chiSquarePValue(x, 999), p)).toBeLessThan(1e-9);
  });

  it('matches the closed form for even degrees of freedom, including 1000', () => {
    for (const [df, xs] of [
      [2, [0.5, 10, 40]],
      [10, [3, 23.2, 60]],
      [1000, [900, 1000, 1074.68, 1106.97, 1200]],
    ] as Array<[number, number[]]>) {
      for (const x of xs) expect(relativeError(chiSquarePValue(x, df), evenDfTail(x, df))).toBeLessThan(1e-10);
    }
  });

  it('refuses a non-integer or zero df', () => {
    expect(() => chiSquarePValue(1, 0)).toThrow();
    expect(() => chiSquarePValue(1, 2.5)).toThrow();
    expect(chiSquarePValue(0, 5)).toBe(1);
  });
});

describe('chiSquareGoodnessOfFit', () => {
  it('computes the statistic, df and p of a worked example', () => {
    // Expected 20 each: (10-20)²/20 + 0 + (30-20)²/20 = 10 on 2 df, whose tail is e^-5.
    const result = chiSquareUniform([10, 20, 30]);
    expect(result.statistic).toBeCloseTo(10, 12);
    expect(result.degreesOfFreedom).toBe(2);
    expect(result.pValue).toBeCloseTo(Math.exp(-5), 14);
    expect(chiSquareUniform([7, 7, 7, 7])).toEqual({ statistic: 0, degreesOfFreedom: 3, pValue: 1 });
  });

  it('takes expected weights, skipping impossible bins, and rejects any observation in one', () => {
    const fit = chiSquareGoodnessOfFit([30, 10, 0], [3, 1, 0]);
    expect(fit).toEqual({ statistic: 0, degreesOfFreedom: 1, pValue: 1 });
    const impossible = chiSquareGoodnessOfFit([30, 10, 1], [3, 1, 0]);
    expect(impossible.statistic).toBe(Infinity);
    expect(impossible.pValue).toBe(0);
  });

  it('refuses malformed input with BAD_REQUEST', () => {
    for (const bad of [
      () => chiSquareUniform([]),
      () => chiSquareUniform([0, 0]),
      () => chiSquareUniform([1, -1]),
      () => chiSquareUniform([5]),
      () => chiSquareGoodnessOfFit([1, 2], [1]),
      () => chiSquareGoodnessOfFit([1, 2], [0, 0]),
    ]) {
      let caught: unknown;
      try {
        bad();
      } catch (error) {
        caught = error;
      }
      expect(isAtlasError(caught, 'BAD_REQUEST')).toBe(true);
    }
  });

  it('is calibrated: under the null about 5 % of p-values fall below 0.05', () => {
    const random = seededRandom(2024);
    const trials = 400;
    let below = 0;
    for (let t = 0; t < trials; t++) {
      const counts = new Float64Array(200);
      for (let i = 0; i < 4_000; i++) {
        const bin = randomInt(random, 200);
        counts[bin] = (counts[bin] ?? 0) + 1;
      }
      if (chiSquareUniform(counts).pValue < 0.05) below++;
    }
    // Binomial(400, 0.05): mean 20, sd 4.4; 5 sd either side.
    expect(Math.abs(below - 20)).toBeLessThan(22);
    // And a 30 % deficit on half the bins is detected every time.
    const tilted = new Float64Array(200);
    for (let i = 0; i < 20_000; i++) {
      const bin = randomInt(random, 200);
      if (bin < 100 || random() < 0.7) tilted[bin] = (tilted[bin] ?? 0) + 1;
    }
    expect(chiSquareUniform(tilted).pValue).toBeLessThan(1e-4);
  });
});

describe('total variation', () => {
  it('is half the L1 distance between the normalised vectors', () => {
    expect(totalVariationDistance([1, 0], [0, 1])).toBe(1);
    expect(totalVariationDistance([2, 2], [5, 5])).toBe(0);
    expect(totalVariationDistance([3, 1], [1, 1])).toBeCloseTo(0.25, 15);
    expect(totalVariationFromUniform([4, 0, 0, 0])).toBeCloseTo(0.75, 15);
    expect(() => totalVariationDistance([1], [1, 2])).toThrow();
  });
});
