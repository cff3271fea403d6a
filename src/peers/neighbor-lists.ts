/**
 * Where a random walk (walk-sampler.ts) gets its neighbour lists. A walker only knows what peers
 * report: `neighbors(peer)` is asked for a peer's list, and `d(v)` is the length of v's list after
 * cleaning (duplicates and v itself removed, then the optional cap). Each step fetches every list
 * it needs once and, unless `reuseLists` is set, keeps none of them for later steps, since peers
 * come and go. A list that cannot be had (the call throws, or returns an empty list or no array)
 * is answered as undefined, for the walk to restart.
 */
import { abortedError } from '../errors.js';
import type { Random } from '../runtime.js';
import { isThenable, type MaybePromise, type NeighborList, type NeighborsFunction, type StepOptions, type WalkSamplerOptions } from './walk-types.js';

/** Lists this short are checked for duplicates pairwise, without allocating a Set. */
const PAIRWISE_CHECK_MAX = 16;

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

/** One walk's neighbour lists: fetched, cleaned, capped, and with `reuseLists` kept for one step. */
export class NeighborLists {
  readonly #neighbors: NeighborsFunction;
  readonly #random: Random;
  readonly #maxDegree: number;
  readonly #distinctLists: boolean;
  readonly #reuseLists: boolean;
  /** With reuseLists: the lists fetched (not reused) in the step under way, and in the one before. */
  #lists = new Map<string, NeighborList>();
  #previousLists = new Map<string, NeighborList>();

  /** `maxDegree` as the sampler checked it (Infinity: no cap); the rest as `options` say. */
  constructor(options: WalkSamplerOptions, maxDegree: number) {
    this.#neighbors = options.neighbors;
    this.#random = options.random;
    this.#maxDegree = maxDegree;
    this.#distinctLists = options.distinctLists ?? false;
    this.#reuseLists = options.reuseLists ?? false;
  }

  /**
   * v's cleaned list, synchronously when neighbors() answered synchronously; undefined when it
   * could not be had. An aborted call throws (or rejects with) ABORTED instead.
   */
  fetch(v: string, options: StepOptions | undefined): MaybePromise<NeighborList | undefined> {
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

  /** At the start of a step, with reuseLists: the previous step's lists become the ones to reuse; older ones are dropped. */
  nextStep(): void {
    if (this.#reuseLists) {
      const older = this.#previousLists;
      this.#previousLists = this.#lists;
      this.#lists = older;
      older.clear();
    }
  }

  /** At a restart: a fresh start reads fresh lists. */
  forget(): void {
    this.#lists.clear();
    this.#previousLists.clear();
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

  #failure(options: StepOptions | undefined): undefined {
    if (options?.signal?.aborted) throw abortedError('random walk step', options.signal);
    return undefined;
  }

  #clean(v: string, list: unknown): NeighborList | undefined {
    if (!Array.isArray(list) || list.length === 0) return undefined;
    const reported = list as NeighborList;
    if (reported.length <= this.#maxDegree && (this.#distinctLists || !hasDuplicateOrSelf(reported, v))) return reported;
    const distinct = this.#distinctLists
      ? reported.slice()
      : [...new Set(reported.filter((entry) => typeof entry === 'string' && entry !== v))];
    if (distinct.length === 0) return undefined;
    if (distinct.length <= this.#maxDegree) return distinct;
    // A uniform subset, drawn afresh on each fetch (a partial Fisher-Yates shuffle).
    const cap = this.#maxDegree;
    for (let a = 0; a < cap; a++) {
      const b = a + Math.floor(this.#random() * (distinct.length - a));
      const t = distinct[a] as string;
      distinct[a] = distinct[b] as string;
      distinct[b] = t;
    }
    distinct.length = cap;
    return distinct;
  }
}
