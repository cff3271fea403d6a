/**
 * Omission is evidence. A peer is asked only for chunks its inventory claims, and any chunk it
 * sends can be checked against its address, so a reply that withholds a claimed chunk (leaves it
 * unanswered, or says "don't have") is a broken claim: the claim is cleared from our view of the
 * peer at once, and a peer that does it in `maxOmissions` replies within `windowMs` has committed
 * a fault. One such reply is forgiven: an honest peer may have just lost the chunk (quarantined
 * as corrupt, or rolled back with its chain) before its inventory said so.
 */
import { ExpiringMap } from '../runtime.js';

/** When a peer withholding chunks its inventory claims becomes a fault (AtlasNode option `downloads.omissions`). */
export interface OmissionOptions {
  /** Replies withholding claimed chunks, within windowMs, that make a fault. */
  maxOmissions: number;
  windowMs: number;
}

export const DEFAULT_OMISSIONS: Readonly<OmissionOptions> = Object.freeze({ maxOmissions: 3, windowMs: 60_000 });

/** Peers remembered at most; beyond it the least recently struck is forgotten (it only loses old evidence). */
export const MAX_OMISSION_PEERS = 1_024;

export class OmissionLedger {
  private readonly options: OmissionOptions;
  /** Peer -> times of its withholding replies, oldest first; forgotten windowMs after the latest. */
  private readonly strikes = new ExpiringMap<string, number[]>(MAX_OMISSION_PEERS);

  constructor(options: Partial<OmissionOptions> = {}) {
    this.options = { ...DEFAULT_OMISSIONS, ...options };
  }

  /** Records one withholding reply; true when it completes a fault (the count then restarts). */
  record(peer: string, now: number): boolean {
    const since = now - this.options.windowMs;
    const times = (this.strikes.get(peer, now) ?? []).filter((time) => time > since);
    times.push(now);
    if (times.length >= this.options.maxOmissions) {
      this.strikes.delete(peer);
      return true;
    }
    this.strikes.set(peer, now + this.options.windowMs, times);
    return false;
  }

  /** Strikes currently held against `peer`. */
  count(peer: string, now: number): number {
    const since = now - this.options.windowMs;
    return (this.strikes.get(peer, now) ?? []).filter((time) => time > since).length;
  }
}
