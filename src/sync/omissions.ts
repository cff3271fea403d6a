/**
 * Omission is evidence. A peer is asked only for chunks its inventory claims, and any chunk it
 * sends can be checked against its address, so a reply that withholds a claimed chunk (leaves it
 * unanswered, or says "don't have") is a broken claim: the claim is cleared from our view of the
 * peer at once, and a peer that does it in `maxOmissions` replies within `windowMs` has committed
 * a fault. One such reply is forgiven: an honest peer may have just lost the chunk (quarantined
 * as corrupt, or rolled back with its chain) before its inventory said so.
 */
export interface OmissionOptions {
  /** Replies withholding claimed chunks, within windowMs, that make a fault. */
  maxOmissions: number;
  windowMs: number;
}

export const DEFAULT_OMISSIONS: Readonly<OmissionOptions> = Object.freeze({ maxOmissions: 3, windowMs: 60_000 });

/** Peers remembered at most; beyond it the stalest are forgotten (they only lose old evidence). */
const MAX_PEERS = 1_024;

export class OmissionLedger {
  private readonly options: OmissionOptions;
  /** Peer -> times of its recent withholding replies, oldest first. */
  private readonly strikes = new Map<string, number[]>();

  constructor(options: Partial<OmissionOptions> = {}) {
    this.options = { ...DEFAULT_OMISSIONS, ...options };
  }

  /** Records one withholding reply; true when it completes a fault (the count then restarts). */
  record(peer: string, now: number): boolean {
    const since = now - this.options.windowMs;
    const times = (this.strikes.get(peer) ?? []).filter((time) => time > since);
    times.push(now);
    this.strikes.delete(peer); // re-insert: Map order is recency
    if (times.length >= this.options.maxOmissions) return true;
    this.strikes.set(peer, times);
    if (this.strikes.size > MAX_PEERS) this.strikes.delete(this.strikes.keys().next().value as string);
    return false;
  }

  /** Strikes currently held against `peer`. */
  count(peer: string, now: number): number {
    const since = now - this.options.windowMs;
    return (this.strikes.get(peer) ?? []).filter((time) => time > since).length;
  }
}
