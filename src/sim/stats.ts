/**
 * Goodness-of-fit statistics for testing samplers (SPEC §5.3, "How to test a sampler"): Pearson's
 * chi-square test with an exact p-value from the regularized incomplete gamma function, and the
 * total-variation distance.
 */
import { AtlasError, ErrorCodes } from '../errors.js';

export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  /** Probability, under the null hypothesis, of a statistic at least this large. */
  pValue: number;
}

const MAX_ITERATIONS = 100_000;
const EPSILON = 1e-15;
const TINY = 1e-300;

function badInput(message: string): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message);
}

/**
 * ln Γ(x) for x > 0: Stirling's series (terms up to B8) once x >= 15, lifted there from smaller x
 * by the recurrence Γ(x + 1) = x Γ(x). Absolute error below 1e-14.
 */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw badInput(`logGamma needs a finite x > 0, got ${x}`);
  let shift = 0;
  let z = x;
  while (z < 15) {
    shift += Math.log(z);
    z += 1;
  }
  const inv = 1 / z;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680))));
  return (z - 0.5) * Math.log(z) - z + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** ln(x^a e^-x / Γ(a)), the common prefactor of both incomplete gamma expansions. */
function logPrefactor(a: number, x: number): number {
  return a * Math.log(x) - x - logGamma(a);
}

/** P(a, x) by its power series; converges quickly for x < a + 1. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) return sum * Math.exp(logPrefactor(a, x));
  }
  throw new AtlasError(ErrorCodes.INTERNAL, `incomplete gamma series did not converge (a=${a}, x=${x})`);
}

/** Q(a, x) by its continued fraction (modified Lentz); converges quickly for x >= a + 1. */
function upperContinuedFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) return h * Math.exp(logPrefactor(a, x));
  }
  throw new AtlasError(ErrorCodes.INTERNAL, `incomplete gamma continued fraction did not converge (a=${a}, x=${x})`);
}

function checkGammaArguments(a: number, x: number): void {
  if (!(a > 0) || !Number.isFinite(a)) throw badInput(`incomplete gamma needs a finite a > 0, got ${a}`);
  if (!(x >= 0)) throw badInput(`incomplete gamma needs x >= 0, got ${x}`);
}

/** Regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a). */
export function regularizedGammaP(a: number, x: number): number {
  checkGammaArguments(a, x);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? lowerSeries(a, x) : 1 - upperContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) = 1 - P(a, x). */
export function regularizedGammaQ(a: number, x: number): number {
  checkGammaArguments(a, x);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperContinuedFraction(a, x);
}

/** Upper tail of the chi-square distribution: P(X >= statistic) with `degreesOfFreedom`. */
export function chiSquarePValue(statistic: number, degreesOfFreedom: number): number {
  if (!Number.isInteger(degreesOfFreedom) || degreesOfFreedom < 1) {
    throw badInput(`degrees of freedom must be a positive integer, got ${degreesOfFreedom}`);
  }
  if (Number.isNaN(statistic)) throw badInput('chi-square statistic is NaN');
  if (statistic <= 0) return 1;
  return regularizedGammaQ(degreesOfFreedom / 2, statistic / 2);
}

function checkCounts(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as number;
    if (!(c >= 0) || !Number.isFinite(c)) throw badInput(`counts must be finite and >= 0 (index ${i}: ${c})`);
    total += c;
  }
  if (total === 0) throw badInput('counts are all zero');
  return total;
}

/**
 * Pearson's chi-square test of observed `counts` against `expected` probabilities (normalised
 * here, so weights are fine). Bins expected to be empty do not count as degrees of freedom; an
 * observation in one makes the statistic infinite and the p-value 0.
 */
export function chiSquareGoodnessOfFit(counts: ArrayLike<number>, expected: ArrayLike<number>): ChiSquareResult {
  if (counts.length !== expected.length) {
    throw badInput(`counts (${counts.length}) and expected (${expected.length}) differ in length`);
  }
  const total = checkCounts(counts);
  let weight = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i] as number;
    if (!(e >= 0) || !Number.isFinite(e)) throw badInput(`expected must be finite and >= 0 (index ${i}: ${e})`);
    weight += e;
  }
  if (weight === 0) throw badInput('expected probabilities are all zero');
  let statistic = 0;
  let bins = 0;
  for (let i = 0; i < counts.length; i++) {
    const observed = counts[i] as number;
    const mean = (total * (expected[i] as number)) / weight;
    if (mean === 0) {
      if (observed > 0) statistic = Infinity;
      continue;
    }
    bins++;
    statistic += ((observed - mean) * (observed - mean)) / mean;
  }
  if (bins < 2) throw badInput('a chi-square test needs at least two bins with non-zero expectation');
  const degreesOfFreedom = bins - 1;
  const pValue = statistic === Infinity ? 0 : chiSquarePValue(statistic, degreesOfFreedom);
  return { statistic, degreesOfFreedom, pValue };
}

/** Chi-square test of `counts` against the uniform distribution over its bins. */
export function chiSquareUniform(counts: ArrayLike<number>): ChiSquareResult {
  return chiSquareGoodnessOfFit(counts, new Float64Array(counts.length).fill(1));
}

/** Total-variation distance, ½ Σ |p_i − q_i|, between two weight vectors (each normalised here). */
export function totalVariationDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw badInput(`distributions differ in length (${p.length} vs ${q.length})`);
  const sp = checkCounts(p);
  const sq = checkCounts(q);
  let sum = 0;
  for (let i = 0; i < p.length; i++) sum += Math.abs((p[i] as number) / sp - (q[i] as number) / sq);
  return sum / 2;
}

/** Total-variation distance between the empirical distribution of `counts` and uniform. */
export function totalVariationFromUniform(counts: ArrayLike<number>): number {
  return totalVariationDistance(counts, new Float64Array(counts.length).fill(1));
}
