/**
 * Offers from callers we have not admitted yet. A new neighbour offers us its recent changes
 * within milliseconds of choosing us, while our admission check of it is still under way; what
 * it offered is kept here, bounded, and replayed once it is admitted, so two nodes that meet
 * converge at once instead of at the next inventory refresh.
 */
import { hostOf, MAX_ADDRESSES_PER_HOST } from '../peers/host-key.js';
import { ExpiringMap } from '../runtime.js';

/** Bounds of `EarlyContacts`: any caller can make us keep what it offers until it is checked. */
export interface EarlyContactsOptions {
  /** Most callers remembered; beyond it the least recently heard is forgotten. */
  maxPeers: number;
  /** Most callers of one host (one IP; an IPv6 /64) remembered: a new port of a full host is not kept. */
  maxPeersPerHost: number;
  /** Most offered positions kept per caller. */
  maxPositions: number;
  /** How long an offer waits for its caller's admission, ms; a later admission hears of it at the next refresh instead. */
  ttlMs: number;
}

/** Defaults of EarlyContactsOptions: ttlMs is the peer table's default checkMs. */
export const DEFAULT_EARLY_CONTACTS: Readonly<EarlyContactsOptions> = Object.freeze({ maxPeers: 256, maxPeersPerHost: MAX_ADDRESSES_PER_HOST, maxPositions: 4_096, ttlMs: 60_000 });

export class EarlyContacts {
  private readonly options: EarlyContactsOptions;
  /** Caller -> the positions it offered, kept until the first offer's deadline. */
  private readonly contacts: ExpiringMap<string, Uint32Array>;

  constructor(options?: Partial<EarlyContactsOptions>) {
    this.options = { ...DEFAULT_EARLY_CONTACTS, ...options };
    this.contacts = new ExpiringMap(this.options.maxPeers, { groupOf: hostOf, maxPerGroup: this.options.maxPeersPerHost });
  }

  get size(): number {
    return this.contacts.size;
  }

  /**
   * Keeps what `peer` offered, unless maxPeersPerHost other callers of its host wait already. A
   * later offer joins the first one's positions and deadline: a caller never admitted cannot keep
   * its place by offering again. `host`: the host the offer came from (its connection's), which
   * the cap counts in; `peer`'s own host when not given. A host name in `peer` cannot be bound to
   * the connection, so only the connection's host keeps one machine from naming many.
   */
  offered(peer: string, positions: Uint32Array, now: number, host: string = hostOf(peer)): void {
    const { maxPositions, ttlMs } = this.options;
    const held = this.contacts.get(peer, now) ?? new Uint32Array(0);
    const room = Math.max(0, maxPositions - held.length);
    const merged = new Uint32Array(held.length + Math.min(room, positions.length));
    merged.set(held);
    merged.set(positions.subarray(0, merged.length - held.length), held.length);
    this.contacts.set(peer, this.contacts.deadline(peer, now) ?? now + ttlMs, merged, now, host);
  }

  /** The positions `peer` offered before admission (unless it waited longer than ttlMs), forgotten once taken. */
  take(peer: string, now: number): Uint32Array | undefined {
    const entry = this.contacts.get(peer, now);
    this.contacts.delete(peer);
    return entry;
  }
}
