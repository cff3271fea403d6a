/**
 * Peers that answered a chunk request BUSY, and how long each gets no new request. A refusal's
 * own pause (its retryAfterMs) is taken, but never below MIN_BUSY_PAUSE_MS nor above
 * MAX_BUSY_PAUSE_MS, and it doubles with each further BUSY from the same peer while nothing it
 * was asked was served: before, a peer answering every request BUSY with retryAfterMs 1 was asked
 * again as fast as it answered (about 870 requests a second, forever), its health untouched.
 */
import { isAtlasError, retryAfterOf } from '../errors.js';
import { ExpiringMap } from '../runtime.js';

/**
 * How long a peer that answered BUSY gets no new request, when its refusal named no time (a
 * node's Retry-After is 1 s by default). Its addresses go to other holders meanwhile.
 */
export const BUSY_PAUSE_MS = 1_000;
/** Longest pause a BUSY refusal's own retryAfterMs may ask for, and the most its doubling reaches. */
export const MAX_BUSY_PAUSE_MS = 30_000;
/**
 * Shortest pause a BUSY refusal may ask for: at most 4 requests a second to a peer that refuses
 * every one, before the doubling. An honest node asks at least this long (1 s when it is full,
 * its token bucket's refill time when a host is over its rate), or little less, and its
 * addresses go to other holders meanwhile, so waiting 250 ms costs a catch-up next to nothing.
 */
export const MIN_BUSY_PAUSE_MS = 250;
/** Busy peers remembered at most (the least recently refused forgotten first: asked again at once). */
const MAX_BUSY_PEERS = 1_024;

/** Busy peers: until when each gets no new request, and its BUSY answers in a row with nothing served. */
export class BusyPeers {
  /** Peer -> until when it gets no new request. */
  private readonly paused = new ExpiringMap<string>(MAX_BUSY_PEERS);
  /** Peer -> BUSY answers in a row with nothing served, kept MAX_BUSY_PAUSE_MS past its pause. */
  private readonly streaks = new ExpiringMap<string, number>(MAX_BUSY_PEERS);

  /**
   * `peer` answered BUSY (`error`): answers until when it gets no new request, the pause it asked
   * for (BUSY_PAUSE_MS when none) within [MIN_BUSY_PAUSE_MS, MAX_BUSY_PAUSE_MS], doubled for
   * each BUSY before it in a row with nothing served (bounded by MAX_BUSY_PAUSE_MS).
   */
  refused(peer: string, error: unknown, now: number): number {
    const streak = (this.streaks.get(peer, now) ?? 0) + 1;
    const pause = Math.min(MAX_BUSY_PAUSE_MS, busyPause(error) * 2 ** Math.min(streak - 1, 30));
    const until = now + pause;
    this.paused.set(peer, until, true);
    this.streaks.set(peer, until + MAX_BUSY_PAUSE_MS, streak);
    return until;
  }

  /** `peer` served a request (a reply came): its next BUSY pauses it as a first one. */
  served(peer: string): void {
    this.streaks.delete(peer);
  }

  /** Whether `peer` is paused at `now`. */
  has(peer: string, now: number): boolean {
    return this.paused.has(peer, now);
  }

  /** When the first pause still running ends (Infinity when none runs). */
  earliestDeadline(now: number): number {
    return this.paused.earliestDeadline(now);
  }
}

/** The pause a BUSY refusal asks for (its retryAfterMs, BUSY_PAUSE_MS when none), within [MIN_BUSY_PAUSE_MS, MAX_BUSY_PAUSE_MS]. */
export function busyPause(error: unknown): number {
  const asked = isAtlasError(error) ? retryAfterOf((error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs) : undefined;
  return asked === undefined ? BUSY_PAUSE_MS : Math.min(Math.max(asked, MIN_BUSY_PAUSE_MS), MAX_BUSY_PAUSE_MS);
}
