/**
 * The transitions of the random walks over the peer graph (SPEC §5.3): the MHDA sampler, whose
 * samples are uniform over peers, and a plain random walk, which over-samples well-connected peers
 * and serves as the negative control in tests. Each is the one `transition` of the walk that
 * walk-sampler.ts runs (start, burn-in, restarts), over the lists neighbor-lists.ts fetches.
 */
import type { MaybePromise, NeighborList, StepOptions } from './walk-types.js';
import { WalkSampler } from './walk-sampler.js';

/**
 * MHDA step 4: the probability of moving on to k' after a proposed backtrack from j to i, with
 * d(j) = dj, d(k') = dk2, d(i) = di. It is the product min{1,(dj/dk')²} · max{1,(di/dj)²}, capped
 * at 1 (the original code's three-argument min dropped the max term).
 */
export function backtrackAcceptance(dj: number, dk2: number, di: number): number {
  const forward = Math.min(1, (dj / dk2) ** 2);
  const avoidedBacktrack = Math.max(1, (di / dj) ** 2);
  return Math.min(1, forward * avoidedBacktrack);
}

/**
 * Metropolis-Hastings with Delayed Acceptance (Lee, Xu and Eun, SIGMETRICS 2012) targeting the
 * uniform distribution over peers: exactly the four steps of SPEC §5.3. Each stage continues
 * synchronously when its list came synchronously.
 */
export class MhdaSampler extends WalkSampler {
  protected transition(j: string, i: string | undefined, options: StepOptions | undefined): MaybePromise<string | undefined> {
    const nj = this.fetch(j, options);
    return nj instanceof Promise ? nj.then((list) => this.#propose(j, i, list, options)) : this.#propose(j, i, nj, options);
  }

  /** Step 1: propose k uniformly from N(j). */
  #propose(j: string, i: string | undefined, nj: NeighborList | undefined, options: StepOptions | undefined): MaybePromise<string | undefined> {
    if (nj === undefined) return undefined;
    const kIndex = Math.floor(this.random() * nj.length);
    const nk = this.fetch(nj[kIndex] as string, options);
    return nk instanceof Promise
      ? nk.then((list) => this.#accept(j, i, nj, kIndex, list, options))
      : this.#accept(j, i, nj, kIndex, nk, options);
  }

  /** Steps 2-4: accept with min(1, d(j)/d(k)); on a backtrack, try once to go on to k' instead. */
  #accept(
    j: string,
    i: string | undefined,
    nj: NeighborList,
    kIndex: number,
    nk: NeighborList | undefined,
    options: StepOptions | undefined,
  ): MaybePromise<string | undefined> {
    if (nk === undefined) return undefined;
    const dj = nj.length;
    const dk = nk.length;
    if (dk > dj && this.random() * dk >= dj) return j;
    const k = nj[kIndex] as string;
    if (k !== i) return k;
    if (dj === 1) return k;
    // k' uniform from N(j) \ {i}: skip i's slot.
    let k2Index = Math.floor(this.random() * (dj - 1));
    if (k2Index >= kIndex) k2Index++;
    const k2 = nj[k2Index] as string;
    const nk2 = this.fetch(k2, options);
    return nk2 instanceof Promise ? nk2.then((list) => this.#delayed(dj, k, dk, k2, list)) : this.#delayed(dj, k, dk, k2, nk2);
  }

  /** Step 4's second stage: move to k' with backtrackAcceptance(d(j), d(k'), d(i)), else to i. */
  #delayed(dj: number, i: string, di: number, k2: string, nk2: NeighborList | undefined): string | undefined {
    if (nk2 === undefined) return undefined;
    const p = backtrackAcceptance(dj, nk2.length, di);
    return p >= 1 || this.random() < p ? k2 : i;
  }
}

/**
 * The plain random walk: move to a uniform neighbour. Its samples converge to π(v) ∝ d(v), not to
 * uniform; it exists as the negative control that shows a sampler test has power.
 */
export class RandomWalkSampler extends WalkSampler {
  protected transition(j: string, _i: string | undefined, options: StepOptions | undefined): MaybePromise<string | undefined> {
    const nj = this.fetch(j, options);
    return nj instanceof Promise ? nj.then((list) => this.#pick(list)) : this.#pick(nj);
  }

  #pick(nj: NeighborList | undefined): string | undefined {
    return nj === undefined ? undefined : (nj[Math.floor(this.random() * nj.length)] as string);
  }
}
