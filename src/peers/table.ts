/**
 * The peers a node knows (SPEC §5): their health, the seeds, a blocklist, and the candidates
 * waiting to be checked before admission. Everything a remote peer can grow is bounded: the table
 * (maxPeers, and maxPeersPerHost of one host), the pending candidates (maxPending, and maxPendingPerHost of one host), the memory of recent refusals (maxRecent) and
 * the blocklist (maxBlocked).
 *
 * Life of an address:
 *   addCandidate  -> pending (unless invalid, own, known, blocked, recently refused, refused by
 *                    the address policy, or maxPendingPerHost of its host already wait, or
 *                    maxPeersPerHost of its host are in the table already)
 *   nextCandidates -> taken out of pending, remembered as "being checked" for checkMs
 *   admit(ping)   -> in the table, if same network and compatible protocol; otherwise it throws
 *                    NETWORK_MISMATCH / VERSION_MISMATCH and the refusal is remembered for refusalMs
 *   recordCall    -> health samples; evictUnhealthy removes peers with >= 10 samples and health
 *                    < 0.5, at most 10 per round; penalise counts as several failures, and repeated
 *                    offences remove and block the peer for blockMs.
 *
 * Seeds are configuration: they are in the table from the start, never removed by health,
 * penalties or replacement, and not subject to the address policy. Only an explicit block()
 * removes one (and unblock() puts it back). Every add and remove is reported through onChange,
 * so the node can emit peer:add / peer:remove without diffing.
 *
 * Addresses are compared in canonical form (see canonicalPeerAddress); every method accepts any
 * spelling and returns canonical addresses.
 *
 * Longer than 450 lines: one class whose bounded maps (table, pending candidates, recent
 * refusals) keep one invariant together, each rule documented beside its code; the blocklist and
 * the bounded maps themselves live in blocklist.ts and runtime.ts.
 */
import { AtlasError, ErrorCodes, type ErrorCode } from '../errors.js';
import { PROTOCOL_VERSION, type PingResult } from '../protocol/messages.js';
import { numberRule, overlayChecked, type OverlayRules } from '../options-overlay.js';
import { ExpiringMap, randomInt, shuffle, type Clock, type Random } from '../runtime.js';
import { AddressPolicy, canonicalPeerAddress, type AddressPolicyOptions } from './address-policy.js';
import { Blocklist, DEFAULT_MAX_BLOCKED, peerBlocklist } from './blocklist.js';
import { HealthWindow } from './health.js';
import { hostOf, isLoopbackHost, MAX_ADDRESSES_PER_HOST } from './host-key.js';

/** Why a `PeerTable` removed a peer. */
export type PeerRemoveReason =
  /** >= minSamplesForEviction samples and health < minHealth */
  | 'unhealthy'
  /** too many offences (bad data); the address is blocked for blockMs */
  | 'penalised'
  /** explicit block() */
  | 'blocked'
  /** the table was full and a newly admitted peer took the place of this unhealthy one */
  | 'replaced'
  /** a later ping showed another network or an incompatible protocol version */
  | 'mismatch'
  /** it turned out to be this node's own address */
  | 'self'
  /** explicit remove() */
  | 'removed';

/** A peer removed from a `PeerTable`, and why. */
export interface PeerRemoval {
  peer: string;
  reason: PeerRemoveReason;
}

/** A peer added to or removed from a `PeerTable`. */
export type PeerChange = { type: 'add'; peer: string; seed: boolean } | { type: 'remove'; peer: string; reason: PeerRemoveReason };

/** What a `PeerTable` knows of one peer: health, samples, whether it is a seed. */
export interface PeerInfo {
  address: string;
  seed: boolean;
  health: number;
  samples: number;
  addedAt: number;
  /** Offences in the current window (see penalise). */
  offences: number;
  /** The reason given with the latest offence. */
  lastOffence: string | undefined;
  /** The ping that admitted (or last re-admitted) the peer; undefined for a seed not yet pinged. */
  lastPing: PingResult | undefined;
}

/** What addCandidate did with an address. */
export type CandidateOutcome =
  | 'queued'
  /** already waiting */
  | 'pending'
  /** already in the table */
  | 'known'
  | 'blocked'
  /** refused or checked recently */
  | 'recent'
  | 'self'
  /** the address policy refuses it (not publicly routable, a host name...) */
  | 'refused'
  /** maxPendingPerHost addresses of its host are already waiting, or maxPeersPerHost of its host are in the table */
  | 'host-full'
  /** not a peer address */
  | 'invalid';

/** The bounds of a `PeerTable`. */
export interface PeerTableLimits {
  /** Most peers in the table, seeds included. */
  maxPeers: number;
  /**
   * Most peers of one host (one IP; an IPv6 /64) in the table, seeds included (a seed is never
   * refused for it): one machine answering ping on many ports would otherwise take every place,
   * and be most of our peer-exchange replies and random neighbours. Several honest nodes may
   * share one public address (behind one NAT), hence more than one.
   */
  maxPeersPerHost: number;
  /**
   * Apply maxPeersPerHost to loopback hosts (127.0.0.0/8, ::1, localhost) too. Default false: a
   * local cluster runs all its nodes on one loopback address, and no remote party can pose as
   * this machine (a public table refuses loopback addresses anyway, see AddressPolicy). Tests that
   * play several hosts on 127.x set it, like the transport's perHostLimitsOnLoopback.
   */
  perHostPeersOnLoopback: boolean;
  /** Most candidates waiting to be checked (SPEC §5.2: 800). */
  maxPending: number;
  /**
   * Most candidates of one host (one IP; an IPv6 /64) waiting to be checked: a peer list or a
   * caller can name any number of ports of one machine, and would otherwise fill the queue.
   */
  maxPendingPerHost: number;
  /** Which pending candidate makes room for a new one when full. */
  pendingEviction: 'oldest' | 'random';
  healthWindowMs: number;
  maxSamplesPerPeer: number;
  minHealth: number;
  minSamplesForEviction: number;
  maxEvictionsPerRound: number;
  /** How long a refused address (mismatch, unreachable, evicted) is not queued again. */
  refusalMs: number;
  /** How long a candidate handed out by nextCandidates counts as being checked. */
  checkMs: number;
  /** Most addresses remembered as recently refused or being checked. */
  maxRecent: number;
  /**
   * Most of those from one host: one naming thousands of its ports (or a victim's) in peer lists
   * would otherwise push every other host's refusals out, and have those addresses dialled again.
   * Its addresses past the cap are not remembered (its pending candidates stay capped apart).
   */
  maxRecentPerHost: number;
  /** Failed samples one offence counts as. */
  penaltySamples: number;
  /** Offences within healthWindowMs that get a peer removed and blocked. */
  maxOffences: number;
  /** How long a penalised peer stays blocked. */
  blockMs: number;
  /** Most blocked addresses remembered (by the table's own blocklist; a shared one has its own bound). */
  maxBlocked: number;
}

/** Default bounds of a `PeerTable`: sizes, health window and thresholds. */
export const PEER_TABLE_DEFAULTS: Readonly<PeerTableLimits> = Object.freeze({
  maxPeers: 1_000,
  maxPeersPerHost: MAX_ADDRESSES_PER_HOST,
  perHostPeersOnLoopback: false,
  maxPending: 800,
  maxPendingPerHost: MAX_ADDRESSES_PER_HOST,
  pendingEviction: 'random',
  healthWindowMs: 3_600_000,
  maxSamplesPerPeer: 256,
  minHealth: 0.5,
  minSamplesForEviction: 10,
  maxEvictionsPerRound: 10,
  refusalMs: 600_000,
  checkMs: 60_000,
  maxRecent: 2_000,
  maxRecentPerHost: 64,
  penaltySamples: 5,
  maxOffences: 3,
  blockMs: 86_400_000,
  maxBlocked: DEFAULT_MAX_BLOCKED,
});

/** What each of a PeerTable's limits must be (the node checks its `peerTable` option by them too). */
export const PEER_TABLE_RULES: OverlayRules = {
  numbers: numberRule({
    positiveIntegers: ['maxPeers', 'maxPeersPerHost', 'maxPending', 'maxPendingPerHost', 'maxSamplesPerPeer', 'maxRecent', 'maxRecentPerHost', 'maxBlocked', 'maxOffences'],
    positive: ['healthWindowMs'],
    fractions: ['minHealth'],
  }),
  choices: { pendingEviction: ['oldest', 'random'] },
};

/** Candidates checked per round (SPEC §5.2). */
export const DEFAULT_CANDIDATES_PER_ROUND = 10;

/** Options of `PeerTable`: its bounds, seeds and change listener. */
export interface PeerTableOptions extends Partial<PeerTableLimits> {
  clock: Clock;
  random: Random;
  /** Our network id: peers answering ping with another are refused. */
  network: string;
  /** Our protocol version; default PROTOCOL_VERSION. */
  protocolVersion?: number;
  /** Default: the same version number. */
  isCompatibleVersion?: (protocol: number) => boolean;
  seeds?: readonly string[];
  /** This node's own address, or a function for one known only once the transport listens. */
  self?: string | (() => string | undefined);
  policy?: AddressPolicy | Partial<AddressPolicyOptions>;
  /** Where blocks are kept: shared with the outbound guard, so a blocked peer is never dialled. Default: a blocklist of the table's own, of maxBlocked. */
  blocklist?: Blocklist;
  onChange?: (change: PeerChange) => void;
}

interface Entry {
  address: string;
  seed: boolean;
  addedAt: number;
  window: HealthWindow;
  /** Times of offences, oldest first, at most maxOffences. */
  offences: number[];
  lastOffence: string | undefined;
  lastPing: PingResult | undefined;
}

/** The peers a node knows: health over a time window, admission of candidates, penalties and blocklist. */
export class PeerTable {
  readonly limits: Readonly<PeerTableLimits>;
  readonly policy: AddressPolicy;
  readonly network: string;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly compatible: (protocol: number) => boolean;
  private readonly onChange: ((change: PeerChange) => void) | undefined;
  private readonly seedList: readonly string[];
  private readonly peers = new Map<string, Entry>();
  /**
   * Each peer's address, keyed by itself: what addPeerList hands out. Read from the map's own
   * slots, where reading it from the Entry would be one more cache miss a listed address (a
   * tenth of an idle simulation's time). Set and deleted with `peers` (putEntry, removeEntry).
   */
  private readonly keyOf = new Map<string, string>();
  private readonly pending = new Map<string, number>(); // address -> queued at
  /** Host (hostOf) -> its addresses pending: at most maxPendingPerHost. */
  private readonly pendingPerHost = new Map<string, number>();
  /** Host (hostOf) -> its peers in the table, seeds included (see maxPeersPerHost). Set with `peers` (putEntry, removeEntry). */
  private readonly peersPerHost = new Map<string, number>();
  /** Address -> why it was refused or checked recently; forgotten when its time is up. */
  private readonly recent: ExpiringMap<string, string>;
  private readonly blocked: Blocklist;
  /**
   * Peers with health >= minHealth, in table order, until `until` (when a sample leaves some
   * window); cleared by any change that may alter it. A peer-exchange reply reads this instead of
   * every peer's health: a walk asks one for each step, and the table is up to maxPeers.
   */
  private live: { peers: string[]; until: number; unhealthyOthers: number } | undefined;
  /** Whether a seed may be out of the table (removed, or blocked for a while). */
  private seedsMissing = true;
  private selfOption: string | (() => string | undefined) | undefined;
  private selfRaw: string | undefined;
  private self: string | undefined;

  constructor(options: PeerTableOptions) {
    const { clock, random, network, seeds, self, policy, blocklist, onChange, protocolVersion, isCompatibleVersion, ...limits } = options;
    this.limits = overlayChecked('peerTable', PEER_TABLE_DEFAULTS, limits, PEER_TABLE_RULES);
    this.blocked = blocklist ?? peerBlocklist(this.limits, seeds ?? []);
    this.recent = new ExpiringMap(this.limits.maxRecent, { groupOf: hostOf, maxPerGroup: this.limits.maxRecentPerHost });
    this.clock = clock;
    this.random = random;
    this.network = network;
    this.policy = policy instanceof AddressPolicy ? policy : new AddressPolicy(policy);
    const version = protocolVersion ?? PROTOCOL_VERSION;
    this.compatible = isCompatibleVersion ?? ((protocol) => protocol === version);
    this.onChange = onChange;
    this.selfOption = self;
    const canonicalSeeds: string[] = [];
    for (const seed of seeds ?? []) {
      const address = canonicalPeerAddress(seed, this.policy.options.maxLength);
      if (address === undefined) throw new AtlasError(ErrorCodes.BAD_REQUEST, `seed is not a peer address: ${JSON.stringify(String(seed).slice(0, 64))}`);
      if (!canonicalSeeds.includes(address)) canonicalSeeds.push(address);
    }
    this.seedList = Object.freeze(canonicalSeeds);
    const now = clock.now();
    const own = this.ownAddress(false);
    for (const seed of canonicalSeeds) if (seed !== own) this.putEntry(this.entry(seed, true, now));
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  // Counts are plain reads: a getter never settles the table (settling may report changes).
  get size(): number {
    return this.peers.size;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The configured seeds, canonical. */
  seeds(): string[] {
    return [...this.seedList];
  }

  isSeed(address: string): boolean {
    if (this.seedList.includes(address)) return true; // already canonical: no parse
    const peer = this.canonical(address);
    return peer !== undefined && this.seedList.includes(peer);
  }

  has(address: string): boolean {
    this.ownAddress();
    // Table keys are canonical: the overlay asks with them every round, and they need no parse.
    if (this.peers.has(address)) return true;
    const peer = this.canonical(address);
    return peer !== undefined && this.peers.has(peer);
  }

  /** The table's own (canonical) string for a peer in the table, however `address` spells it; undefined when it is not in the table. */
  tableKey(address: string): string | undefined {
    return this.find(address)?.address;
  }

  /** 0 for an unknown peer. */
  health(address: string): number {
    const entry = this.find(address);
    return entry === undefined ? 0 : entry.window.health(this.clock.now());
  }

  /** In the table, and healthy or not called within the health window (no samples: nothing says it is down). */
  healthyOrUnsampled(address: string): boolean {
    const entry = this.find(address);
    if (entry === undefined) return false;
    const now = this.clock.now();
    return entry.window.samples(now) === 0 || entry.window.health(now) >= this.limits.minHealth;
  }

  get(address: string): PeerInfo | undefined {
    const entry = this.find(address);
    return entry === undefined ? undefined : this.info(entry, this.clock.now());
  }

  all(): PeerInfo[] {
    this.ownAddress();
    const now = this.clock.now();
    return [...this.peers.values()].map((entry) => this.info(entry, now));
  }

  addresses(): string[] {
    this.ownAddress();
    return [...this.peers.keys()];
  }

  /** Candidates waiting, oldest first. */
  pendingCandidates(): string[] {
    this.ownAddress();
    return [...this.pending.keys()];
  }

  /**
   * Up to `max` peers with health >= minHealth, shuffled: the peer-exchange reply (SPEC §3).
   * Never this node itself nor anything in `exclude` (the caller).
   */
  livePeers(max: number, random: Random = this.random, exclude?: string | Iterable<string>): string[] {
    // Settling our own address takes it out of the table: it needs no excluding here.
    this.ownAddress();
    const excluded: string[] = [];
    // A table key is canonical already: the caller of a peer exchange usually is one.
    for (const address of typeof exclude === 'string' ? [exclude] : (exclude ?? [])) excluded.push(this.peers.has(address) ? address : (this.canonical(address) ?? address));
    return sampleWithout(this.livePeerList(this.clock.now()), max, random, excluded);
  }

  // -------------------------------------------------------------------------------------------
  // Candidates and admission

  setSelf(address: string | undefined): void {
    this.selfOption = address;
    this.ownAddress();
  }

  addCandidate(address: string): CandidateOutcome {
    return this.candidate(address, this.ownAddress());
  }

  /** Queues many; returns those actually queued, canonical. Our own address is settled once for them all. */
  addCandidates(addresses: Iterable<string>): string[] {
    const own = this.ownAddress();
    const queued: string[] = [];
    for (const address of addresses) if (this.candidate(address, own) === 'queued') queued.push(this.canonical(address) as string);
    return queued;
  }

  /**
   * Queues the candidates of a peer's list, like addCandidates, and returns the list itself with
   * every address the table holds replaced by the table's own string of it (same text). A walk
   * keeps each list it fetched for a step or two: strings shared with the table cost nothing to
   * keep, where the reply's own copies would each outlive the garbage collector's young
   * generation and be copied out of it.
   */
  addPeerList(addresses: readonly string[]): string[] {
    const own = this.ownAddress();
    const kept: string[] = new Array<string>(addresses.length);
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i] as string;
      const known = this.keyOf.get(address);
      if (known !== undefined) kept[i] = known;
      else {
        this.candidate(address, own);
        kept[i] = address;
      }
    }
    return kept;
  }

  private candidate(address: string, own: string | undefined): CandidateOutcome {
    // Table keys are canonical and never our own address: a peer list names mostly known peers,
    // and this answers them without parsing the address.
    if (this.peers.has(address)) return 'known';
    const now = this.clock.now();
    const peer = this.canonical(address);
    if (peer === undefined) return 'invalid';
    if (peer === own) return 'self';
    if (this.peers.has(peer)) return 'known';
    if (this.blockedAt(peer, now)) return 'blocked';
    if (this.recent.has(peer, now)) return 'recent';
    if (this.pending.has(peer)) return 'pending';
    if (!this.policy.allows(peer)) return 'refused';
    const host = hostOf(peer);
    if ((this.pendingPerHost.get(host) ?? 0) >= this.limits.maxPendingPerHost) return 'host-full';
    if (this.hostFull(host)) return 'host-full';
    if (this.pending.size >= this.limits.maxPending) this.evictPending();
    this.pending.set(peer, now);
    this.pendingPerHost.set(host, (this.pendingPerHost.get(host) ?? 0) + 1);
    return 'queued';
  }

  /**
   * Takes up to `max` candidates to check, oldest first. Each is remembered as being checked for
   * checkMs, so it is not queued again meanwhile; admit() or refuse() settles it.
   */
  nextCandidates(max: number = DEFAULT_CANDIDATES_PER_ROUND): string[] {
    this.ownAddress();
    const taken: string[] = [];
    for (const peer of this.pending.keys()) {
      if (taken.length >= max) break;
      taken.push(peer);
    }
    for (const peer of taken) {
      this.dropPending(peer);
      this.remember(peer, 'checking', this.limits.checkMs);
    }
    return taken;
  }

  /**
   * Takes one pending candidate to check now (a caller's first contact), remembered as being
   * checked like those nextCandidates takes; undefined when it is not pending.
   */
  takeCandidate(address: string): string | undefined {
    this.ownAddress();
    const peer = this.canonical(address);
    if (peer === undefined || !this.pending.has(peer)) return undefined;
    this.dropPending(peer);
    this.remember(peer, 'checking', this.limits.checkMs);
    return peer;
  }

  /**
   * Admits a peer that answered `ping`. Returns true when it was added, false when it was known
   * already (its ping is refreshed). The successful ping counts as one ok sample: do not also
   * recordCall it. Throws, after remembering the refusal for refusalMs:
   * NETWORK_MISMATCH, VERSION_MISMATCH (a known non-seed peer is then removed, reason
   * "mismatch"), ADDRESS_REFUSED (own address, or refused by the policy), BLOCKED, or BUSY (the
   * table holds maxPeersPerHost of its host already, or is full and no unhealthy non-seed peer
   * can make room).
   */
  admit(address: string, ping: PingResult): boolean {
    const own = this.ownAddress();
    const now = this.clock.now();
    const peer = this.canonical(address);
    if (peer === undefined) throw new AtlasError(ErrorCodes.ADDRESS_REFUSED, 'not a peer address');
    if (peer === own) throw new AtlasError(ErrorCodes.ADDRESS_REFUSED, 'this is our own address', { peer });
    if (this.blockedAt(peer, now)) throw new AtlasError(ErrorCodes.BLOCKED, `${peer} is blocked`, { peer });
    const entry = this.peers.get(peer);
    if (ping.network !== this.network) {
      this.refuseAdmission(peer, entry, ErrorCodes.NETWORK_MISMATCH, `peer is on network ${JSON.stringify(ping.network)}, not ${JSON.stringify(this.network)}`);
    }
    if (!this.compatible(ping.protocol)) {
      this.refuseAdmission(peer, entry, ErrorCodes.VERSION_MISMATCH, `peer speaks protocol ${ping.protocol}`);
    }
    this.dropPending(peer);
    if (entry !== undefined) {
      entry.lastPing = ping;
      this.record(entry, true, now);
      this.recent.delete(peer);
      return false;
    }
    const verdict = this.policy.check(peer);
    if (!verdict.ok) this.refuseAdmission(peer, undefined, ErrorCodes.ADDRESS_REFUSED, `address refused: ${verdict.message}`);
    const host = hostOf(peer);
    if (this.hostFull(host)) this.refuseAdmission(peer, undefined, ErrorCodes.BUSY, `peer table holds ${this.limits.maxPeersPerHost} peers of host ${host} already`);
    if (this.peers.size >= this.limits.maxPeers) {
      const victim = this.replaceable(now);
      if (victim === undefined) this.refuseAdmission(peer, undefined, ErrorCodes.BUSY, 'peer table is full of healthy peers');
      this.removeEntry(victim, 'replaced');
    }
    const added = this.entry(peer, false, now);
    added.lastPing = ping;
    added.window.record(true, now);
    this.putEntry(added);
    this.live = undefined;
    this.recent.delete(peer);
    this.emit({ type: 'add', peer, seed: false });
    return true;
  }

  /** Remembers that `address` was refused (unreachable, mismatch...): it is not queued again for `durationMs`. */
  refuse(address: string, reason: string, durationMs: number = this.limits.refusalMs): void {
    const peer = this.canonical(address);
    if (peer === undefined) return;
    this.dropPending(peer);
    this.remember(peer, reason, durationMs);
  }

  // -------------------------------------------------------------------------------------------
  // Health

  /** Records one call's outcome; false when the peer is not in the table. */
  recordCall(address: string, ok: boolean): boolean {
    const entry = this.find(address);
    if (entry === undefined) return false;
    this.record(entry, ok, this.clock.now());
    return true;
  }

  /**
   * Removes non-seed peers with at least minSamplesForEviction samples and health below
   * minHealth, the least healthy first, at most maxEvictionsPerRound. Removed peers are not
   * queued again for refusalMs; one with an offence in the window is blocked for blockMs instead
   * (reason "penalised").
   */
  evictUnhealthy(now: number = this.clock.now()): PeerRemoval[] {
    this.ownAddress();
    const { minSamplesForEviction, minHealth, maxEvictionsPerRound, refusalMs } = this.limits;
    this.livePeerList(now);
    if (this.live?.unhealthyOthers === 0) return []; // every peer but seeds (never evicted) is healthy
    const unhealthy: { address: string; health: number }[] = [];
    for (const entry of this.peers.values()) {
      if (entry.seed || entry.window.samples(now) < minSamplesForEviction) continue;
      const health = entry.window.health(now);
      if (health < minHealth) unhealthy.push({ address: entry.address, health });
    }
    unhealthy.sort((a, b) => a.health - b.health);
    const since = now - this.limits.healthWindowMs;
    return unhealthy.slice(0, maxEvictionsPerRound).flatMap(({ address }) => {
      // Gone already: an earlier eviction of this round blocked its host whole (dropHost).
      const entry = this.peers.get(address);
      if (entry === undefined) return [];
      // Unhealthy because it misbehaved (its offences count as failures): blocked like a peer
      // penalised to the limit, or it would be back after refusalMs to misbehave again.
      if (entry.offences.some((time) => time >= since)) {
        return [this.blockCanonical(address, now + this.limits.blockMs, 'penalised') as PeerRemoval];
      }
      this.remember(address, 'unhealthy', refusalMs);
      return [this.removeEntry(address, 'unhealthy')];
    });
  }

  /**
   * A peer sent bad data (a lying reply, a chunk that does not hash to its address...): counts as
   * penaltySamples failed calls. At maxOffences offences within healthWindowMs a non-seed peer is
   * removed and blocked for blockMs; the removal is returned. `reason` is kept as lastOffence.
   * Chunks that do not hash to their address (HASH_MISMATCH) are maxOffences offences at once:
   * every honest peer checks what it serves, so they are proof, and once its claims to them are
   * refuted such a peer leaves nothing for audits to check, and would keep its place unblocked.
   */
  penalise(address: string, reason: string): PeerRemoval | undefined {
    const entry = this.find(address);
    if (entry === undefined) return undefined;
    const now = this.clock.now();
    for (let i = 0; i < this.limits.penaltySamples; i++) entry.window.record(false, now);
    this.live = undefined;
    const since = now - this.limits.healthWindowMs;
    entry.offences = entry.offences.filter((time) => time >= since);
    entry.offences.push(now);
    entry.lastOffence = reason;
    if (entry.offences.length > this.limits.maxOffences) entry.offences.shift();
    const proof = reason === ErrorCodes.HASH_MISMATCH;
    if (entry.seed || (!proof && entry.offences.length < this.limits.maxOffences)) return undefined;
    return this.blockCanonical(entry.address, now + this.limits.blockMs, 'penalised');
  }

  // -------------------------------------------------------------------------------------------
  // Blocklist and removal

  /**
   * Blocks an address (for good without `durationMs`): it is removed from the table (seeds
   * included: this is the host's explicit decision), from pending, and never queued or admitted
   * while blocked. Returns the removal when the peer was in the table.
   */
  block(address: string, durationMs?: number): PeerRemoval | undefined {
    this.ownAddress();
    const peer = this.canonical(address) ?? address;
    const until = durationMs === undefined ? Number.POSITIVE_INFINITY : this.clock.now() + durationMs;
    return this.blockCanonical(peer, until, 'blocked');
  }

  /** Lifts a block; a seed comes back into the table. */
  unblock(address: string): boolean {
    const peer = this.canonical(address) ?? address;
    const was = this.blocked.unblock(peer);
    this.ownAddress();
    return was;
  }

  isBlocked(address: string, now: number = this.clock.now()): boolean {
    this.ownAddress();
    return this.blockedAt(this.canonical(address) ?? address, now);
  }

  /** Removes a non-seed peer (seeds stay; block() one to drop it). */
  remove(address: string, reason: PeerRemoveReason = 'removed'): PeerRemoval | undefined {
    const entry = this.find(address);
    if (entry === undefined || entry.seed) return undefined;
    return this.removeEntry(entry.address, reason);
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private canonical(address: string): string | undefined {
    return typeof address === 'string' ? canonicalPeerAddress(address, this.policy.options.maxLength) : undefined;
  }

  private find(address: string): Entry | undefined {
    this.ownAddress();
    const known = this.peers.get(address); // a canonical key needs no parse
    if (known !== undefined) return known;
    const peer = this.canonical(address);
    return peer === undefined ? undefined : this.peers.get(peer);
  }

  /**
   * Brings derived state up to date before any use: our own address (when it changes it leaves
   * the table and the pending queue) and seeds whose block has expired (they come back).
   * Returns our own address, canonical.
   */
  private ownAddress(settle = true): string | undefined {
    const raw = typeof this.selfOption === 'function' ? this.selfOption() : this.selfOption;
    if (raw !== this.selfRaw) {
      this.selfRaw = raw;
      this.self = raw === undefined ? undefined : (this.canonical(raw) ?? raw);
      this.seedsMissing = true; // a seed that was our old address comes back
      if (settle && this.self !== undefined) {
        this.dropPending(this.self);
        if (this.peers.has(this.self)) this.removeEntry(this.self, 'self');
      }
    }
    if (settle) this.restoreSeeds();
    return this.self;
  }

  private restoreSeeds(): void {
    if (!this.seedsMissing) return;
    const now = this.clock.now();
    let missing = false;
    for (const seed of this.seedList) {
      if (seed === this.self || this.peers.has(seed)) continue;
      if (this.blockedAt(seed, now)) {
        missing = true; // back when the block expires
        continue;
      }
      this.putEntry(this.entry(seed, true, now));
      this.live = undefined;
      this.emit({ type: 'add', peer: seed, seed: true });
    }
    this.seedsMissing = missing;
  }

  /** Records a sample; the live list is cleared only when the peer crosses minHealth. */
  private record(entry: Entry, ok: boolean, now: number): void {
    const { minHealth } = this.limits;
    const wasLive = entry.window.health(now) >= minHealth;
    entry.window.record(ok, now);
    if (wasLive !== entry.window.health(now) >= minHealth) this.live = undefined;
  }

  /** Peers with health >= minHealth now, in table order (see `live`). */
  private livePeerList(now: number): readonly string[] {
    if (this.live !== undefined && now <= this.live.until) return this.live.peers;
    const peers: string[] = [];
    let until = Number.POSITIVE_INFINITY;
    let unhealthyOthers = 0;
    for (const entry of this.peers.values()) {
      if (entry.window.health(now) >= this.limits.minHealth) peers.push(entry.address);
      else if (!entry.seed) unhealthyOthers++;
      until = Math.min(until, entry.window.steadyUntil());
    }
    this.live = { peers, until, unhealthyOthers };
    return peers;
  }

  private entry(address: string, seed: boolean, now: number): Entry {
    const window = new HealthWindow({ windowMs: this.limits.healthWindowMs, maxSamples: this.limits.maxSamplesPerPeer });
    return { address, seed, addedAt: now, window, offences: [], lastOffence: undefined, lastPing: undefined };
  }

  private info(entry: Entry, now: number): PeerInfo {
    const since = now - this.limits.healthWindowMs;
    return {
      address: entry.address,
      seed: entry.seed,
      health: entry.window.health(now),
      samples: entry.window.samples(now),
      addedAt: entry.addedAt,
      offences: entry.offences.filter((time) => time >= since).length,
      lastOffence: entry.lastOffence,
      lastPing: entry.lastPing,
    };
  }

  private emit(change: PeerChange): void {
    this.onChange?.(change);
  }

  private putEntry(entry: Entry): void {
    this.peers.set(entry.address, entry);
    this.keyOf.set(entry.address, entry.address);
    const host = hostOf(entry.address);
    this.peersPerHost.set(host, (this.peersPerHost.get(host) ?? 0) + 1);
  }

  private removeEntry(address: string, reason: PeerRemoveReason): PeerRemoval {
    if (this.peers.get(address)?.seed === true) this.seedsMissing = true;
    if (this.peers.delete(address)) {
      const host = hostOf(address);
      const left = (this.peersPerHost.get(host) ?? 1) - 1;
      if (left > 0) this.peersPerHost.set(host, left);
      else this.peersPerHost.delete(host);
    }
    this.keyOf.delete(address);
    this.live = undefined;
    this.emit({ type: 'remove', peer: address, reason });
    return { peer: address, reason };
  }

  private refuseAdmission(peer: string, entry: Entry | undefined, code: ErrorCode, message: string): never {
    this.dropPending(peer);
    this.remember(peer, code, this.limits.refusalMs);
    if (entry !== undefined && !entry.seed) this.removeEntry(peer, 'mismatch');
    throw new AtlasError(code, message, { peer });
  }

  /** The least healthy non-seed peer below minHealth, which a new admission may replace. */
  private replaceable(now: number): string | undefined {
    let victim: string | undefined;
    let lowest = this.limits.minHealth;
    for (const entry of this.peers.values()) {
      if (entry.seed) continue;
      const health = entry.window.health(now);
      if (health < lowest) {
        lowest = health;
        victim = entry.address;
      }
    }
    return victim;
  }

  /** Whether the table holds maxPeersPerHost peers of `host` (a hostOf key) already; never for loopback unless perHostPeersOnLoopback. */
  private hostFull(host: string): boolean {
    if ((this.peersPerHost.get(host) ?? 0) < this.limits.maxPeersPerHost) return false;
    return this.limits.perHostPeersOnLoopback || !isLoopbackHost(host);
  }

  private evictPending(): void {
    const index = this.limits.pendingEviction === 'oldest' ? 0 : randomInt(this.random, this.pending.size);
    let i = 0;
    for (const peer of this.pending.keys()) {
      if (i++ === index) {
        this.dropPending(peer);
        return;
      }
    }
  }

  private dropPending(peer: string): void {
    if (!this.pending.delete(peer)) return;
    const host = hostOf(peer);
    const left = (this.pendingPerHost.get(host) ?? 1) - 1;
    if (left > 0) this.pendingPerHost.set(host, left);
    else this.pendingPerHost.delete(host);
  }

  /** The address's IP or network is blocked whole: its other peers there (seeds aside) leave the table, its candidates the queue. */
  private dropBlocked(except: string): void {
    const host = hostOf(except);
    const now = this.clock.now();
    const blocked = (address: string) => address !== except && hostOf(address) === host && this.blocked.isBlocked(address, now);
    for (const entry of [...this.peers.values()]) if (!entry.seed && blocked(entry.address)) this.removeEntry(entry.address, 'penalised');
    if (!this.pendingPerHost.has(host)) return;
    for (const candidate of [...this.pending.keys()]) if (blocked(candidate)) this.dropPending(candidate);
  }

  private remember(peer: string, reason: string, durationMs: number): void {
    const now = this.clock.now();
    this.recent.set(peer, now + durationMs, reason, now);
  }

  private blockedAt(peer: string, now: number): boolean {
    return this.blocked.isBlocked(peer, now);
  }

  private blockCanonical(peer: string, until: number, reason: PeerRemoveReason): PeerRemoval | undefined {
    if (reason !== 'penalised') this.blocked.block(peer, until);
    else {
      const scope = this.blocked.penalise(peer, until, this.clock.now());
      if (scope !== 'address') this.dropBlocked(peer);
    }
    this.dropPending(peer);
    this.recent.delete(peer);
    return this.peers.has(peer) ? this.removeEntry(peer, reason) : undefined;
  }
}

/**
 * Up to `max` items of `items` not in `excluded`, shuffled: a Fisher-Yates shuffle of them all,
 * then the first `max` (so a seeded random gives the same sample, draw for draw, as it always has).
 */
function sampleWithout(items: readonly string[], max: number, random: Random, excluded: readonly string[]): string[] {
  // Table keys are distinct: each excluded one is found (natively) and cut once, order kept.
  const kept = items.slice();
  for (const item of excluded) {
    const at = kept.indexOf(item);
    if (at >= 0) kept.splice(at, 1);
  }
  shuffle(kept, random);
  if (kept.length > max) kept.length = Math.max(0, max);
  return kept;
}

