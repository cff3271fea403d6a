/** Least-squares lines through measured points, shared by the benchmarks. */

export interface FittedLine {
  intercept: number;
  slope: number;
  /** The share of the variance the line explains (1 when there is none to explain). */
  r2: number;
}

/** The least-squares line y = intercept + slope · x through the points (xs[i], ys[i]); a slope of 0 when every x is the same. */
export function fitLine(xs: readonly number[], ys: readonly number[]): FittedLine {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    const dy = (ys[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  const r2 = sxx === 0 || syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept: my - slope * mx, r2 };
}
