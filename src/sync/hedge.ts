/**
 * When a chunk request has waited too long, its addresses are asked of another holder instead of
 * waiting for the deadline (a hedged request). A peer that claims chunks and then never answers
 * would otherwise hold request slots and addresses for a whole timeout each time it is picked.
 * "Too long" follows the replies actually seen, as TCP's retransmission timer does:
 * smoothed reply time + 4 x its mean deviation, clamped to [minMs, maxMs]. Each peer's replies
 * set its own delay, at most OWN_DELAY_FACTOR times the typical peer's (the median of their own:
 * a peer not heard from yet gets it), and only replies that carried chunks count. One delay for
 * all let a nearby peer's replies, or a withholder's instant "don't have", pull it down until an
 * honest holder whose full replies take a second was hedged on every request (its bytes fetched
 * twice, its requests cut to one); a delay of its own alone let a holder answering each request
 * just before the deadline raise its own to maxMs.
 */
import { ExpiringMap } from '../runtime.js';

/** When a request with no reply yet has its addresses asked of another holder (AtlasNode option `downloads.hedge`). */
export interface HedgeOptions {
  /** Never hedge sooner than this, ms. */
  minMs: number;
  /** Always hedge by this, ms. */
  maxMs: number;
  /** The delay before any reply was seen, ms. */
  initialMs: number;
  /** A peer whose request was hedged gets one request at a time for this long after its last hedged request ended (or until it answers one in time), ms. */
  slowPeerMs: number;
}

export const DEFAULT_HEDGE: Readonly<HedgeOptions> = Object.freeze({ minMs: 500, maxMs: 5_000, initialMs: 1_000, slowPeerMs: 30_000 });

/** Slow peers remembered at most; beyond it the least recently hedged is forgotten (it gets full slots again). */
export const MAX_SLOW_PEERS = 4_096;

/** Peers whose reply times are remembered at most; beyond it the least recently heard is forgotten (it gets the shared delay again). */
export const MAX_TIMED_PEERS = 4_096;

/** A peer's own delay is at most this many times the typical peer's (see delay()). */
export const OWN_DELAY_FACTOR = 4;

/** The typical delay is taken again after at most this many timed replies. */
const TYPICAL_EVERY = 64;

const GAIN = 1 / 8;
const DEVIATION_GAIN = 1 / 4;

/** A smoothed reply time and its mean deviation, ms. */
interface Estimate {
  smoothed: number;
  deviation: number;
}

function updated(estimate: Estimate | undefined, ms: number): Estimate {
  if (estimate === undefined) return { smoothed: ms, deviation: ms / 2 };
  estimate.deviation += DEVIATION_GAIN * (Math.abs(ms - estimate.smoothed) - estimate.deviation);
  estimate.smoothed += GAIN * (ms - estimate.smoothed);
  return estimate;
}

export class HedgeTimer {
  /** Each peer's own replies, least recently heard first. */
  private readonly byPeer = new Map<string, Estimate>();
  /** The median of the peers' own delays (see typicalDelay), and the replies timed since it was taken. */
  private typical: number | undefined;
  private timedSinceTypical = 0;
  /** Peer -> time until which it gets no new request. */
  private readonly slow = new ExpiringMap<string>(MAX_SLOW_PEERS);

  constructor(private readonly options: HedgeOptions) {}

  /**
   * A reply arrived `ms` after its request was sent; `carriedChunks`: it held at least one chunk
   * (only those are timed). One in time ends the peer's slow spell; a `late` one (its request was
   * hedged before it came) does not: a holder answering each request just before the deadline
   * would otherwise get its full slots back with each answer.
   */
  replied(peer: string, ms: number, carriedChunks = true, late = false): void {
    if (!late) this.slow.delete(peer);
    if (!carriedChunks) return;
    const own = this.byPeer.get(peer);
    if (own !== undefined) this.byPeer.delete(peer); // re-inserted last: most recently heard
    else if (this.byPeer.size >= MAX_TIMED_PEERS) this.byPeer.delete(this.byPeer.keys().next().value as string);
    this.byPeer.set(peer, updated(own, ms));
    this.timedSinceTypical++;
  }

  /**
   * How long a request to `peer` may wait before its addresses go to another holder: its own
   * replies' delay, but never more than OWN_DELAY_FACTOR times the typical peer's, so a holder
   * answering each request just before the deadline cannot raise its own to maxMs; a peer not
   * timed yet gets the typical delay.
   */
  delay(peer?: string): number {
    const typical = this.typicalDelay();
    const own = peer === undefined ? undefined : this.byPeer.get(peer);
    return own === undefined ? typical : Math.min(this.delayOf(own), Math.max(this.options.minMs, OWN_DELAY_FACTOR * typical));
  }

  /**
   * The lower median of the timed peers' own delays (initialMs before any): what a few slow or
   * lying peers cannot move while they are fewer than half (with one timed peer, the cap in
   * delay() is its own delay: nothing to compare it with). Taken again once as many replies as peers were timed since (at most
   * TYPICAL_EVERY), so its sort costs little however many peers are timed.
   */
  private typicalDelay(): number {
    if (this.byPeer.size === 0) return this.options.initialMs;
    if (this.typical === undefined || this.timedSinceTypical >= Math.min(TYPICAL_EVERY, this.byPeer.size)) {
      const delays = [...this.byPeer.values()].map((estimate) => this.delayOf(estimate)).sort((x, y) => x - y);
      this.typical = delays[(delays.length - 1) >> 1] as number; // the lower median: of two peers, the faster
      this.timedSinceTypical = 0;
    }
    return this.typical;
  }

  private delayOf(estimate: Estimate): number {
    return Math.min(this.options.maxMs, Math.max(this.options.minMs, estimate.smoothed + 4 * estimate.deviation));
  }

  /** A request to `peer` was hedged, or a hedged one ended: it is slow (one request at a time) for slowPeerMs from `now` or until it answers in time. */
  hedged(peer: string, now: number): void {
    this.slow.set(peer, now + this.options.slowPeerMs, true);
  }

  isSlow(peer: string, now: number): boolean {
    return this.slow.has(peer, now);
  }

  /** Peers whose reply times are remembered (at most MAX_TIMED_PEERS). */
  get timedPeers(): number {
    return this.byPeer.size;
  }
}
