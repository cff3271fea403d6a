/**
 * Addresses this node neither admits nor contacts, each until a time or for good (SPEC §5.1).
 * One instance is shared by the peer table, which decides blocks (offences, an offender evicted as
 * unhealthy, the host's block()), and the outbound guard, which refuses every call to a blocked
 * address: a block starts and is lifted at both at once. Keys are canonical peer addresses
 * (canonicalPeerAddress): a block or an unblock given another spelling is kept under that form. Bounded by maxBlocked: beyond it the oldest temporary block is
 * forgotten first, a block for good only when no other temporary one is left (see ExpiringMap),
 * so a flood of penalised addresses cannot lift the host's own blocks.
 *
 * Penalties are counted per IP: a port is the peer's own word, so an IP blocked on one port
 * could come straight back on the next, and one IP blocked on 10,000 ports pushed every other
 * liar's block out of the list. An IP holds at most `portsPerHost` penalty blocks at once; the
 * next one blocks the IP, every port, until that block ends. An IPv6 /64 (what hostOf calls a
 * host) holds at most `ipsPerNetwork` such IP blocks; the next blocks the whole /64. The /64 is
 * not blocked at once: a provider may give many customers one /128 each of a shared /64, and one
 * of them must not get its neighbours blocked for a day. Spared (`spareHost`): the seeds' hosts,
 * and loopback unless the table applies its per-host caps there too (perHostPeersOnLoopback),
 * where a local cluster runs many nodes on one address.
 */
import { ExpiringMap } from '../runtime.js';
import { parsePeerAddress } from '../peer-address.js';
import { canonicalPeerAddress } from './address-policy.js';
import { hostOf, isLoopbackHost, MAX_ADDRESSES_PER_HOST } from './host-key.js';

/** Most blocks remembered by default. */
export const DEFAULT_MAX_BLOCKED = 10_000;
/** IPs of one IPv6 /64 blocked whole, at once, before the /64 is: a /64 is one host's, or one provider's for many customers. */
export const DEFAULT_IPS_PER_NETWORK = 16;

/** Options of a `Blocklist`. */
export interface BlocklistOptions {
  /** Penalty blocks one IP may hold at once before the IP is blocked whole; default MAX_ADDRESSES_PER_HOST (4, the table's peers per host). */
  portsPerHost?: number;
  /** IPs of one IPv6 /64 blocked whole at once before the /64 is; default DEFAULT_IPS_PER_NETWORK (16). */
  ipsPerNetwork?: number;
  /** Hosts (hostOf keys) never blocked whole, whose penalties are counted per address; default none. */
  spareHost?: (host: string) => boolean;
}

/** What a penalty blocked: the address alone, its IP (every port), or its IPv6 /64 (every IP in it). */
export type BlockScope = 'address' | 'ip' | 'network';

export class Blocklist {
  readonly #blocks: ExpiringMap<string>;
  /** IPs blocked whole, grouped by their /64 (an IPv4 address is its own group). */
  readonly #ips: ExpiringMap<string>;
  /** IPv6 /64s (hostOf keys) blocked whole. */
  readonly #networks: ExpiringMap<string>;
  readonly #spareHost: (host: string) => boolean;

  constructor(
    readonly maxBlocked: number = DEFAULT_MAX_BLOCKED,
    options: BlocklistOptions = {},
  ) {
    // The group of a key is named at each set(): its IP (or /64) for a penalty, the key itself otherwise.
    this.#blocks = new ExpiringMap(maxBlocked, { groupOf: (key) => key, maxPerGroup: options.portsPerHost ?? MAX_ADDRESSES_PER_HOST });
    this.#ips = new ExpiringMap(maxBlocked, { groupOf: (key) => key, maxPerGroup: options.ipsPerNetwork ?? DEFAULT_IPS_PER_NETWORK });
    this.#networks = new ExpiringMap(maxBlocked);
    this.#spareHost = options.spareHost ?? (() => false);
  }

  get size(): number {
    return this.#blocks.size + this.#ips.size + this.#networks.size;
  }

  /** Blocks `peer` (in any spelling) until clock time `until`; Infinity blocks it for good. The host's own decision: never widened to its IP. */
  block(peer: string, until: number): void {
    const key = canonicalPeerAddress(peer) ?? peer;
    this.#blocks.set(key, until, true, undefined, key);
  }

  /**
   * Blocks a penalised `peer` (canonical) until `until`; its whole IP when the IP already holds
   * portsPerHost penalty blocks live at `now`, and its whole /64 when that holds ipsPerNetwork
   * IP blocks (a spared host never is). Answers which.
   */
  penalise(peer: string, until: number, now: number): BlockScope {
    const network = hostOf(peer);
    if (this.#spareHost(network)) {
      this.#blocks.set(peer, until, true, now, peer);
      return 'address';
    }
    const ip = ipOf(peer);
    if (this.#blocks.set(peer, until, true, now, ip)) return 'address';
    if (this.#ips.set(ip, Math.max(until, this.#ips.deadline(ip, now) ?? until), true, now, network)) return 'ip';
    this.#networks.set(network, Math.max(until, this.#networks.deadline(network, now) ?? until), true);
    return 'network';
  }

  /** Lifts a block (in any spelling), and its IP's and /64's when they are blocked whole; true when there was one. */
  unblock(peer: string): boolean {
    const key = canonicalPeerAddress(peer) ?? peer;
    const address = this.#blocks.delete(key);
    const ip = this.#ips.size > 0 && this.#ips.delete(ipOf(key));
    const network = this.#networks.size > 0 && this.#networks.delete(hostOf(key));
    return address || ip || network;
  }

  /** Whether `peer` (canonical) is blocked at clock time `now`: by its own block, its IP's or its /64's. */
  isBlocked(peer: string, now: number): boolean {
    if (this.#blocks.has(peer, now)) return true;
    if (this.#ips.size > 0 && this.#ips.has(ipOf(peer), now)) return true;
    return this.#networks.size > 0 && this.#networks.has(hostOf(peer), now);
  }
}

/** The IP of a peer address (a host name lower-cased; an address that does not parse is its own). */
function ipOf(address: string): string {
  const peer = parsePeerAddress(address);
  if (peer === undefined) return address;
  return peer.family === 'name' ? peer.host.toLowerCase() : peer.host;
}

/**
 * The blocklist a node's peer table and outbound guard share: penalties widen to an IP past
 * `maxPeersPerHost` of its ports (and to an IPv6 /64 past DEFAULT_IPS_PER_NETWORK of its IPs),
 * sparing the seeds' hosts and, unless `perHostPeersOnLoopback`, loopback.
 */
export function peerBlocklist(limits: { maxBlocked: number; maxPeersPerHost: number; perHostPeersOnLoopback: boolean }, seeds: readonly string[]): Blocklist {
  const seedHosts = new Set(seeds.map((seed) => hostOf(canonicalPeerAddress(seed) ?? seed)));
  return new Blocklist(limits.maxBlocked, {
    portsPerHost: limits.maxPeersPerHost,
    spareHost: (host) => seedHosts.has(host) || (!limits.perHostPeersOnLoopback && isLoopbackHost(host)),
  });
}
