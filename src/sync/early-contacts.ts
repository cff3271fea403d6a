/**
 * Offers from callers we have not admitted yet. A new neighbour offers us its recent changes
 * within milliseconds of choosing us, while our admission check of it is still under way; what
 * it offered is kept here, bounded, and replayed once it is admitted, so two nodes that meet
 * converge at once instead of at the next inventory refresh.
 */
export interface EarlyContact {
  /** Positions it offered. */
  offered: Uint32Array | undefined;
}

export class EarlyContacts {
  private readonly contacts = new Map<string, EarlyContact>();

  constructor(
    /** Most callers remembered; the oldest is forgotten first. */
    private readonly maxPeers = 256,
    /** Most offered positions kept per caller. */
    private readonly maxPositions = 4_096,
  ) {}

  get size(): number {
    return this.contacts.size;
  }

  offered(peer: string, positions: Uint32Array): void {
    const entry = this.entry(peer);
    const kept = positions.subarray(0, this.maxPositions);
    const before = entry.offered ?? new Uint32Array(0);
    const room = Math.max(0, this.maxPositions - before.length);
    const merged = new Uint32Array(before.length + Math.min(room, kept.length));
    merged.set(before);
    merged.set(kept.subarray(0, merged.length - before.length), before.length);
    entry.offered = merged;
  }

  /** What `peer` asked for before admission, forgotten once taken. */
  take(peer: string): EarlyContact | undefined {
    const entry = this.contacts.get(peer);
    this.contacts.delete(peer);
    return entry;
  }

  private entry(peer: string): EarlyContact {
    let entry = this.contacts.get(peer);
    if (!entry) {
      if (this.contacts.size >= this.maxPeers) this.contacts.delete(this.contacts.keys().next().value as string);
      entry = { offered: undefined };
      this.contacts.set(peer, entry);
    }
    return entry;
  }
}
