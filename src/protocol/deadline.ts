/**
 * One call's deadline and abort, in one signal. The deadline runs on the injected Clock (not
 * AbortSignal.timeout), so it passes in virtual time in the simulator as in real time in a node.
 * The caller's signal is followed without a listener on it (AbortSignal.any), so many calls may
 * share one signal without piling listeners on it.
 */
import { AtlasError, ErrorCodes, abortedError } from '../errors.js';
import type { Clock, TimerHandle } from '../runtime.js';

/** The longest delay a timer holds (2^31 - 1 ms); a longer deadline is capped to it. */
const MAX_TIMER_MS = 2_147_483_647;

/** Options of a `Deadline`. */
export interface DeadlineOptions {
  /** The caller's signal: when it aborts first, so does the deadline's. */
  signal?: AbortSignal | undefined;
  /** What the signal aborts with when time is up; default a TIMEOUT AtlasError. Built only then. */
  reason?: () => unknown;
}

/**
 * A signal that aborts when `ms` pass on `clock` or when the caller's signal aborts, whichever is
 * first, and which of the two it was. Infinity never expires. Call dispose() when the work ends:
 * it clears the timer.
 */
export class Deadline {
  readonly signal: AbortSignal;
  readonly #clock: Clock;
  #timer: TimerHandle | undefined;
  #expired = false;

  constructor(clock: Clock, ms: number, options: DeadlineOptions = {}) {
    this.#clock = clock;
    const own = new AbortController();
    const parent = options.signal;
    this.signal = parent === undefined ? own.signal : AbortSignal.any([parent, own.signal]);
    if (Number.isFinite(ms) && !this.signal.aborted) {
      this.#timer = clock.setTimeout(() => {
        this.#timer = undefined;
        if (this.signal.aborted) return;
        this.#expired = true;
        own.abort(options.reason === undefined ? new AtlasError(ErrorCodes.TIMEOUT, `deadline of ${ms} ms passed`) : options.reason());
      }, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    }
  }

  /** True when time ran out before the caller's signal aborted. */
  get expired(): boolean {
    return this.#expired;
  }

  /**
   * What a piece of work that failed under this deadline failed with: TIMEOUT when time ran out,
   * ABORTED when the caller aborted, else `error` itself.
   */
  outcome(error: unknown): unknown {
    if (this.#expired) return this.signal.reason;
    if (this.signal.aborted) return abortedError('call', this.signal);
    return error;
  }

  /**
   * `work`, or a rejection with `outcome()` as soon as the signal aborts, whether or not the work
   * notices; a later failure of the work is then ignored.
   */
  race<T>(work: Promise<T>): Promise<T> {
    const signal = this.signal;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.outcome(undefined));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Clears the timer; the signal stays as it is. Idempotent. */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
