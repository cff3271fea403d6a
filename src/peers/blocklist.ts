/**
 * Addresses this node neither admits nor contacts, each until a time or for good (SPEC §5.1).
 * One instance is shared by the peer table, which decides blocks (offences, an offender evicted as
 * unhealthy, the host's block()), and the outbound guard, which refuses every call to a blocked
 * address: a block starts and is lifted at both at once. Keys are canonical peer addresses
 * (canonicalPeerAddress): a block or an unblock given another spelling is kept under that form. Bounded by maxBlocked: beyond it the oldest temporary block is
 * forgotten first, a block for good only when no other temporary one is left (see ExpiringMap),
 * so a flood of penalised addresses cannot lift the host's own blocks.
 */
import { ExpiringMap } from '../runtime.js';
import { canonicalPeerAddress } from './address-policy.js';

/** Most blocks remembered by default. */
export const DEFAULT_MAX_BLOCKED = 10_000;

export class Blocklist {
  readonly #blocks: ExpiringMap<string>;

  constructor(readonly maxBlocked: number = DEFAULT_MAX_BLOCKED) {
    this.#blocks = new ExpiringMap(maxBlocked);
  }

  get size(): number {
    return this.#blocks.size;
  }

  /** Blocks `peer` (in any spelling) until clock time `until`; Infinity blocks it for good. */
  block(peer: string, until: number): void {
    this.#blocks.set(canonicalPeerAddress(peer) ?? peer, until, true);
  }

  /** Lifts a block (in any spelling); true when there was one. */
  unblock(peer: string): boolean {
    return this.#blocks.delete(canonicalPeerAddress(peer) ?? peer);
  }

  /** Whether `peer` (canonical) is blocked at clock time `now`. */
  isBlocked(peer: string, now: number): boolean {
    return this.#blocks.has(peer, now);
  }
}
