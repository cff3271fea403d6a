import type { Random } from '../runtime.js';
import { randomInt } from '../runtime.js';

/**
 * The K active neighbours a node pulls from and offers to. Filled from random-walk samples and
 * renewed one at a time, so the overlay stays a random graph and no fixed set of peers can
 * capture a node's view for long (eclipse resistance).
 */
export class NeighborSet {
  private readonly active = new Set<string>();

  constructor(
    readonly k: number,
    private readonly random: Random,
  ) {}

  get size(): number {
    return this.active.size;
  }

  /** How many more neighbours are wanted. */
  get wanted(): number {
    return Math.max(0, this.k - this.active.size);
  }

  has(peer: string): boolean {
    return this.active.has(peer);
  }

  list(): string[] {
    return [...this.active.keys()];
  }

  add(peer: string): boolean {
    if (this.active.has(peer) || this.active.size >= this.k) return false;
    this.active.add(peer);
    return true;
  }

  remove(peer: string): boolean {
    return this.active.delete(peer);
  }

  /** Picks one neighbour to drop for renewal: a random one, so no peer can count on staying. */
  pickForRenewal(): string | undefined {
    if (this.active.size < this.k) return undefined;
    const peers = this.list();
    return peers[randomInt(this.random, peers.length)];
  }
}
