/**
 * Claims peers lost by sending bytes that do not hash to the address they claimed: per peer, the
 * positions and until when their claims to them are not believed, whatever their inventories or
 * offers say. Kept apart from the peer views, which come and go (a peer known only from its
 * offers is forgotten after a minute; a neighbour is untracked and tracked again), so that a
 * refutation lasts its full time. A peer that is never blocked (a seed) would otherwise be asked
 * again, and could waste a transfer again, after each refresh.
 */
import { bitmaps, END_OF_RANGE, type Bitmap, type ReadonlyBitmap } from '../inventory/bitmap.js';
import { hostOf, isLoopbackHost, MAX_ADDRESSES_PER_HOST } from '../peers/host-key.js';

/** Peers whose refutations are remembered at once; beyond it the one refuted least recently is forgotten first. */
export const MAX_REFUTED_PEERS = 256;

/**
 * Peers of one host (hostOf: one IP, an IPv6 /64) whose refutations are remembered at once;
 * beyond it that host's peer refuted least recently is forgotten, never another host's. A port is
 * the announcer's own word: without it one machine admitted on many ports, each sending one
 * corrupt reply, would push every other peer's refutations (a seed's too) out of
 * MAX_REFUTED_PEERS, and their false claims would be believed, and asked for, again. Loopback
 * hosts (127.x, ::1, localhost) are spared, as the peer table and transport spare them by
 * default: a test or simulation plays many peers on one machine.
 */
export const MAX_REFUTED_PEERS_PER_HOST = MAX_ADDRESSES_PER_HOST;

interface Refutation {
  positions: Bitmap;
  until: number;
  /** hostOf(peer), undefined for a loopback host (not capped). */
  host: string | undefined;
}

/**
 * Per peer, the positions whose claims it lost and until when (see above): at most
 * MAX_REFUTED_PEERS peers, MAX_REFUTED_PEERS_PER_HOST of one host that is not loopback.
 */
export class RefutedClaims {
  /** Peer -> positions and until when; in the order last refuted (oldest first). */
  readonly #byPeer = new Map<string, Refutation>();
  /** Capped host -> its peers in #byPeer, in the order last refuted (oldest first). */
  readonly #byHost = new Map<string, Set<string>>();

  /**
   * Refutes `peer`'s claims to `positions` until `until`. A refutation extends the peer's earlier
   * ones still running to the same time: a peer that keeps lying stays distrusted. The new
   * refutation is always kept: when its host already has MAX_REFUTED_PEERS_PER_HOST other peers
   * refuted, that host's oldest is forgotten.
   */
  refute(peer: string, positions: readonly number[], now: number, until: number): void {
    if (positions.length === 0) return;
    let entry = this.#live(peer, now);
    if (entry === undefined) {
      const host = hostOf(peer);
      entry = { positions: bitmaps.create(), until, host: isLoopbackHost(host) ? undefined : host };
    }
    this.#remove(peer); // set again below: the newest
    if (entry.host !== undefined) this.#makeRoom(entry.host, now);
    entry.positions.addMany(Uint32Array.from(positions));
    entry.until = until;
    this.#add(peer, entry);
    if (this.#byPeer.size > MAX_REFUTED_PEERS) this.#remove(this.#byPeer.keys().next().value as string);
  }

  /** The positions whose claims by `peer` are not believed at `now`; undefined when none. */
  of(peer: string, now: number): ReadonlyBitmap | undefined {
    return this.#byPeer.size === 0 ? undefined : this.#live(peer, now)?.positions;
  }

  /** Our sequence was rolled back to `length`: positions past it will name other chunks. */
  truncate(length: number): void {
    for (const [peer, entry] of this.#byPeer) {
      entry.positions.removeRange(length, END_OF_RANGE);
      if (entry.positions.isEmpty) this.#remove(peer);
    }
  }

  /** How many peers have refutations remembered (some may have expired unread). */
  get size(): number {
    return this.#byPeer.size;
  }

  #live(peer: string, now: number): Refutation | undefined {
    const entry = this.#byPeer.get(peer);
    if (entry === undefined || entry.until > now) return entry;
    this.#remove(peer);
    return undefined;
  }

  /** Leaves `host` fewer than MAX_REFUTED_PEERS_PER_HOST peers: the expired first, then its oldest. */
  #makeRoom(host: string, now: number): void {
    const peers = this.#byHost.get(host);
    if (peers === undefined || peers.size < MAX_REFUTED_PEERS_PER_HOST) return;
    for (const peer of [...peers]) this.#live(peer, now);
    while (peers.size >= MAX_REFUTED_PEERS_PER_HOST) this.#remove(peers.values().next().value as string);
  }

  #add(peer: string, entry: Refutation): void {
    this.#byPeer.set(peer, entry);
    if (entry.host === undefined) return;
    const peers = this.#byHost.get(entry.host);
    if (peers === undefined) this.#byHost.set(entry.host, new Set([peer]));
    else peers.add(peer);
  }

  #remove(peer: string): void {
    const entry = this.#byPeer.get(peer);
    if (entry === undefined) return;
    this.#byPeer.delete(peer);
    if (entry.host === undefined) return;
    const peers = this.#byHost.get(entry.host);
    peers?.delete(peer);
    if (peers?.size === 0) this.#byHost.delete(entry.host);
  }
}
