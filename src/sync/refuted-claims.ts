/**
 * Claims peers lost by sending bytes that do not hash to the address they claimed: per peer, the
 * positions and until when their claims to them are not believed, whatever their inventories or
 * offers say. Kept apart from the peer views, which come and go (a peer known only from its
 * offers is forgotten after a minute; a neighbour is untracked and tracked again), so that a
 * refutation lasts its full time. A peer that is never blocked (a seed) would otherwise be asked
 * again, and could waste a transfer again, after each refresh.
 */
import { bitmaps, END_OF_RANGE, type Bitmap, type ReadonlyBitmap } from '../inventory/bitmap.js';

/** Peers whose refutations are remembered at once; beyond it the one refuted least recently is forgotten first. */
export const MAX_REFUTED_PEERS = 256;

export class RefutedClaims {
  /** Peer -> positions and until when; in the order last refuted (oldest first). */
  readonly #byPeer = new Map<string, { positions: Bitmap; until: number }>();

  /**
   * Refutes `peer`'s claims to `positions` until `until`. A refutation extends the peer's earlier
   * ones still running to the same time: a peer that keeps lying stays distrusted.
   */
  refute(peer: string, positions: readonly number[], now: number, until: number): void {
    if (positions.length === 0) return;
    let entry = this.#live(peer, now);
    if (entry === undefined) entry = { positions: bitmaps.create(), until };
    this.#byPeer.delete(peer); // set again below: the newest
    entry.positions.addMany(Uint32Array.from(positions));
    entry.until = until;
    this.#byPeer.set(peer, entry);
    if (this.#byPeer.size > MAX_REFUTED_PEERS) this.#byPeer.delete(this.#byPeer.keys().next().value as string);
  }

  /** The positions whose claims by `peer` are not believed at `now`; undefined when none. */
  of(peer: string, now: number): ReadonlyBitmap | undefined {
    return this.#byPeer.size === 0 ? undefined : this.#live(peer, now)?.positions;
  }

  /** Our sequence was rolled back to `length`: positions past it will name other chunks. */
  truncate(length: number): void {
    for (const [peer, entry] of this.#byPeer) {
      entry.positions.removeRange(length, END_OF_RANGE);
      if (entry.positions.isEmpty) this.#byPeer.delete(peer);
    }
  }

  get size(): number {
    return this.#byPeer.size;
  }

  #live(peer: string, now: number): { positions: Bitmap; until: number } | undefined {
    const entry = this.#byPeer.get(peer);
    if (entry === undefined || entry.until > now) return entry;
    this.#byPeer.delete(peer);
    return undefined;
  }
}
