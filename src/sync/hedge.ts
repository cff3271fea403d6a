/**
 * When a chunk request has waited too long, its addresses are asked of another holder instead of
 * waiting for the deadline (a hedged request). A peer that claims chunks and then never answers
 * would otherwise hold request slots and addresses for a whole timeout each time it is picked.
 * "Too long" follows the replies actually seen, as TCP's retransmission timer does:
 * smoothed reply time + 4 x its mean deviation, clamped to [minMs, maxMs]. Each peer's replies
 * set its own delay (a peer not heard from yet gets the delay of every peer's replies together),
 * and only replies that carried chunks count: a nearby peer's, or a withholder's instant "don't
 * have", would otherwise pull one shared delay down until an honest holder whose full replies take
 * a second was hedged on every request, its bytes fetched twice and its requests cut to one.
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
  /** A peer whose request was hedged gets one request at a time for this long (or until it answers), ms. */
  slowPeerMs: number;
}

export const DEFAULT_HEDGE: Readonly<HedgeOptions> = Object.freeze({ minMs: 500, maxMs: 5_000, initialMs: 1_000, slowPeerMs: 30_000 });

/** Slow peers remembered at most; beyond it the least recently hedged is forgotten (it gets full slots again). */
export const MAX_SLOW_PEERS = 4_096;

/** Peers whose reply times are remembered at most; beyond it the least recently heard is forgotten (it gets the shared delay again). */
export const MAX_TIMED_PEERS = 4_096;

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
  /** Every peer's replies together: the delay of a peer not heard from yet. */
  private shared: Estimate | undefined;
  /** Each peer's own replies, least recently heard first. */
  private readonly byPeer = new Map<string, Estimate>();
  /** Peer -> time until which it gets no new request. */
  private readonly slow = new ExpiringMap<string>(MAX_SLOW_PEERS);

  constructor(private readonly options: HedgeOptions) {}

  /** A reply arrived `ms` after its request was sent; `carriedChunks`: it held at least one chunk (only those are timed). */
  replied(peer: string, ms: number, carriedChunks = true): void {
    this.slow.delete(peer);
    if (!carriedChunks) return;
    this.shared = updated(this.shared, ms);
    const own = this.byPeer.get(peer);
    if (own !== undefined) this.byPeer.delete(peer); // re-inserted last: most recently heard
    else if (this.byPeer.size >= MAX_TIMED_PEERS) this.byPeer.delete(this.byPeer.keys().next().value as string);
    this.byPeer.set(peer, updated(own, ms));
  }

  /** How long a request to `peer` may wait before its addresses go to another holder. */
  delay(peer?: string): number {
    const estimate = (peer === undefined ? undefined : this.byPeer.get(peer)) ?? this.shared;
    if (estimate === undefined) return this.options.initialMs;
    return Math.min(this.options.maxMs, Math.max(this.options.minMs, estimate.smoothed + 4 * estimate.deviation));
  }

  /** A request to `peer` was hedged: it is slow (one request at a time) for slowPeerMs or until it answers. */
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
