import { canonicalPeerAddress } from '../peers/address-policy.js';
import type { AtlasNodeEvents } from './events.js';
import type { PeerRemoveReason } from '../peers/table.js';

type Emit = <E extends keyof AtlasNodeEvents>(event: E, payload: AtlasNodeEvents[E]) => void;

/**
 * Turns peer-table changes and call outcomes into the node's peer events, with one meaning each:
 * `peer:reach` when a peer first answers, `peer:add` when it is admitted. A candidate is admitted
 * by its admission ping; a seed is put in the table without one, so its `peer:add` waits for its
 * first answer (a seed that never answers is never reported, nor its removal).
 */
export class PeerEvents {
  /** Peers that answered; forgotten when removed. Bounded: the oldest is forgotten first. */
  private readonly reached = new Set<string>();
  /** Seeds in the table that have not answered yet. */
  private readonly unreachedSeeds = new Set<string>();
  private readonly seeds: ReadonlySet<string>;

  constructor(
    private readonly emit: Emit,
    seeds: readonly string[],
    private readonly maxRemembered: number,
  ) {
    this.seeds = new Set(seeds.map((seed) => canonicalPeerAddress(seed) ?? seed));
  }

  /** The peer table added `peer`. */
  added(peer: string): void {
    const seed = this.seeds.has(peer);
    if (seed && !this.reached.has(peer)) this.unreachedSeeds.add(peer);
    else this.emit('peer:add', { peer, seed });
  }

  /** The peer table removed `peer`. */
  removed(peer: string, reason: PeerRemoveReason): void {
    this.reached.delete(peer);
    if (this.unreachedSeeds.delete(peer)) return; // never reported as added
    this.emit('peer:remove', { peer, reason });
  }

  /** A call to `peer` got a valid answer. */
  answered(address: string): void {
    if (this.reached.has(address)) return; // canonical already (as the table spells peers): no parse
    const peer = canonicalPeerAddress(address) ?? address;
    if (this.reached.has(peer)) return;
    this.reached.add(peer);
    if (this.reached.size > this.maxRemembered) this.reached.delete(this.reached.values().next().value as string);
    this.emit('peer:reach', { peer });
    if (this.unreachedSeeds.delete(peer)) this.emit('peer:add', { peer, seed: true });
  }
}
