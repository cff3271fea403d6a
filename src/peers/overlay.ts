import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import type { ProtocolClient } from '../protocol/client.js';
import { classifyFailure } from '../protocol/faults.js';
import { ExpiringMap, randomInt, type Clock, type Logger, type Random } from '../runtime.js';
import type { AddressPolicyOptions } from './address-policy.js';
import type { Blocklist } from './blocklist.js';
import { hostOf, MAX_ADDRESSES_PER_HOST } from './host-key.js';
import { MhdaSampler } from './mhda.js';
import { NeighborSet } from './neighbors.js';
import { PeerTable, type PeerRemoveReason, type PeerTableLimits } from './table.js';
import { WalkPace, type WalkPaceOptions } from './walk-pace.js';

/** What admission reads of our announcement sequence, to compare it with a candidate's. */
export interface OverlaySequence {
  sequenceLength(): number;
  sequenceDigest(length: number): string;
}

export interface OverlayOptions {
  client: ProtocolClient;
  network: string;
  sequence: OverlaySequence;
  clock: Clock;
  random: Random;
  logger: Logger;
  neighbors: number;
  /** How often one neighbour is replaced by a fresh sample of the walk. */
  neighborRenewMs: number;
  /** How fast the walk goes, unsettled and settled (DEFAULT_WALK_PACE). */
  walk?: Partial<WalkPaceOptions>;
  seeds: readonly string[];
  self: () => string | undefined;
  signal: AbortSignal;
  /**
   * refusalMs also benches a neighbour that stalled chunk requests; `blocklist` is shared with the
   * outbound guard, so a peer the table blocks is never dialled.
   */
  table: { limits: Partial<PeerTableLimits> & Pick<PeerTableLimits, 'maxPeers' | 'maxPending' | 'refusalMs'>; addressPolicy: Partial<AddressPolicyOptions>; blocklist: Blocklist };
  events: {
    peerAdded(peer: string): void;
    peerRemoved(peer: string, reason: PeerRemoveReason): void;
    neighborAdded(peer: string): void;
    neighborRemoved(peer: string): void;
  };
}

/** Candidates pinged per round (SPEC §5.2). */
const ADMISSIONS_PER_ROUND = 10;
/** Refusals admit() throws after remembering them itself (BUSY: the table is full). */
const TABLE_REFUSALS = new Set<string>([ErrorCodes.NETWORK_MISMATCH, ErrorCodes.VERSION_MISMATCH, ErrorCodes.ADDRESS_REFUSED, ErrorCodes.BLOCKED, ErrorCodes.BUSY]);

/**
 * First-contact admission checks (each is one ping back to a caller): at most this many at a
 * time, at most CONTACT_CHECKS_PER_ROUND between two rounds, and at most CONTACT_CHECKS_PER_HOST
 * of them for one host (one IP, an IPv6 /64), so a flood of callers cannot turn us into a pinging
 * machine, nor one host calling from many ports take every check from the others.
 */
const CONTACT_CHECKS = 4;
const CONTACT_CHECKS_PER_ROUND = 10;
/** As many as one host may have candidates waiting: a few nodes may share a machine (or a NAT). */
const CONTACT_CHECKS_PER_HOST = MAX_ADDRESSES_PER_HOST;

/** Stallers remembered at most (each stays out of the neighbour set for refusalMs). */
const MAX_BENCHED = 1_024;

/**
 * The node's place in the peer graph: which peers it knows (PeerTable), how new ones are admitted
 * (a ping with the same network, a compatible version and the same sequence), and which K it
 * keeps as neighbours, drawn by the MHDA random walk and renewed one at a time.
 */
export class Overlay {
  private readonly table: PeerTable;
  private readonly sampler: MhdaSampler;
  private readonly active: NeighborSet;
  private readonly pace: WalkPace;
  private contactChecks = 0;
  private contactBudget = CONTACT_CHECKS_PER_ROUND;
  /** Host -> first-contact checks it had since the last round (at most CONTACT_CHECKS_PER_ROUND hosts). */
  private readonly contactsByHost = new Map<string, number>();
  /** Peers that stalled as neighbours, until they may be neighbours again (refusalMs later). */
  private readonly benched = new ExpiringMap<string>(MAX_BENCHED);

  constructor(private readonly options: OverlayOptions) {
    const { clock, random } = options;
    this.pace = new WalkPace(options.neighborRenewMs, clock.now(), options.walk);
    this.table = new PeerTable({
      ...options.table.limits,
      clock,
      random,
      network: options.network,
      seeds: options.seeds,
      self: options.self,
      policy: options.table.addressPolicy,
      blocklist: options.table.blocklist,
      onChange: (change) => {
        this.pace.changed(clock.now());
        if (change.type === 'add') options.events.peerAdded(change.peer);
        else {
          this.dropNeighbor(change.peer);
          options.events.peerRemoved(change.peer, change.reason);
        }
      },
    });
    this.active = new NeighborSet(options.neighbors, random);
    this.sampler = new MhdaSampler({
      neighbors: async (peer, opts) => {
        const self = options.self();
        const reply = await options.client.peers(peer, self ? { from: self } : {}, { signal: opts?.signal ?? options.signal });
        this.table.recordCall(peer, true);
        // The client refuses a reply naming a peer twice; with us and the peer itself taken out,
        // the list is what distinctLists promises, and the sampler need not check it again.
        return this.table.addPeerList(reply.peers.filter((p) => p !== self && p !== peer));
      },
      random,
      distinctLists: true,
      // A step then costs one peer-exchange call, not two or three (see WalkSamplerOptions).
      reuseLists: true,
      start: () => this.randomLivePeer() ?? options.seeds[randomInt(random, Math.max(1, options.seeds.length))] ?? '',
    });
    // The first renewal comes after a random part of the period: nodes started together (a
    // cluster, a simulation, a restart after an outage) would otherwise all renew at once, and
    // every relay the network has would change in the same round.
    this.pace.renewed(clock.now() - random() * options.neighborRenewMs);
  }

  /** Seeds are in the table from the start; report them like any other addition. */
  start(): void {
    for (const seed of this.table.seeds()) this.options.events.peerAdded(seed);
  }

  stop(): void {
    for (const peer of this.active.list()) this.dropNeighbor(peer);
  }

  peerCount(): number {
    return this.table.size;
  }

  pendingCount(): number {
    return this.table.pendingCount;
  }

  neighbors(): string[] {
    return this.active.list();
  }

  neighborCount(): number {
    return this.active.size;
  }

  isSeed(peer: string): boolean {
    return this.table.isSeed(peer);
  }

  isKnownPeer(peer: string): boolean {
    return this.table.has(peer);
  }

  health(peer: string): number {
    return this.table.health(peer);
  }

  candidate(address: string): void {
    if (address === this.options.self()) return;
    this.table.addCandidate(address);
  }

  /**
   * A peer called us from its own host (it pulls us, or offers to us): admit it now rather than
   * at the next round, so that two nodes that meet converge at once. Bounded (see
   * CONTACT_CHECKS); the rest wait for the round.
   */
  contact(address: string): void {
    if (address === this.options.self() || this.options.signal.aborted) return;
    const outcome = this.table.addCandidate(address);
    if (outcome !== 'queued' && outcome !== 'pending') return; // known, refused, blocked, being checked
    const host = hostOf(address);
    const checks = this.contactsByHost.get(host) ?? 0;
    // Over a bound it stays queued, and the round's admissions take it in turn.
    if (this.contactChecks >= CONTACT_CHECKS || this.contactBudget <= 0 || checks >= CONTACT_CHECKS_PER_HOST) return;
    const candidate = this.table.takeCandidate(address);
    if (candidate === undefined) return;
    this.contactsByHost.set(host, checks + 1);
    this.contactChecks++;
    this.contactBudget--;
    void this.check(candidate).finally(() => this.contactChecks--);
  }

  recordCall(peer: string, ok: boolean): void {
    this.table.recordCall(peer, ok);
  }

  penalise(peer: string, reason: string): void {
    this.table.penalise(peer, reason); // a removal is reported through onChange
  }

  /** A neighbour that stalls chunk requests leaves the set now, and is not chosen again for refusalMs. */
  dropStaller(peer: string): void {
    const now = this.options.clock.now();
    this.benched.set(peer, now + this.options.table.limits.refusalMs, true);
    this.pace.changed(now);
    this.dropNeighbor(peer);
  }

  /** Every known peer, healthiest first. */
  knownPeers(): string[] {
    return this.table
      .all()
      .sort((a, b) => b.health - a.health)
      .map((p) => p.address);
  }

  livePeers(max: number, exclude: string | undefined): string[] {
    return this.table.livePeers(max, this.options.random, exclude);
  }

  /** One maintenance round: admit, walk (at the pace WalkPace sets), keep K neighbours, renew one now and then, evict. */
  async round(): Promise<void> {
    this.contactBudget = CONTACT_CHECKS_PER_ROUND;
    // Cleared only when used: clearing a Map makes it a new table, even an empty one.
    if (this.contactsByHost.size > 0) this.contactsByHost.clear();
    // A settled node usually has no candidate to check and no step to take: it then awaits nothing.
    if (this.table.pendingCount > 0) await this.admitCandidates();
    if (this.table.size === 0 || this.options.signal.aborted) return;
    // A node without neighbours (just started) takes a seed neighbour before its walk's first
    // step (a seed not called yet counts as live): what the seed holds is read while the walk
    // goes on, one round trip sooner than after the step.
    if (this.active.size === 0) this.keepSeedNeighbor();
    const steps = this.pace.stepsDue(this.walkState());
    if (steps > 0) await this.walk(steps);
    if (this.options.signal.aborted) return;
    this.keepNeighbors();
    this.table.evictUnhealthy(); // removals are reported through onChange
  }

  private async admitCandidates(): Promise<void> {
    const candidates = this.table.nextCandidates(ADMISSIONS_PER_ROUND);
    await Promise.all(candidates.map((candidate) => this.check(candidate)));
  }

  /** Admission by ping: same network id, compatible version, same sequence at a common length. */
  private async check(candidate: string): Promise<void> {
    const { client, sequence, network } = this.options;
    try {
      const self = this.options.self();
      const askedLength = sequence.sequenceLength();
      const info = await client.ping(candidate, { network, sequenceLength: askedLength, ...(self ? { from: self } : {}) }, { signal: this.options.signal });
      // The digest must cover the common length we asked for, and match ours there.
      if (info.digestLength !== Math.min(askedLength, info.sequenceLength)) {
        throw new AtlasError(ErrorCodes.BAD_REPLY, `peer's digest covers ${info.digestLength} announcements, not the common length`);
      }
      if (info.digestLength > sequence.sequenceLength() || info.digest !== sequence.sequenceDigest(info.digestLength)) {
        throw new AtlasError(ErrorCodes.SEQUENCE_MISMATCH, `peer's sequence differs within the first ${info.digestLength} announcements`);
      }
      // Network id and protocol version are the table's to check: it remembers the refusal.
      this.table.admit(candidate, info); // throws the refusal; onChange reports the addition
    } catch (error) {
      if (classifyFailure(error, this.options.signal) === 'aborted') return;
      const reason = isAtlasError(error) ? error.code : ErrorCodes.UNREACHABLE;
      if (!isAtlasError(error) || !TABLE_REFUSALS.has(error.code)) this.table.refuse(candidate, reason);
      this.options.logger.debug('candidate refused', { peer: candidate, reason });
    }
  }

  /** Whether the walk has slowed down to what renewal needs (see WalkPace). */
  walkSettled(): boolean {
    return this.pace.settled(this.walkState());
  }

  private walkState(): { now: number; wantsNeighbors: boolean; burningIn: boolean } {
    return { now: this.options.clock.now(), wantsNeighbors: this.active.wanted > 0, burningIn: this.sampler.burningIn };
  }

  private async walk(steps: number): Promise<void> {
    for (let i = 0; i < steps && !this.options.signal.aborted; i++) {
      this.pace.stepped(1);
      try {
        await this.sampler.step({ signal: this.options.signal });
      } catch {
        return; // the sampler restarts by itself on the next step
      }
    }
  }

  private keepNeighbors(): void {
    const now = this.options.clock.now();
    // Every neighbour is in the table: a removal from the table drops it at once (onChange).
    if (this.active.wanted === 0 && this.pace.sinceRenewal(now) >= this.options.neighborRenewMs) {
      const victim = this.active.pickForRenewal();
      if (victim !== undefined) this.dropNeighbor(victim);
      this.pace.renewed(now);
    }
    this.keepSeedNeighbor();
    // Prefer the walk's current node (an unbiased sample); fill the rest at random meanwhile. The
    // walk stands at an address as a peer list spelt it ("a:080" for the table's "a:80"): the
    // neighbour is the table's peer, under the table's name, so it holds one slot and leaves the
    // set when the table removes it. A full set takes no sample: nothing to look up.
    const current = this.sampler.current;
    const sample = current === undefined || this.sampler.burningIn || this.active.wanted === 0 ? undefined : this.table.tableKey(current);
    // A seed the walk stands at is taken only when usable: the table never evicts a seed, so a
    // dead one would otherwise come back as an ordinary neighbour.
    if (sample !== undefined && !this.active.has(sample) && (this.table.isSeed(sample) ? this.seedUsable(sample, now) : !this.benched.has(sample, now))) {
      this.addNeighbor(sample);
    }
    for (let tries = 0; this.active.wanted > 0 && tries < this.active.k * 2; tries++) {
      const peer = this.randomLivePeer();
      if (peer === undefined) break;
      if (!this.active.has(peer) && !this.benched.has(peer, now)) this.addNeighbor(peer);
    }
  }

  /**
   * Eclipse resistance: while a seed is usable, one neighbour is a seed. Colluding peers whose
   * lists name only each other trap a random walk that enters their region, and renewal would
   * then hand them every neighbour slot in turn; a seed neighbour keeps a path to the network the
   * host trusts. The seed is drawn at random, so the load spreads over the seeds. A seed
   * neighbour that stops answering, or stalls chunk requests (benched), gives its slot up at
   * once, to another usable seed if there is one: kept, it would hold the place the guarantee
   * needs (seeds are never evicted for health).
   */
  private keepSeedNeighbor(): void {
    const now = this.options.clock.now();
    const seeds = this.table.seeds();
    // Most rounds end here, having asked the few seeds rather than every neighbour (isSeed parses
    // an address that is no seed): neighbours are table keys, canonical like the seeds.
    if (seeds.some((seed) => this.active.has(seed) && this.seedUsable(seed, now))) return;
    for (const failing of this.active.list().filter((peer) => this.table.isSeed(peer))) this.dropNeighbor(failing);
    const usable = seeds.filter((seed) => this.seedUsable(seed, now));
    if (usable.length === 0) return;
    const seed = usable[randomInt(this.options.random, usable.length)] as string;
    if (this.active.wanted === 0) {
      const victim = this.active.pickForRenewal();
      if (victim !== undefined) this.dropNeighbor(victim);
    }
    this.addNeighbor(seed);
  }

  /**
   * A seed may be a neighbour: in the table, not benched as a staller, and healthy or not called
   * lately (no samples: nothing says it is down).
   */
  private seedUsable(seed: string, now: number): boolean {
    return !this.benched.has(seed, now) && this.table.healthyOrUnsampled(seed);
  }

  private addNeighbor(peer: string): void {
    if (this.active.add(peer)) this.options.events.neighborAdded(peer);
  }

  private dropNeighbor(peer: string): void {
    if (this.active.remove(peer)) this.options.events.neighborRemoved(peer);
  }

  private randomLivePeer(): string | undefined {
    return this.table.livePeers(1, this.options.random, undefined)[0];
  }
}
