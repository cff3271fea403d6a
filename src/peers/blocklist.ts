/**
 * Addresses this node neither admits nor contacts, each until a time or for good (SPEC §5.1).
 * One instance is shared by the peer table, which decides blocks (offences, an offender evicted as
 * unhealthy, the host's block()), and the outbound guard, which refuses every call to a blocked
 * address: a block starts and is lifted at both at once. Keys are canonical peer addresses
 * (canonicalPeerAddress): a block or an unblock given another spelling is kept under that form. Bounded by maxBlocked: beyond it the oldest temporary block is
 * forgotten first, a block for good only when no other temporary one is left (see ExpiringMap),
 * so a flood of penalised addresses cannot lift the host's own blocks.
 *
 * Penalties are counted per host (hostOf: an IP, an IPv6 /64): a port is the peer's own word, so
 * a host blocked on one port could come straight back on the next, and one host blocked on 10,000
 * ports pushed every other liar's block out of the list. A host holds at most `portsPerHost`
 * penalty blocks at once; the next one blocks the whole host, every port, until that block ends.
 * Spared (`spareHost`): the seeds' hosts, and loopback unless the table applies its per-host
 * caps there too (perHostPeersOnLoopback), where a local cluster runs many nodes on one address.
 */
import { ExpiringMap } from '../runtime.js';
import { canonicalPeerAddress } from './address-policy.js';
import { hostOf, isLoopbackHost, MAX_ADDRESSES_PER_HOST } from './host-key.js';

/** Most blocks remembered by default. */
export const DEFAULT_MAX_BLOCKED = 10_000;

/** Options of a `Blocklist`. */
export interface BlocklistOptions {
  /** Penalty blocks one host may hold at once before the host is blocked whole; default MAX_ADDRESSES_PER_HOST (4, the table's peers per host). */
  portsPerHost?: number;
  /** Hosts (hostOf keys) never blocked whole, whose penalties are counted per address as before; default none. */
  spareHost?: (host: string) => boolean;
}

/** What a penalty blocked: the address alone, or its whole host (every port). */
export type BlockScope = 'address' | 'host';

export class Blocklist {
  readonly #blocks: ExpiringMap<string>;
  /** Hosts blocked whole (hostOf keys), each until its last penalty's block ends. */
  readonly #hosts: ExpiringMap<string>;
  readonly #spareHost: (host: string) => boolean;

  constructor(
    readonly maxBlocked: number = DEFAULT_MAX_BLOCKED,
    options: BlocklistOptions = {},
  ) {
    // The group of a key is named at each set(): its host for a penalty, the key itself otherwise.
    this.#blocks = new ExpiringMap(maxBlocked, { groupOf: (key) => key, maxPerGroup: options.portsPerHost ?? MAX_ADDRESSES_PER_HOST });
    this.#hosts = new ExpiringMap(maxBlocked);
    this.#spareHost = options.spareHost ?? (() => false);
  }

  get size(): number {
    return this.#blocks.size + this.#hosts.size;
  }

  /** Blocks `peer` (in any spelling) until clock time `until`; Infinity blocks it for good. The host's own decision: never widened to the whole host. */
  block(peer: string, until: number): void {
    const key = canonicalPeerAddress(peer) ?? peer;
    this.#blocks.set(key, until, true, undefined, key);
  }

  /**
   * Blocks a penalised `peer` (canonical) until `until`, or its whole host when the host already
   * holds portsPerHost penalty blocks live at `now` (a spared host never is). Answers which.
   */
  penalise(peer: string, until: number, now: number): BlockScope {
    const host = hostOf(peer);
    const spared = this.#spareHost(host);
    if (this.#blocks.set(peer, until, true, now, spared ? peer : host)) return 'address';
    this.#hosts.set(host, Math.max(until, this.#hosts.deadline(host, now) ?? until), true);
    return 'host';
  }

  /** Lifts a block (in any spelling), and its host's when the host is blocked whole; true when there was one. */
  unblock(peer: string): boolean {
    const key = canonicalPeerAddress(peer) ?? peer;
    const address = this.#blocks.delete(key);
    const host = this.#hosts.size > 0 && this.#hosts.delete(hostOf(key));
    return address || host;
  }

  /** Whether `peer` (canonical) is blocked at clock time `now`, by its own block or its host's. */
  isBlocked(peer: string, now: number): boolean {
    return this.#blocks.has(peer, now) || (this.#hosts.size > 0 && this.#hosts.has(hostOf(peer), now));
  }

  /** Whether `host` (a hostOf key) is blocked whole at `now`. */
  isHostBlocked(host: string, now: number): boolean {
    return this.#hosts.size > 0 && this.#hosts.has(host, now);
  }
}

/**
 * The blocklist a node's peer table and outbound guard share: penalties widen to a host past
 * `maxPeersPerHost` of its ports, sparing the seeds' hosts and, unless `perHostPeersOnLoopback`,
 * loopback.
 */
export function peerBlocklist(limits: { maxBlocked: number; maxPeersPerHost: number; perHostPeersOnLoopback: boolean }, seeds: readonly string[]): Blocklist {
  const seedHosts = new Set(seeds.map((seed) => hostOf(canonicalPeerAddress(seed) ?? seed)));
  return new Blocklist(limits.maxBlocked, {
    portsPerHost: limits.maxPeersPerHost,
    spareHost: (host) => seedHosts.has(host) || (!limits.perHostPeersOnLoopback && isLoopbackHost(host)),
  });
}
