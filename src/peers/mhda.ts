/**
 * Random walks over the peer graph (SPEC §5.3): the MHDA sampler, whose samples are uniform over
 * peers, and a plain random walk, which over-samples well-connected peers and serves as the
 * negative control in tests.
 *
 * A walker only knows what peers report: `neighbors(peer)` is asked for a peer's list, and `d(v)`
 * is the length of v's list after cleaning (duplicates and v itself removed, then the optional cap).
 * Each step fetches every list it needs once and, unless `reuseLists` is set, keeps none of them
 * for later steps, since peers come and go. A list that cannot be had (the call throws, or returns an empty list or no array)
 * restarts the walk at `start()` and the next `burnIn` steps are discarded.
 */
import { abortedError, AtlasError, ErrorCodes } from '../errors.js';
import type { Random } from '../runtime.js';

/** The neighbours a peer reports, as peer addresses. */
export type NeighborList = readonly string[];

/**
 * A peer's neighbour list. May answer synchronously (a simulator over an in-memory graph) or
 * with a promise (a network call); a throw or a rejection counts as the peer not answering.
 */
export type NeighborsFunction = (
  peer: string,
  options?: { signal?: AbortSignal },
) => NeighborList | Promise<NeighborList>;

/** Options of the random-walk samplers. */
export interface WalkSamplerOptions {
  neighbors: NeighborsFunction;
  random: Random;
  /** A restart node, drawn uniformly from the local peer table. Used for the first step too. */
  start: () => string | Promise<string>;
  /** Steps discarded after the first start and after every restart (SPEC §5.3: 20). */
  burnIn?: number;
  /**
   * Use at most this many entries of a reported list (a fresh uniform subset each time it is
   * fetched), and take d(v) as the capped length. This biases MHDA: it converges to
   * π(v) ∝ d(v) / min(d(v), maxDegree), uniform only while every degree stays within the cap,
   * so keep the overlay degree K well below it. Default: no cap.
   */
  maxDegree?: number;
  /**
   * The caller promises that every list holds distinct peer ids and never the peer itself (an
   * in-memory simple graph), so the sampler skips its duplicate check, which costs more than the
   * rest of a step. Default false: lists from the network are always checked.
   */
  distinctLists?: boolean;
  /**
   * Reuse, in one step, the lists fetched in the step before: the walk usually stands at a peer
   * whose list it has just read (as the proposal's), so a step costs about one call instead of two
   * or three. A list is used at most one step after it was fetched, never passed on further. On a
   * static graph the walk is the same Markov chain; over a network it reads a list up to one step
   * old. Default false.
   */
  reuseLists?: boolean;
}

/** Options of one step of a walk sampler. */
export interface StepOptions {
  signal?: AbortSignal;
}

/** Options of one sample drawn by a walk sampler. */
export interface SampleOptions extends StepOptions {
  /** Steps tried before giving up with UNREACHABLE. Default: 10 × (burnIn + 1). */
  maxSteps?: number;
}

/** Steps discarded after every restart of a random walk (protocol §5.3). */
export const DEFAULT_BURN_IN = 20;

/** Lists this short are checked for duplicates pairwise, without allocating a Set. */
const PAIRWISE_CHECK_MAX = 16;

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

function hasDuplicateOrSelf(list: NeighborList, self: string): boolean {
  const n = list.length;
  if (n <= PAIRWISE_CHECK_MAX) {
    for (let a = 0; a < n; a++) {
      const entry = list[a];
      if (typeof entry !== 'string' || entry === self) return true;
      for (let b = a + 1; b < n; b++) if (list[b] === entry) return true;
    }
    return false;
  }
  const seen = new Set<string>();
  for (const entry of list) {
    if (typeof entry !== 'string' || entry === self || seen.has(entry)) return true;
    seen.add(entry);
  }
  return false;
}

/** A value, or a promise of it: what a walk's steps return (synchronous when nothing had to be fetched). */
export type MaybePromise<T> = T | Promise<T>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function busyError(): AtlasError {
  return new AtlasError(ErrorCodes.BUSY, 'a random walk takes one step at a time; the previous step is still running');
}

/** The options passed on to neighbors(): only the signal, and no object at all without one. */
function callOptionsOf(options: StepOptions | undefined): StepOptions | undefined {
  return options?.signal === undefined ? undefined : { signal: options.signal };
}

/**
 * What the walkers share: fetching and cleaning lists, (re)starting, burn-in and the step loop.
 * A subclass supplies one transition.
 *
 * Everything runs synchronously for as long as neighbors() and start() answer synchronously, and
 * goes asynchronous only at the first promise, so a walk over an in-memory graph costs no
 * microtask per step inside walk() and sample(). One step runs at a time: a call made while an
 * asynchronous step is pending is refused with BUSY.
 */
export abstract class WalkSampler {
  protected readonly random: Random;
  readonly burnIn: number;
  readonly maxDegree: number;
  readonly #distinctLists: boolean;
  readonly #reuseLists: boolean;
  /** With reuseLists: the lists fetched (not reused) in the step under way, and in the one before. */
  #lists = new Map<string, NeighborList>();
  #previousLists = new Map<string, NeighborList>();
  readonly #neighbors: NeighborsFunction;
  readonly #start: () => string | Promise<string>;
  #current: string | undefined;
  #previous: string | undefined;
  #burnInLeft = 0;
  #restarts = 0;
  #steps = 0;
  #busy = false;

  constructor(options: WalkSamplerOptions) {
    const burnIn = options.burnIn ?? DEFAULT_BURN_IN;
    const maxDegree = options.maxDegree ?? Infinity;
    if (!Number.isInteger(burnIn) || burnIn < 0) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, `burnIn must be an integer >= 0, got ${burnIn}`);
    }
    if (!(maxDegree >= 1) || (maxDegree !== Infinity && !Number.isInteger(maxDegree))) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, `maxDegree must be an integer >= 1, got ${maxDegree}`);
    }
    this.#neighbors = options.neighbors;
    this.random = options.random;
    this.#start = options.start;
    this.burnIn = burnIn;
    this.maxDegree = maxDegree;
    this.#distinctLists = options.distinctLists ?? false;
    this.#reuseLists = options.reuseLists ?? false;
  }

  /** The peer the walk is at; undefined before the first step (or after start() failed). */
  get current(): string | undefined {
    return this.#current;
  }

  /** The peer the walk came from; undefined after a start, a restart or a rejected proposal. */
  get previous(): string | undefined {
    return this.#previous;
  }

  /** Times the walk jumped back to start() because a peer's list could not be had. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Steps taken, the ones that restarted included. */
  get steps(): number {
    return this.#steps;
  }

  /** True while step() would return undefined: not started yet, or within a burn-in. */
  get burningIn(): boolean {
    return this.#current === undefined || this.#burnInLeft > 0;
  }

  /**
   * One step of the walk. The first call places the walk at start() and then moves. Returns the
   * peer reached, or undefined when the step is discarded: a burn-in step, or a step whose list
   * could not be had, which restarts the walk at start() and begins a new burn-in. An aborted step
   * rejects with ABORTED and leaves the walk where it was; an error from start() propagates and
   * leaves the walk unplaced, to be placed again by the next step.
   */
  step(options?: StepOptions): Promise<string | undefined> {
    if (this.#busy) return Promise.reject(busyError());
    let result: MaybePromise<string | undefined>;
    try {
      result = this.#advance(callOptionsOf(options));
    } catch (error) {
      return Promise.reject(error);
    }
    if (!(result instanceof Promise)) return Promise.resolve(result);
    this.#busy = true;
    return result.finally(() => {
      this.#busy = false;
    });
  }

  /** Takes `steps` steps; returns what the last one returned. */
  async walk(steps: number, options?: StepOptions): Promise<string | undefined> {
    if (!Number.isInteger(steps) || steps < 1) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, `steps must be an integer >= 1, got ${steps}`);
    }
    return this.#loop(steps, callOptionsOf(options), false);
  }

  /**
   * The next sample: steps until one is past burn-in and returns the peer reached. Rejects with
   * UNREACHABLE after `maxSteps` steps without one (every peer keeps failing).
   */
  async sample(options?: SampleOptions): Promise<string> {
    const maxSteps = options?.maxSteps ?? 10 * (this.burnIn + 1);
    if (!Number.isInteger(maxSteps) || maxSteps < 1) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, `maxSteps must be an integer >= 1, got ${maxSteps}`);
    }
    const reached = await this.#loop(maxSteps, callOptionsOf(options), true);
    if (reached === undefined) {
      throw new AtlasError(ErrorCodes.UNREACHABLE, `random walk gave no sample in ${maxSteps} steps`, { restarts: this.#restarts });
    }
    return reached;
  }

  /**
   * The next peer from `j`, having come from `i` (undefined: no previous): `j` itself to stay, or
   * undefined when a list could not be had. Synchronous when every fetch was.
   */
  protected abstract transition(j: string, i: string | undefined, options: StepOptions | undefined): MaybePromise<string | undefined>;

  /**
   * v's cleaned list, synchronously when neighbors() answered synchronously; undefined when it
   * could not be had. An aborted call throws (or rejects with) ABORTED instead.
   */
  protected fetch(v: string, options: StepOptions | undefined): MaybePromise<NeighborList | undefined> {
    if (this.#reuseLists) {
      // Only lists fetched in this step or the one before: a list reused is not passed on again.
      const known = this.#lists.get(v) ?? this.#previousLists.get(v);
      if (known !== undefined) return known;
    }
    const fetched = this.#fetchNew(v, options);
    if (!this.#reuseLists) return fetched;
    if (fetched instanceof Promise) return fetched.then((list) => this.#remember(v, list));
    return this.#remember(v, fetched);
  }

  #remember(v: string, list: NeighborList | undefined): NeighborList | undefined {
    if (list !== undefined) this.#lists.set(v, list);
    return list;
  }

  #fetchNew(v: string, options: StepOptions | undefined): MaybePromise<NeighborList | undefined> {
    let raw: unknown;
    try {
      raw = this.#neighbors(v, options);
    } catch {
      return this.#failure(options);
    }
    if (Array.isArray(raw) || !isThenable(raw)) return this.#clean(v, raw);
    return Promise.resolve(raw).then(
      (list) => {
        if (options?.signal?.aborted) throw abortedError('random walk step', options.signal);
        return this.#clean(v, list);
      },
      () => this.#failure(options),
    );
  }

  async #loop(steps: number, options: StepOptions | undefined, untilSample: boolean): Promise<string | undefined> {
    if (this.#busy) throw busyError();
    this.#busy = true;
    try {
      let reached: string | undefined;
      for (let i = 0; i < steps; i++) {
        const result = this.#advance(options);
        reached = result instanceof Promise ? await result : result;
        if (untilSample && reached !== undefined) break;
      }
      return reached;
    } finally {
      this.#busy = false;
    }
  }

  #advance(options: StepOptions | undefined): MaybePromise<string | undefined> {
    const signal = options?.signal;
    if (signal?.aborted) throw abortedError('random walk step', signal);
    if (this.#reuseLists) {
      // The previous step's lists become the ones to reuse; older ones are dropped.
      const older = this.#previousLists;
      this.#previousLists = this.#lists;
      this.#lists = older;
      older.clear();
    }
    const j = this.#current;
    if (j !== undefined) return this.#move(j, options);
    const placed = this.#place(signal);
    return placed instanceof Promise ? placed.then((peer) => this.#move(peer, options)) : this.#move(placed, options);
  }

  #move(j: string, options: StepOptions | undefined): MaybePromise<string | undefined> {
    const next = this.transition(j, this.#previous, options);
    return next instanceof Promise ? next.then((peer) => this.#arrive(j, peer, options)) : this.#arrive(j, next, options);
  }

  #arrive(j: string, next: string | undefined, options: StepOptions | undefined): MaybePromise<string | undefined> {
    this.#steps++;
    if (next === undefined) {
      this.#restarts++;
      this.#lists.clear(); // a fresh start reads fresh lists
      this.#previousLists.clear();
      this.#current = undefined;
      this.#previous = undefined;
      const placed = this.#place(options?.signal);
      return placed instanceof Promise ? placed.then(() => undefined) : undefined;
    }
    this.#previous = next === j ? undefined : j;
    this.#current = next;
    if (this.#burnInLeft > 0) {
      this.#burnInLeft--;
      return undefined;
    }
    return next;
  }

  #place(signal: AbortSignal | undefined): MaybePromise<string> {
    const started = this.#start();
    if (!isThenable(started)) return this.#placeAt(started);
    return Promise.resolve(started).then((peer) => {
      if (signal?.aborted) throw abortedError('random walk step', signal);
      return this.#placeAt(peer);
    });
  }

  #placeAt(peer: unknown): string {
    if (typeof peer !== 'string' || peer.length === 0) {
      throw new AtlasError(ErrorCodes.UNREACHABLE, 'start() gave no peer to start the walk from');
    }
    this.#current = peer;
    this.#previous = undefined;
    this.#burnInLeft = this.burnIn;
    return peer;
  }

  #failure(options: StepOptions | undefined): undefined {
    if (options?.signal?.aborted) throw abortedError('random walk step', options.signal);
    return undefined;
  }

  #clean(v: string, list: unknown): NeighborList | undefined {
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const reported = list as NeighborList;
    if (reported.length <= this.maxDegree && (this.#distinctLists || !hasDuplicateOrSelf(reported, v))) return reported;
    const distinct = this.#distinctLists
      ? reported.slice()
      : [...new Set(reported.filter((entry) => typeof entry === 'string' && entry !== v))];
    if (distinct.length === 0) return undefined;
    if (distinct.length <= this.maxDegree) return distinct;
    // A uniform subset, drawn afresh on each fetch (a partial Fisher-Yates shuffle).
    const cap = this.maxDegree;
    for (let a = 0; a < cap; a++) {
      const b = a + Math.floor(this.random() * (distinct.length - a));
      const t = distinct[a] as string;
      distinct[a] = distinct[b] as string;
      distinct[b] = t;
    }
    distinct.length = cap;
    return distinct;
  }
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
