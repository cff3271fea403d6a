import { ExpiringMap, type Random } from '../runtime.js';

/** How failed addresses back off: exponential delays from baseMs to maxMs, for at most maxEntries addresses (AtlasNode option `downloads.backoff`). */
export interface BackoffOptions {
  /** First retry delay, ms; doubles on each failure. */
  baseMs: number;
  /** Ceiling of the delay (SPEC §6: 600 s). */
  maxMs: number;
  /** Most keys remembered; the oldest are forgotten first (they retry at once). */
  maxEntries: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1_000, maxMs: 600_000, maxEntries: 100_000 });

/**
 * Per-key exponential back-off: min(maxMs, base * 2^n + jitter). A key's failures are kept until
 * it succeeds (its release time is no deadline: it fails again from where it left off); at most
 * maxEntries keys, the least recently failed forgotten first (it retries at once).
 */
export class Backoff<K> {
  /** Key -> failures so far and when it may be tried again; kept for good, bounded. */
  private readonly entries: ExpiringMap<K, { failures: number; until: number }>;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: Random,
  ) {
    this.entries = new ExpiringMap(options.maxEntries);
  }

  /** Records a failure and returns when the key may be tried again. */
  fail(key: K, now: number): number {
    const failures = this.failures(key) + 1;
    const exp = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(failures - 1, 30));
    const delay = Math.min(this.options.maxMs, exp + this.random() * this.options.baseMs);
    const until = now + delay;
    this.entries.set(key, Number.POSITIVE_INFINITY, { failures, until });
    return until;
  }

  succeed(key: K): void {
    if (this.entries.size > 0) this.entries.delete(key); // a catch-up succeeds a chunk at a time, mostly with nothing backing off
  }

  blocked(key: K, now: number): boolean {
    return this.releaseAt(key) > now;
  }

  /** When the key may be tried again (0 when it is not backing off). */
  releaseAt(key: K): number {
    return this.entry(key)?.until ?? 0;
  }

  failures(key: K): number {
    return this.entry(key)?.failures ?? 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries are kept for good, so any time reads them. */
  private entry(key: K): { failures: number; until: number } | undefined {
    return this.entries.get(key, Number.POSITIVE_INFINITY);
  }
}
