/**
 * When a chunk request has waited too long, its addresses are asked of another holder instead of
 * waiting for the deadline (a hedged request). A peer that claims chunks and then never answers
 * would otherwise hold request slots and addresses for a whole timeout each time it is picked.
 * "Too long" follows the replies actually seen, as TCP's retransmission timer does:
 * smoothed reply time + 4 x its mean deviation, clamped to [minMs, maxMs].
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

const GAIN = 1 / 8;
const DEVIATION_GAIN = 1 / 4;

export class HedgeTimer {
  private smoothed: number | undefined;
  private deviation = 0;
  /** Peer -> time until which it gets no new request. */
  private readonly slow = new ExpiringMap<string>(MAX_SLOW_PEERS);

  constructor(private readonly options: HedgeOptions) {}

  /** A reply arrived `ms` after its request was sent. */
  replied(peer: string, ms: number): void {
    this.slow.delete(peer);
    if (this.smoothed === undefined) {
      this.smoothed = ms;
      this.deviation = ms / 2;
      return;
    }
    this.deviation += DEVIATION_GAIN * (Math.abs(ms - this.smoothed) - this.deviation);
    this.smoothed += GAIN * (ms - this.smoothed);
  }

  /** How long a request may wait before its addresses go to another holder. */
  delay(): number {
    if (this.smoothed === undefined) return this.options.initialMs;
    return Math.min(this.options.maxMs, Math.max(this.options.minMs, this.smoothed + 4 * this.deviation));
  }

  /** A request to `peer` was hedged: it is slow (one request at a time) for slowPeerMs or until it answers. */
  hedged(peer: string, now: number): void {
    this.slow.set(peer, now + this.options.slowPeerMs, true);
  }

  isSlow(peer: string, now: number): boolean {
    return this.slow.has(peer, now);
  }
}
