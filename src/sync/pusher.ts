import { setMaxListeners } from 'node:events';
import { bitmaps, type ReadonlyBitmap } from '../inventory/bitmap.js';
import { encodePositions } from '../inventory/varint.js';
import { hostOf, MAX_ADDRESSES_PER_HOST } from '../peers/host-key.js';
import type { ProtocolClient } from '../protocol/client.js';
import type { Clock } from '../runtime.js';

/** How locally put chunks are pushed and offered to peers: target count, queue bounds, deadline and batch size (AtlasNode option `push`). */
export interface PusherOptions {
  /** Most peers pushed and offered to: active neighbours plus recent pullers. */
  maxTargets: number;
  /** Most positions waiting for one target; beyond it they wait for that peer's next pull. */
  maxPendingPerTarget: number;
  /** A puller that has not pulled for this long stops receiving offers. */
  pullerTtlMs: number;
  /** Offer and push calls' deadline. */
  timeoutMs: number;
  /** Chunk bytes waiting to be pushed to one target; beyond it the chunk is offered instead. */
  maxPushBytesPerTarget: number;
  /** Chunks per putChunks call (the protocol's maxPutChunks). */
  pushBatch: number;
  /** Most recent positions offered to a peer on first contact (so a new neighbour converges at once). */
  firstContactPositions: number;
  /**
   * Neighbours offered each batch of chunks stored from peers, besides the relay pullers, taken in
   * turn among those not known to hold it. Relays carry a chunk from the well-connected nodes to
   * those that pull them; this carries it the other way, toward the well-connected nodes.
   */
  neighborOffers: number;
}

/** Defaults of PusherOptions. */
export const DEFAULT_PUSHER: Readonly<PusherOptions> = Object.freeze({
  maxTargets: 64,
  maxPendingPerTarget: 4_096,
  pullerTtlMs: 120_000,
  timeoutMs: 5_000,
  maxPushBytesPerTarget: 1 << 20,
  pushBatch: 5,
  firstContactPositions: 4_096,
  neighborOffers: 1,
});

/** What a pusher works with: the two calls it makes, the clock, and what it reads of its owner. */
export interface PusherComponents {
  client: Pick<ProtocolClient, 'offer' | 'putChunks'>;
  clock: Clock;
  /** Our own address, once listening; nothing is sent before. */
  self: () => string | undefined;
  /**
   * What we know the peer holds (its inventory as we last read it; undefined: nothing). A
   * position it holds needs no offer; whether it holds a whole batch is one bitmap operation.
   */
  peerInventory: (peer: string) => ReadonlyBitmap | undefined;
  /** Our most recently gained positions, at most `max`: what a peer met for the first time hears of. */
  recent: (max: number) => ArrayLike<number>;
  /**
   * True for a peer admitted to our table. When the targets are full, such a relay may take the
   * place of a live relay that is not: strangers that took every slot first cannot keep the peers
   * we know out. Default: no peer is known (relays never displace each other).
   */
  isKnownPeer?: (peer: string) => boolean;
}

/** Tuning of the pusher's own work, not of what it sends (not part of PusherOptions). */
export interface PusherTuning {
  /**
   * From this many (position, neighbour) tests after a stored batch, each neighbour's inventory is
   * checked with one bitmap operation instead of a test a position. Measured in one process, 8
   * neighbours holding every position: 2.3-2.5 µs a batch against 2.8 for the tests at 8 positions
   * (64 tests), 2.1-2.4 against 1.4 at 4, 9.5-9.8 against 122 at 500.
   */
  bitmapCheckFrom: number;
}

const DEFAULT_TUNING: Readonly<PusherTuning> = Object.freeze({ bitmapCheckFrom: 64 });

/** A chunk stored locally (put by a client), to push as bytes. */
export interface PushChunk {
  data: Uint8Array;
  positions: readonly number[];
}

interface Target {
  pending: Set<number>;
  pushes: PushChunk[];
  pushBytes: number;
  sending: boolean;
  /** One of our neighbours: stays until removed. */
  neighbor: boolean;
  /** Pulls our changes until then (-Infinity: never pulled). */
  pullerUntil: number;
  /** The puller asked for offers (it chose us as one of its few relays). */
  relay: boolean;
  /** The host the per-host cap counts it in: a puller's connection's, else hostOf(peer) (kept so the cap does not parse every target per new puller). */
  host: string;
}

/** Pullers (not neighbours) kept from one host: a few nodes may share a machine. */
export const MAX_PULLERS_PER_HOST = MAX_ADDRESSES_PER_HOST;

/**
 * Push and offer. Chunks a client put here are pushed as bytes to every neighbour and puller that
 * lacks them (a peer behind NAT can only spread its data this way). Chunks that arrived from a
 * peer are only offered: to the pullers that asked for offers (each node asks a few of its
 * neighbours, its relays) and to `neighborOffers` of our neighbours in turn, so a new chunk costs
 * the network a few offers per node whatever the degree; the receiver fetches what it lacks from
 * one holder, so each chunk crosses a link about once. A peer met for the first time is offered our recent changes at once. One call in
 * flight per target; the rest queue (bounded) and coalesce.
 */
export class Pusher {
  private readonly options: PusherOptions & PusherTuning;
  private readonly targets = new Map<string, Target>();
  private readonly controller = new AbortController();
  /** Calls under way to every target, evicted ones included: at most maxTargets. */
  private inFlight = 0;
  /**
   * Calls under way to pullers by host, evicted ones included: at most MAX_PULLERS_PER_HOST. A
   * host naming a new port in each pull evicts its own oldest puller, but that puller's call goes
   * on to its deadline: counted by target alone, one host whose calls never answer would hold
   * every one of maxTargets.
   */
  private readonly pullerCallsByHost = new Map<string, number>();
  /** Where the next offer starts among the neighbours (see PusherOptions.neighborOffers). */
  private neighborTurn = 0;
  /** Offer calls made. */
  offersSent = 0;
  /** Chunks in push calls the peer answered. */
  chunksPushed = 0;
  /** Offer and push calls that failed (refused, timed out, or the peer's answer did not come). */
  failedCalls = 0;

  private readonly client: PusherComponents['client'];
  private readonly clock: Clock;
  private readonly self: PusherComponents['self'];
  private readonly peerInventory: PusherComponents['peerInventory'];
  private readonly recent: PusherComponents['recent'];
  private readonly isKnownPeer: (peer: string) => boolean;

  constructor(components: PusherComponents, options?: Partial<PusherOptions & PusherTuning>) {
    ({ client: this.client, clock: this.clock, self: this.self, peerInventory: this.peerInventory, recent: this.recent } = components);
    this.isKnownPeer = components.isKnownPeer ?? (() => false);
    this.options = { ...DEFAULT_PUSHER, ...DEFAULT_TUNING, ...options };
    // Every call listens here; inFlight keeps them to maxTargets.
    setMaxListeners(0, this.controller.signal);
  }

  /** A neighbour: pushed to until removed, offered our recent changes once. */
  addNeighbor(peer: string): void {
    const target = this.upsert(peer, true, true);
    if (target) target.neighbor = true;
  }

  /**
   * A peer that pulls our changes: pushed to until it stops pulling, and offered to if it asked
   * (it chose us as one of its relays). Returns whether it hears our offers from now on: a relay
   * is refused, never let in by evicting another live relay, when the targets are full, so that
   * it asks another of its neighbours (a popular node cannot offer to everyone who picks it, and
   * relays displacing each other at every pull would leave each without offers half the time).
   * A puller that asked for no offers takes a free slot only and is the first to give its slot up.
   * `host`: the host the call came from (its connection's), which the per-host cap counts in;
   * `peer`'s own host when not given. A host name in `peer` cannot be bound to the connection,
   * so only the connection's host keeps one machine from naming many.
   */
  addPuller(peer: string, relay = true, host: string = hostOf(peer)): boolean {
    const now = this.clock.now();
    if (!relay && !this.targets.has(peer) && this.targets.size >= this.options.maxTargets) return false;
    // A caller's port is its own word: one host keeps at most MAX_PULLERS_PER_HOST pullers, or it
    // could take every slot by naming ports. Which of them gives way: one that stopped pulling or
    // asked for no offers first, then the least recently pulled (the same host's relays included).
    // A puller calling from another host than before counts in that host's places too: a name
    // stated from two hosts in turn would otherwise move between them past both caps.
    const existing = this.targets.get(peer);
    if (existing === undefined || (!existing.neighbor && existing.host !== host)) {
      const sameHost = [...this.targets].filter(([other, t]) => other !== peer && !t.neighbor && t.host === host);
      if (sameHost.length >= MAX_PULLERS_PER_HOST) {
        const victim = evictable(sameHost, now, relay ? 'any' : 'none', this.isKnownPeer);
        if (victim === undefined) return false;
        this.targets.delete(victim);
      }
    }
    const target = this.upsert(peer, false, relay, host);
    if (!target) return false;
    if (!target.neighbor) target.host = host;
    target.pullerUntil = now + this.options.pullerTtlMs;
    target.relay = relay;
    return relay;
  }

  /** The peer is no longer our neighbour; it stays a target while it pulls. */
  removeNeighbor(peer: string): void {
    const target = this.targets.get(peer);
    if (!target) return;
    target.neighbor = false;
    if (target.pullerUntil < this.clock.now()) this.targets.delete(peer);
  }

  /** Positions newly stored from peers: offered to the pullers that asked for offers, and to neighborOffers neighbours in turn. */
  offer(positions: readonly number[] | Uint32Array): void {
    const self = this.self();
    if (self === undefined || positions.length === 0) return;
    const now = this.clock.now();
    const neighbors: [string, Target][] = [];
    for (const [peer, target] of this.liveTargets()) {
      if (target.relay && target.pullerUntil >= now) this.send(peer, target, positions, self);
      else if (target.neighbor) neighbors.push([peer, target]);
    }
    let left = this.options.neighborOffers;
    let next = this.neighborTurn;
    // Every neighbour may be tested (one holding all is passed over without using up an offer).
    const tests = left > 0 ? neighbors.length * positions.length : 0;
    const batch = tests >= this.options.bitmapCheckFrom ? bitmaps.create(positions) : undefined;
    try {
      for (let i = 0; i < neighbors.length && left > 0; i++) {
        const [peer, target] = neighbors[(this.neighborTurn + i) % neighbors.length] as [string, Target];
        if (this.holdsAll(peer, positions, batch)) continue;
        this.send(peer, target, positions, self);
        left--;
        next = this.neighborTurn + i + 1; // the turn goes on from the one after the last offered
      }
    } finally {
      bitmaps.release(batch);
    }
    this.neighborTurn = neighbors.length > 0 ? next % neighbors.length : 0;
  }

  /** Whether `peer` holds every one of `positions` (`batch`: the same as a bitmap, when made). */
  private holdsAll(peer: string, positions: ArrayLike<number>, batch?: ReadonlyBitmap): boolean {
    const inventory = this.peerInventory(peer);
    if (inventory === undefined) return positions.length === 0;
    if (batch !== undefined) return inventory.andCardinality(batch) === batch.size;
    for (let k = 0; k < positions.length; k++) if (!inventory.has(positions[k] as number)) return false;
    return true;
  }

  private send(peer: string, target: Target, positions: ArrayLike<number>, self: string): void {
    this.queueOffer(peer, target, positions);
    this.flush(peer, target, self);
  }

  push(chunks: readonly PushChunk[]): void {
    const self = this.self();
    if (self === undefined || chunks.length === 0) return;
    for (const [peer, target] of this.liveTargets()) {
      for (const chunk of chunks) {
        if (this.holdsAll(peer, chunk.positions)) continue;
        if (target.pushBytes + chunk.data.byteLength <= this.options.maxPushBytesPerTarget) {
          target.pushes.push(chunk);
          target.pushBytes += chunk.data.byteLength;
        } else {
          this.queueOffer(peer, target, chunk.positions);
        }
      }
      this.flush(peer, target, self);
    }
  }

  private *liveTargets(): Generator<[string, Target]> {
    const now = this.clock.now();
    for (const [peer, target] of this.targets) {
      if (!target.neighbor && target.pullerUntil < now) this.targets.delete(peer);
      else yield [peer, target];
    }
  }

  private queueOffer(peer: string, target: Target, positions: ArrayLike<number>): void {
    const inventory = this.peerInventory(peer);
    for (let k = 0; k < positions.length; k++) {
      const position = positions[k] as number;
      if (target.pending.size >= this.options.maxPendingPerTarget) break;
      if (inventory?.has(position) !== true) target.pending.add(position);
    }
  }

  stop(): void {
    this.controller.abort();
    this.targets.clear();
  }

  /**
   * Our sequence was rolled back to `length`: positions past it name other chunks now, or none.
   * Offers still queued for them are dropped (a peer would ask us for what we no longer hold
   * there and count our "don't have" as withholding); chunks queued to push keep their bytes,
   * which a peer checks against its own chain.
   */
  rolledBack(length: number): void {
    for (const target of this.targets.values()) {
      for (const position of target.pending) if (position >= length) target.pending.delete(position);
    }
  }

  /**
   * The target for `peer`, created (and, if it hears offers, offered our recent changes) on first
   * contact; undefined when full. `host`: the host its calls count in, set before that first offer.
   */
  private upsert(peer: string, neighbor: boolean, hearsOffers: boolean, host: string = hostOf(peer)): Target | undefined {
    const existing = this.targets.get(peer);
    if (existing) return existing;
    if (this.targets.size >= this.options.maxTargets) {
      // A neighbour of ours may displace any live relay (it hears so at its next pull), a relay we
      // know one we do not, a relay we do not know none.
      const mayEvict = neighbor ? 'any' : hearsOffers && this.isKnownPeer(peer) ? 'strangers' : 'none';
      const victim = evictable(this.targets, this.clock.now(), mayEvict, this.isKnownPeer);
      if (victim === undefined) return undefined;
      this.targets.delete(victim);
    }
    const target: Target = { pending: new Set(), pushes: [], pushBytes: 0, sending: false, neighbor, pullerUntil: -Infinity, relay: false, host };
    this.targets.set(peer, target);
    const self = this.self();
    if (self !== undefined && hearsOffers) {
      this.queueOffer(peer, target, this.recent(Math.min(this.options.firstContactPositions, this.options.maxPendingPerTarget)));
      this.flush(peer, target, self);
    }
    return target;
  }

  private flush(peer: string, target: Target, self: string): void {
    if (target.sending || this.inFlight >= this.options.maxTargets) return;
    // A neighbour is ours to pick; a puller's host is the caller's word, and capped.
    const cappedHost = target.neighbor ? undefined : target.host;
    if (cappedHost !== undefined && (this.pullerCallsByHost.get(cappedHost) ?? 0) >= MAX_PULLERS_PER_HOST) return;
    const options = { signal: this.controller.signal, timeoutMs: this.options.timeoutMs };
    let call: Promise<unknown>;
    if (target.pushes.length > 0) {
      const batch = target.pushes.splice(0, this.options.pushBatch);
      for (const chunk of batch) target.pushBytes -= chunk.data.byteLength;
      call = this.client.putChunks(peer, { chunks: batch.map((c) => c.data), from: self }, options).then(() => {
        this.chunksPushed += batch.length;
      });
    } else if (target.pending.size > 0) {
      const positions = Uint32Array.from(target.pending).sort();
      target.pending.clear();
      this.offersSent++;
      call = this.client.offer(peer, { from: self, added: encodePositions(positions) }, options);
    } else {
      return;
    }
    target.sending = true;
    this.inFlight++;
    if (cappedHost !== undefined) this.pullerCallsByHost.set(cappedHost, (this.pullerCallsByHost.get(cappedHost) ?? 0) + 1);
    call
      .catch(() => {
        this.failedCalls++; // push and offer are hints; the peer's next pull covers a lost one
      })
      .finally(() => {
        target.sending = false;
        this.inFlight--;
        if (cappedHost !== undefined) this.releaseHostCall(cappedHost);
        if (this.targets.get(peer) === target) this.flush(peer, target, self);
        this.flushWaiting(self);
      });
  }

  private releaseHostCall(host: string): void {
    const calls = (this.pullerCallsByHost.get(host) ?? 1) - 1;
    if (calls > 0) this.pullerCallsByHost.set(host, calls);
    else this.pullerCallsByHost.delete(host);
  }

  /** A call slot came free: the first target with work waiting takes it. */
  private flushWaiting(self: string): void {
    for (const [peer, target] of this.targets) {
      if (this.inFlight >= this.options.maxTargets) return;
      if (!target.sending && (target.pushes.length > 0 || target.pending.size > 0)) this.flush(peer, target, self);
    }
  }
}

/** Which live relays a new target may displace: any, only those not admitted to our table, or none. */
type RelayEviction = 'any' | 'strangers' | 'none';

/**
 * The target among `targets` that makes room for a new one: a puller that stopped pulling first,
 * then one that asked for no offers, the one closest to expiry among them; neighbours are never
 * displaced, and a live relay only as `mayEvictRelays` allows.
 */
function evictable(targets: Iterable<[string, Target]>, now: number, mayEvictRelays: RelayEviction, isKnownPeer: (peer: string) => boolean): string | undefined {
  let victim: string | undefined;
  let best = Infinity;
  for (const [id, t] of targets) {
    if (t.neighbor) continue;
    const live = t.pullerUntil >= now;
    if (live && t.relay && (mayEvictRelays === 'none' || (mayEvictRelays === 'strangers' && isKnownPeer(id)))) continue;
    const rank = live ? t.pullerUntil + (t.relay ? 1e15 : 0) : t.pullerUntil - 1e15;
    if (rank < best) [victim, best] = [id, rank];
  }
  return victim;
}
