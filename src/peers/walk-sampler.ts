/**
 * The random walk over the peer graph (SPEC §5.3) that every sampler runs: placing the walk at
 * `start()`, the burn-in, restarts, one step at a time, and the loops of walk() and sample(). A
 * subclass supplies one transition (mhda.ts) over the lists of neighbor-lists.ts. A step whose
 * list cannot be had restarts the walk at `start()`, and the next `burnIn` steps are discarded.
 */
import { abortedError, AtlasError, ErrorCodes } from '../errors.js';
import type { Random } from '../runtime.js';
import { NeighborLists } from './neighbor-lists.js';
import { DEFAULT_BURN_IN, isThenable, type MaybePromise, type NeighborList, type SampleOptions, type StepOptions, type WalkSamplerOptions } from './walk-types.js';

function busyError(): AtlasError {
  return new AtlasError(ErrorCodes.BUSY, 'a random walk takes one step at a time; the previous step is still running');
}

/** The options passed on to neighbors(): only the signal, and no object at all without one. */
function callOptionsOf(options: StepOptions | undefined): StepOptions | undefined {
  return options?.signal === undefined ? undefined : { signal: options.signal };
}

/**
 * What the walkers share: (re)starting, burn-in and the step loop, over the lists NeighborLists
 * fetches and cleans. A subclass supplies one transition.
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
  /** Every list the walk reads (neighbor-lists.ts). */
  readonly #lists: NeighborLists;
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
    this.random = options.random;
    this.#start = options.start;
    this.burnIn = burnIn;
    this.maxDegree = maxDegree;
    this.#lists = new NeighborLists(options, maxDegree);
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
    return this.#lists.fetch(v, options);
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
    this.#lists.nextStep();
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
      this.#lists.forget();
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
}
