/**
 * One call's deadline and abort, in one signal. The deadline runs on the injected Clock (not
 * AbortSignal.timeout), so it passes in virtual time in the simulator as in real time in a node.
 * Calls following the same caller signal share one listener on it (`followSignal`), so many
 * calls may share a signal without piling listeners on it, and without AbortSignal.any, whose
 * cost (tens of microseconds a call, more as dependents pile up on a long-lived signal) was a
 * sixth of a simulation's time. The signal itself is made only when read: a call that gives its
 * transport the shared signal and a timeout (ProtocolClient does) makes no AbortController.
 */
import { AtlasError, ErrorCodes, abortedError } from '../errors.js';
import { followSignal, type FollowOptions } from '../transport/abort.js';
import { MAX_TIMER_MS, type Clock, type TimerHandle } from '../runtime.js';

const KEEP: FollowOptions = Object.freeze({ keep: true });

/** Options of a `Deadline`. */
export interface DeadlineOptions {
  /** The caller's signal: when it aborts first, so does the deadline's. */
  signal?: AbortSignal | undefined;
  /**
   * A second signal followed like the caller's, typically the owner's lifetime (a node's, aborted
   * when it closes): it ends every deadline following it at once, through one shared listener
   * that stays on it until it aborts (`followSignal`'s `keep`), whether or not a call is running.
   */
  base?: AbortSignal | undefined;
  /** What the signal aborts with when time is up; default a TIMEOUT AtlasError. Built only then. */
  reason?: () => unknown;
}

/**
 * A signal that aborts when `ms` pass on `clock` or when the caller's (or the base) signal aborts,
 * whichever is first, and which it was. Infinity never expires. Call dispose() when the work ends:
 * it clears the timer.
 */
export class Deadline {
  readonly #clock: Clock;
  /** Made on the first read of `signal` (aborted at once if the deadline ended before). */
  #controller: AbortController | undefined;
  #timer: TimerHandle | undefined;
  #unfollow: (() => void) | undefined;
  #unfollowBase: (() => void) | undefined;
  #ended = false;
  #reason: unknown;
  #expired = false;
  /** The races still waiting on their work, told when the deadline ends (almost always one: no Set for it). */
  #racer: (() => void) | undefined;
  #moreRacers: Set<() => void> | undefined;

  constructor(clock: Clock, ms: number, options: DeadlineOptions = {}) {
    this.#clock = clock;
    const { signal: parent, base } = options;
    const first = parent?.aborted ? parent : base?.aborted ? base : undefined;
    if (first !== undefined) {
      this.#ended = true;
      this.#reason = first.reason;
      return;
    }
    // A caller passing the base itself as its signal (the node's lifetime, as most callers do)
    // keeps it too: otherwise its one listener would come and go with every call.
    if (parent !== undefined) this.#unfollow = followSignal(parent, () => this.#end(parent.reason), parent === base ? KEEP : undefined);
    if (base !== undefined && base !== parent) this.#unfollowBase = followSignal(base, () => this.#end(base.reason), KEEP);
    if (Number.isFinite(ms)) {
      this.#timer = clock.setTimeout(() => {
        this.#timer = undefined;
        if (this.#ended) return;
        this.#expired = true;
        this.#end(options.reason === undefined ? new AtlasError(ErrorCodes.TIMEOUT, `deadline of ${ms} ms passed`) : options.reason());
      }, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    }
  }

  /** Aborted when time runs out or the caller's or the base signal aborts, with the reason of the first. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#ended) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** True once time ran out or the caller's or the base signal aborted. */
  get ended(): boolean {
    return this.#ended;
  }

  /** True when time ran out before the caller's or the base signal aborted. */
  get expired(): boolean {
    return this.#expired;
  }

  /**
   * What a piece of work that failed under this deadline failed with: TIMEOUT when time ran out,
   * ABORTED when the caller's or the base signal aborted (its reason as the cause), else `error` itself.
   */
  outcome(error: unknown): unknown {
    if (this.#expired) return this.#reason;
    if (this.#ended) return abortedError('call', this.signal);
    return error;
  }

  /**
   * `work`, or a rejection with `outcome()` as soon as the deadline ends, whether or not the work
   * notices; a later failure of the work is then ignored.
   */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onEnd = () => reject(this.outcome(undefined));
      if (this.#ended) {
        onEnd();
        work.catch(() => undefined);
        return;
      }
      // Told by #end right after the signal's own listeners (the transport's) ran: no listener
      // of its own to add and remove on every call.
      this.#addRacer(onEnd);
      work.then(
        (value) => {
          this.#removeRacer(onEnd);
          resolve(value);
        },
        (error: unknown) => {
          this.#removeRacer(onEnd);
          reject(error);
        },
      );
    });
  }

  /** Clears the timer and stops following the caller's and the base signal; the signal stays as it is. Idempotent. */
  dispose(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unfollow?.();
    this.#unfollow = undefined;
    this.#unfollowBase?.();
    this.#unfollowBase = undefined;
  }

  #addRacer(racer: () => void): void {
    if (this.#racer === undefined) this.#racer = racer;
    else (this.#moreRacers ??= new Set()).add(racer);
  }

  #removeRacer(racer: () => void): void {
    if (this.#racer === racer) this.#racer = undefined;
    else this.#moreRacers?.delete(racer);
  }

  #end(reason: unknown): void {
    // The first end wins: a signal followed here may abort while another one's abort runs.
    if (this.#ended) return;
    this.dispose();
    this.#ended = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const first = this.#racer;
    const more = this.#moreRacers;
    this.#racer = undefined;
    this.#moreRacers = undefined;
    first?.();
    if (more !== undefined) for (const racer of more) racer();
  }
}
