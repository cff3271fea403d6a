/**
 * The Backfiller's options (AtlasNode option `backfill`) and what it reports of a missing chunk
 * (`missing()`), apart from the Backfiller itself (backfill.ts).
 */
import type { Address } from '../../address.js';
import { numberRule, type OverlayRules } from '../../options-overlay.js';

/** How the Backfiller asks chunk sources for announced chunks not held: pace, concurrency, retry back-off, per-source deadline and grace (AtlasNode option `backfill`). */
export interface BackfillOptions {
  /** How often due addresses are looked for (default 1,000 ms). */
  intervalMs: number;
  /** Addresses fetched at once (default 8); the next starts as soon as one ends. */
  concurrency: number;
  /** First retry delay after a round where no source had the chunk (default 2,000 ms); doubles. */
  retryBaseMs: number;
  /** Ceiling of the retry delay (default 600,000 ms): retries never stop, they slow to this. */
  retryMaxMs: number;
  /** Time one source gets for one chunk (default 15,000 ms). */
  sourceTimeoutMs: number;
  /**
   * How long a newly missing chunk is left to the peer downloader before the sources are asked
   * (default 10,000 ms), unless a source says it holds it. Keeps a node that is syncing normally
   * from asking every source for every chunk at once.
   */
  graceMs: number;
}

/** Defaults of BackfillOptions. */
export const DEFAULT_BACKFILL: Readonly<BackfillOptions> = Object.freeze({ intervalMs: 1_000, concurrency: 8, retryBaseMs: 2_000, retryMaxMs: 600_000, sourceTimeoutMs: 15_000, graceMs: 10_000 });

/** What each backfill option must be (the node checks its `backfill` option by them too). */
export const BACKFILL_RULES: OverlayRules = {
  numbers: numberRule({ positiveIntegers: ['concurrency'], positive: ['intervalMs', 'retryBaseMs', 'sourceTimeoutMs'] }),
};

/** An announced chunk not held, as `missing()` reports it. */
export interface MissingChunk {
  address: Address;
  /** Positions announcing it. */
  positions: readonly number[];
  /**
   * Time since the node first knew it announced and not held, ms: since the node opened (the
   * Backfiller was built) for a chunk announced before, else since its announcement arrived.
   */
  ageMs: number;
  /**
   * Rounds of asking the backfill sources so far (a node's configured `sources`, then its peers).
   * Always 0 on a node without `sources`: its peer downloader retries on its own, uncounted.
   */
  attempts: number;
  /** Clock time of the last round, if any. */
  lastAttemptAt?: number;
  /** Clock time of the next round. */
  nextAttemptAt: number;
  /** Why the last round failed, per source that answered with an error. */
  lastError?: string;
}

/** What the Backfiller keeps of each missing chunk. */
export interface MissingEntry {
  firstSeen: number;
  attempts: number;
  lastAttemptAt?: number;
  nextAttemptAt: number;
  lastError?: string;
}
