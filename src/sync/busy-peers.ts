/**
 * Peers that get no new chunk request for a while: those that answered BUSY, and those whose
 * requests keep failing (failed()). BUSY: how long each gets no new request. A refusal's
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
/** Busy (or failing) peers remembered at most, in each map (the least recently refused forgotten first: asked again at once). */
const MAX_BUSY_PEERS = 1_024;
/**
 * Failed requests in a row a peer is forgiven before it is paused (failed()): an honest peer's
 * lost call or dropped connection costs it nothing, its addresses going to other holders at once.
 */
export const FAILING_PEER_GRACE = 1;
/** A failing peer's first pause, ms; doubled with each further failure in a row, up to MAX_FAILING_PEER_PAUSE_MS. */
export const FAILING_PEER_PAUSE_MS = 1_000;
/**
 * Longest pause of a peer whose requests keep failing, ms: one that refuses every request at once
 * is asked about three requests a minute (maxInFlightPerPeer), not hundreds a second.
 */
export const MAX_FAILING_PEER_PAUSE_MS = 60_000;

/** Busy peers: until when each gets no new request, and its BUSY answers in a row with nothing served. */
export class BusyPeers {
  /** Peer -> until when it gets no new request. */
  private readonly paused = new ExpiringMap<string>(MAX_BUSY_PEERS);
  /** Peer -> BUSY answers in a row with nothing served, kept MAX_BUSY_PAUSE_MS past its pause. */
  private readonly streaks = new ExpiringMap<string, number>(MAX_BUSY_PEERS);
  /** Peer -> failed requests in a row (counted as failed() says), kept MAX_FAILING_PEER_PAUSE_MS past its pause. */
  private readonly failures = new ExpiringMap<string, number>(MAX_BUSY_PEERS);

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

  /** `peer` served a request (a reply came): its next BUSY pauses it as a first one, its next failure is a first one. */
  served(peer: string): void {
    this.streaks.delete(peer);
    if (this.failures.size > 0) this.failures.delete(peer);
  }

  /** What a request to `peer` starting at `now` hands to failed() if it fails: the peer's failures in a row so far. */
  ticket(peer: string, now: number): number {
    return this.failures.size === 0 ? 0 : (this.failures.get(peer, now) ?? 0);
  }

  /**
   * A request to `peer`, sent at `sentAt`, failed (not BUSY: refused, unreachable, timed out, a
   * bad reply). Only a failure that came back within FAILING_PEER_PAUSE_MS counts: a request that
   * waited longer for its failure was already at most one request in that time, and counting
   * timeouts through an outage only delayed the catch-up once the peer was back (a 30 s stall of a
   * sole holder: finished 10 s later). It counts as one more failure in a row only when none was
   * counted since it started (its `ticket` is still the count), so requests sent together that
   * fail together count once. Past FAILING_PEER_GRACE in a row the peer gets no new request for
   * FAILING_PEER_PAUSE_MS, doubled per further failure, at most MAX_FAILING_PEER_PAUSE_MS; a reply
   * (served) starts over. Answers until when the peer is paused (`now` when it is not).
   */
  failed(peer: string, ticket: number, sentAt: number, now: number): number {
    const current = this.paused.deadline(peer, now) ?? now;
    const streak = this.failures.get(peer, now) ?? 0;
    if (streak !== ticket || now - sentAt >= FAILING_PEER_PAUSE_MS) return current;
    const failures = streak + 1;
    const over = failures - FAILING_PEER_GRACE;
    const until = over > 0 ? now + Math.min(MAX_FAILING_PEER_PAUSE_MS, FAILING_PEER_PAUSE_MS * 2 ** Math.min(over - 1, 30)) : now;
    if (until > current) this.paused.set(peer, until, true);
    this.failures.set(peer, until + MAX_FAILING_PEER_PAUSE_MS, failures);
    return Math.max(until, current);
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
