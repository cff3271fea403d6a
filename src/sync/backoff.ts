import type { Random } from '../runtime.js';

export interface BackoffOptions {
  /** First retry delay, ms; doubles on each failure. */
  baseMs: number;
  /** Ceiling of the delay (SPEC §6: 600 s). */
  maxMs: number;
  /** Most keys remembered; the oldest are forgotten first (they retry at once). */
  maxEntries: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1_000, maxMs: 600_000, maxEntries: 100_000 });

/** Per-key exponential back-off: min(maxMs, base * 2^n + jitter). Bounded by maxEntries. */
export class Backoff<K> {
  private readonly entries = new Map<K, { failures: number; until: number }>();

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: Random,
  ) {}

  /** Records a failure and returns when the key may be tried again. */
  fail(key: K, now: number): number {
    const failures = (this.entries.get(key)?.failures ?? 0) + 1;
    const exp = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(failures - 1, 30));
    const delay = Math.min(this.options.maxMs, exp + this.random() * this.options.baseMs);
    const until = now + delay;
    this.entries.delete(key); // re-insert to keep Map order = recency
    this.entries.set(key, { failures, until });
    if (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
    return until;
  }

  succeed(key: K): void {
    this.entries.delete(key);
  }

  blocked(key: K, now: number): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && entry.until > now;
  }

  /** When the key may be tried again (0 when it is not backing off). */
  releaseAt(key: K): number {
    return this.entries.get(key)?.until ?? 0;
  }

  failures(key: K): number {
    return this.entries.get(key)?.failures ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }
}
