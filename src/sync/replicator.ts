/**
 * Replicator: the node's replication policy. It owns the peer views, downloader, auditor, pusher
 * and inventory change log, and decides what to do when a chunk is stored (push or offer), a peer
 * offers or pulls, a neighbour comes or goes, the chain grows or rolls back, a stored chunk turns
 * out corrupt, or a peer misbehaves. It reaches the rest of the node only through the narrow
 * interfaces of replicator-parts.ts, so tests drive it with in-memory fakes.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { bitmaps } from '../inventory/bitmap.js';
import { InventoryLog } from '../inventory/change-log.js';
import type { ReadonlyInventory } from '../inventory/inventory.js';
import { canonicalPeerAddress } from '../peers/address-policy.js';
import type { ClientScope } from '../protocol/client.js';
import { asAtlasError, classifyFailure } from '../protocol/faults.js';
import type { CorruptChunk } from '../store/verified-read.js';
import { Auditor } from './audit.js';
import { Downloader, type PeerFault } from './downloader.js';
import { EarlyContacts } from './early-contacts.js';
import { quietRefreshPeriod } from './peer-view.js';
import { PeerViews } from './peer-views.js';
import { Pusher } from './pusher.js';
import type { ReplicatorComponents, ReplicatorOptions, ReplicatorStats } from './replicator-parts.js';
import { storedOutcomes, type StoredChunks, type StoredOutcome } from './stored-chunks.js';

/** Positions remembered by the inventory log, for incremental refreshes. */
const INVENTORY_LOG_ENTRIES = 1 << 20;

/** Live peers sampled from the table when an extra relay is sought. */
const EXTRA_RELAY_SAMPLE = 8;

/** How long an offer from a peer we do not track keeps its positions fetchable from it. */
export const OFFERED_VIEW_MS = 60_000;

export type { ReplicatorComponents, ReplicatorEvents, ReplicatorOptions, ReplicatorPeers, ReplicatorStats, StoredChunks, StoredOutcome } from './replicator-parts.js';
export { storedOutcomes } from './stored-chunks.js';

export class Replicator {
  readonly views: PeerViews;
  readonly log: InventoryLog;
  private readonly downloader: Downloader;
  private readonly auditor: Auditor;
  private readonly pusher: Pusher;
  private readonly early: EarlyContacts;
  private readonly refreshing = new Set<string>();
  /** Peers to refresh once more when their refresh under way ends (at most the tracked views). */
  private readonly refreshAgain = new Set<string>();
  /** The replicator's calls, which stop() ends: its refreshes, downloads, audits and pushes. */
  private readonly lifetime: ClientScope;
  private readonly refreshMs: number;
  private readonly quietRefreshMs: number;
  private readonly relaylessRefreshMs: number;
  private lastRelaylessPull = -Infinity;
  private running = false;
  private inventoryBytesReceived = 0;
  private inventoryRefreshes = 0;

  constructor(
    private readonly components: ReplicatorComponents,
    options: ReplicatorOptions = {},
  ) {
    const { store, clock, random, peers, self, events } = components;
    this.lifetime = components.client.scope();
    const client = this.lifetime.client;
    this.refreshMs = options.inventoryRefreshMs ?? 15_000;
    this.early = new EarlyContacts(options.earlyContacts);
    this.quietRefreshMs = options.quietInventoryRefreshMs ?? 60_000;
    this.relaylessRefreshMs = options.relaylessRefreshMs ?? 2_000;
    this.log = new InventoryLog({ maxEntries: INVENTORY_LOG_ENTRIES, epoch: this.newEpoch() });
    this.views = new PeerViews({ client, limits: client.limits, self, localLength: () => store.sequenceLength(), random, now: () => clock.now() }, { maxPeers: Math.max(options.neighbors ?? 8, 1) * 4 });
    const calls = { store, views: this.views, client, clock, random };
    this.downloader = new Downloader({ ...calls, hooks: {
      stored: (outcomes, peer) => this.stored(outcomes, peer, 'offer'),
      called: (peer, ok) => {
        peers.recordCall(peer, ok);
        if (ok) this.auditor.served(peer);
      },
      fault: (peer, fault, error) => this.peerFault(peer, fault, error),
      reliability: (peer) => peers.health(peer),
      storeFailed: (error) => events.failed(error),
    } }, options.downloads);
    this.auditor = new Auditor({ ...calls, hooks: {
      called: (peer, ok) => peers.recordCall(peer, ok),
      fault: (peer, fault, error) => this.peerFault(peer, fault, error),
      health: (peer) => peers.health(peer),
      stalled: (peer) => peers.dropStaller(peer),
    } }, options.audit);
    this.pusher = new Pusher({
      client,
      clock,
      self,
      peerInventory: (peer) => this.views.get(peer)?.inventory.bitmap,
      recent: (max) => this.log.since(Math.max(this.log.oldestVersion, this.log.version - max)) ?? [],
      isKnownPeer: (peer) => peers.isKnownPeer(peer),
    }, options.push);
  }

  /** Refreshes run from now on (the node is listening). */
  start(): void {
    this.running = true;
  }

  stop(): void {
    this.running = false;
    this.lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'replicator stopped'));
    this.downloader.stop();
    this.auditor.stop();
    this.pusher.stop();
  }

  /** One periodic pass: drop expired offers, refresh stale views, plan downloads, run due audits. */
  tick(): void {
    const now = this.components.clock.now();
    // A settled node's views rarely need anything: the pass below says until when, and any
    // change of a view (a refresh ending, an offer, a neighbour change, a wake) calls it again.
    if (now >= this.views.quietUntil) this.tickViews(now);
    this.downloader.pump();
    this.auditor.run(this.lifetime.signal);
  }

  private tickViews(now: number): void {
    this.views.expirePassive(now);
    // Peers that refused to offer to us may have room again: the promoted ones are pulled now.
    const promoted = this.topUpRelays(now);
    for (const peer of promoted) void this.refreshView(peer, { again: true });
    let next = Infinity;
    for (const peer of this.views.peers()) {
      const view = this.views.get(peer);
      if (!view) continue;
      const period = quietRefreshPeriod(view.quietRefreshes, this.refreshMs, this.quietRefreshMs);
      if (now - view.refreshedAt >= period) {
        void this.refreshView(peer);
        next = -Infinity; // due until its refresh ends (which resets the views' quiet time anyway)
      } else next = Math.min(next, view.refreshedAt + period);
      if (view.passiveUntil !== undefined) next = Math.min(next, view.passiveUntil);
    }
    // While relays are missing every pass looks for one in the peer table, which the views do not see.
    if (this.views.relaysMissing() > 0) {
      if (this.views.relaysRefused(now)) this.pullWithoutRelays(now);
      return;
    }
    // 1 ms short of the earliest due time: the sum may round where the difference above does not.
    if (promoted.length === 0) this.views.quietTill(next - 1);
  }

  /**
   * Too few relays offer to us: we pull instead, one tracked peer (the least recently read) every
   * relaylessRefreshMs. Any neighbour holds a new chunk moments after it appears, so one is
   * enough: one call per period, not one per view.
   */
  private pullWithoutRelays(now: number): void {
    if (now - this.lastRelaylessPull < this.relaylessRefreshMs) return;
    const oldest = this.views.leastRecentlyRead((peer) => !this.refreshing.has(peer));
    if (oldest === undefined) return;
    this.lastRelaylessPull = now;
    void this.refreshView(oldest);
  }

  // --- the overlay's changes ------------------------------------------------------------------

  /** A peer was admitted: what it offered before, while we checked it, is taken now. */
  peerAdmitted(peer: string): void {
    const offered = this.early.take(peer, this.components.clock.now());
    if (offered !== undefined) this.acceptOffer(peer, offered);
  }

  neighborAdded(peer: string): void {
    this.views.track(peer, { lastResort: this.components.peers.isSeed(peer) });
    this.auditor.watch(peer, this.lifetime.signal);
    this.pusher.addNeighbor(peer);
    void this.refreshView(peer);
  }

  neighborRemoved(peer: string): void {
    const promoted = this.views.untrack(peer, this.components.clock.now());
    this.pusher.removeNeighbor(peer);
    // A new relay is pulled at once, so it starts offering to us now.
    if (promoted !== undefined) void this.refreshView(promoted, { again: true });
  }

  /**
   * The peer table removed `peer` (penalised, blocked, unhealthy, evicted): a view of it left
   * behind (known from its offers, or an extra relay; a neighbour's went with neighborRemoved) goes
   * now, so that it is asked for nothing more and the view's memory is freed.
   */
  peerRemoved(peer: string): void {
    if (this.views.has(peer)) this.neighborRemoved(peer);
  }

  // --- what callers tell us -------------------------------------------------------------------

  /**
   * A caller pulls our changes (`relay`: and wants our offers); returns whether it hears our
   * offers. `callerHost`: the host its call came from (transport/rate-limit.ts hostKey), which
   * per-host caps count it in; the address's own host when not given.
   */
  pulled(address: string, relay: boolean, callerHost?: string): boolean {
    const peer = canonicalPeerAddress(address);
    if (peer === undefined) return false;
    // The caller's own host (sender-bound): offering to it reflects nothing to a third party,
    // so it need not be in our table (which may be full) to hear our offers.
    const offering = this.pusher.addPuller(peer, relay, callerHost);
    if (!this.components.peers.isKnownPeer(peer)) this.components.peers.contact(peer);
    return offering;
  }

  /** A caller offers positions it holds; returns how many of them we want. `callerHost` as for pulled(). */
  offered(address: string, positions: Uint32Array, callerHost?: string): number {
    // Views are keyed by the table's canonical form; callers may write an address otherwise.
    const from = canonicalPeerAddress(address);
    if (from === undefined) return 0;
    if (!this.components.peers.isKnownPeer(from)) {
      this.early.offered(from, positions, this.components.clock.now(), callerHost); // replayed once admitted, which starts now
      this.components.peers.contact(from);
      return 0;
    }
    return this.acceptOffer(from, positions);
  }

  /**
   * Chunks a caller put to us. `pushedBy` names the peer that relayed them: they came from the
   * network, so neighbours are only offered them; without it the caller is their author (we may be
   * the first holder), so they are pushed on as bytes.
   */
  received(outcomes: readonly StoredOutcome[], pushedBy: string | undefined, remote: string): void {
    this.stored(storedOutcomes(outcomes), pushedBy ?? remote, pushedBy === undefined ? 'push' : 'offer');
  }

  /**
   * Every newly stored chunk passes here once. `relay` says how neighbours hear of it: a client's
   * put is pushed as bytes (we may be its only holder); a chunk from a peer is only offered.
   */
  stored(chunks: StoredChunks, from: string, relay: 'push' | 'offer'): void {
    const { positions } = chunks;
    this.log.record(positions);
    this.views.wake(); // the network is busy: every neighbour is refreshed at the base period again
    if (relay === 'push') this.pusher.push(this.verifiedPushes(chunks.outcomes()));
    else this.pusher.offer(positions);
    this.components.events.stored(chunks, from);
  }

  /** The chunks of a client's put, read back through the verified reader: every byte that leaves the node is checked, a push's too. */
  private verifiedPushes(outcomes: readonly StoredOutcome[]): { data: Uint8Array; positions: readonly number[] }[] {
    const chunks: { data: Uint8Array; positions: readonly number[] }[] = [];
    for (const outcome of outcomes) {
      const data = this.components.readVerified(outcome.address);
      if (data !== undefined) chunks.push({ data, positions: outcome.positions });
    }
    return chunks;
  }

  // --- the chain's and the store's changes ----------------------------------------------------

  /** The chain announced `count` positions from `from`. */
  appended(from: number, count: number): void {
    const { store } = this.components;
    // Chunks already held may have just been announced: their bits are new to peers.
    this.views.wake(); // new positions: every neighbour may soon hold them
    // One bitmap range read, not a lookup per position: a chain read whole appends a million.
    const held = store.inventory.positions(from, from + count);
    if (held.length > 0) {
      this.log.record(held);
      this.pusher.offer(held);
    }
    this.components.events.sequenceChanged(store.sequenceLength());
    this.downloader.inventoriesChanged(); // new positions to plan
  }

  /** Bits were removed: peers holding an old version must fetch the whole vector again. */
  rolledBack(length: number): void {
    this.log.reset(this.newEpoch());
    // What peers' views said past `length` was read against announcements that are gone.
    this.views.truncate(length);
    this.downloader.rolledBack(length);
    this.pusher.rolledBack(length);
    this.views.wake();
    this.components.logger.warn('chain rolled back', { length });
    this.components.events.sequenceChanged(length);
  }

  /**
   * A stored chunk was found corrupt and removed. Bits left our inventory, so peers must re-read
   * the whole vector (a new log epoch, as after a rollback) rather than keep asking us for it; the
   * downloader sees the gap and fetches the chunk again.
   */
  quarantined(chunk: CorruptChunk): void {
    this.components.logger.error('stored chunk failed its hash check: quarantined, fetching it again', { address: chunk.address, positions: chunk.positions.length });
    if (chunk.positions.length > 0) this.log.reset(this.newEpoch());
    this.views.wake();
    this.components.events.quarantined(chunk);
    this.downloader.inventoriesChanged();
  }

  /** A peer failed a call: a timeout makes it an audit suspect, bad data is penalised. */
  peerFault(peer: string, fault: PeerFault, error: AtlasError): void {
    this.components.logger.debug('peer fault', { peer, fault, code: error.code, message: error.message });
    if (classifyFailure(error) === 'slow') this.auditor.suspect(peer); // a staller is confirmed by audits
    if (fault === 'bad-data') this.components.peers.penalise(peer, error.code);
  }

  stats(): ReplicatorStats {
    return {
      downloads: { ...this.downloader.stats, inFlight: this.downloader.requestsInFlight },
      pushes: { offersSent: this.pusher.offersSent, chunksPushed: this.pusher.chunksPushed, failedCalls: this.pusher.failedCalls },
      audits: { ...this.auditor.stats },
      inventoryBytesReceived: this.inventoryBytesReceived,
      inventoryRefreshes: this.inventoryRefreshes,
    };
  }

  // --- internals ------------------------------------------------------------------------------

  /** Positions an admitted peer holds: fetched from it even when it is not our neighbour. */
  private acceptOffer(from: string, positions: Uint32Array): number {
    const { store, clock } = this.components;
    if (!this.views.has(from) && !this.views.trackPassive(from, clock.now() + OFFERED_VIEW_MS)) return 0;
    this.views.wake(from);
    // Positions past our sequence name nothing we could fetch (and 2^32 - 1 would overflow the view).
    const known = positionsBelow(positions, store.sequenceLength());
    const wanted = lackedCount(store.inventory, known);
    this.views.markHeld(from, known, clock.now());
    if (wanted > 0) this.downloader.inventoriesChanged();
    return wanted;
  }

  /**
   * Asks more tracked peers for offers while fewer than the wanted relays offer to us; when no
   * tracked peer can, one more peer of the table (not a neighbour) is tracked as an extra relay.
   * Returns the peers to pull now. One extra per call: a tick tries at most one new peer.
   */
  private topUpRelays(now: number): string[] {
    const promoted = this.views.topUpRelays(now);
    if (this.views.relaysMissing() === 0 || !this.running) return promoted;
    const self = this.components.self();
    for (const peer of this.components.peers.livePeers(EXTRA_RELAY_SAMPLE)) {
      if (peer === self || !this.views.trackExtraRelay(peer, now)) continue;
      promoted.push(peer);
      break;
    }
    return promoted;
  }

  /**
   * Brings one peer's view up to date; at most one refresh per peer at a time. `again`: when one
   * is under way, run another once it ends (it was sent before what this one must say, e.g. that
   * the peer is now our relay and should offer to us).
   */
  async refreshView(peer: string, options: { again?: boolean } = {}): Promise<void> {
    if (!this.running) return;
    if (this.refreshing.has(peer)) {
      if (options.again === true) this.refreshAgain.add(peer);
      return;
    }
    this.refreshing.add(peer);
    const { peers, logger, clock } = this.components;
    try {
      // A whole vector is planned from as soon as it is in (a new neighbour's, mostly: a catch-up's
      // first requests), not after the round trip for the changes made while it was read; the
      // plan is then made stale again only if those changes brought more.
      let plannedAdded = 0;
      const outcome = await this.views.refresh(peer, clock.now(), this.lifetime.signal, (added) => {
        plannedAdded = added;
        if (added > 0) this.downloader.inventoriesChanged();
      });
      this.inventoryBytesReceived += outcome.bytes;
      this.inventoryRefreshes++;
      this.components.events.inventoryRead(outcome.bytes);
      logger.debug('inventory refreshed', { peer, bytes: outcome.bytes, added: outcome.added });
      peers.recordCall(peer, true);
      if (outcome.added > plannedAdded) this.downloader.inventoriesChanged();
      // A neighbour with no room to offer to us: ask another (or, failing that, a peer of the
      // table) at once. A refusing extra relay is dropped by the views; the next tick seeks another.
      if (outcome.relayRefused && this.views.has(peer)) for (const promoted of this.topUpRelays(clock.now())) void this.refreshView(promoted, { again: true });
    } catch (error) {
      if (!this.running || classifyFailure(error, this.lifetime.signal) === 'aborted') return;
      // An extra relay that does not answer is given up; another is sought at the next tick.
      if (this.views.get(peer)?.extra) {
        const promoted = this.views.untrack(peer, clock.now());
        if (promoted !== undefined) void this.refreshView(promoted, { again: true });
      }
      const atlasError = asAtlasError(error);
      const fault = refreshFault(atlasError);
      this.peerFault(peer, fault, atlasError);
      // A malformed reply is penalised as bad data, not also counted as an unanswered call.
      if (fault === 'unresponsive') peers.recordCall(peer, false);
    } finally {
      this.refreshing.delete(peer);
      if (this.refreshAgain.delete(peer) && this.views.has(peer)) void this.refreshView(peer);
    }
  }

  /**
   * A new name for this run of the inventory log. The clock is part of it, so a node restarted
   * with the same seeded random (the simulator) still never reuses an epoch peers remember.
   */
  private newEpoch(): string {
    const { random, clock } = this.components;
    const noise = Array.from({ length: 6 }, () => Math.floor(random() * 256).toString(16).padStart(2, '0')).join('');
    return `${noise}${Math.floor(clock.now()).toString(36)}`;
  }
}

/** `positions` below `length`, in their order: `positions` itself when all are (an offer's usually are), else a copy of those. */
export function positionsBelow(positions: Uint32Array, length: number): Uint32Array {
  let below = 0;
  for (let k = 0; k < positions.length; k++) if ((positions[k] as number) < length) below++;
  return below === positions.length ? positions : positions.filter((p) => p < length);
}

/**
 * How many of `positions` (each counted as often as it is listed) `inventory` lacks. One bitmap
 * of them and one intersection count, not one lookup a position: an offer names up to 65,536,
 * and Inventory.has for each took about 19 ms. A list that repeats positions (offers joined while
 * their sender was checked, early-contacts.ts; at most a few thousand) is counted one by one.
 */
export function lackedCount(inventory: ReadonlyInventory, positions: Uint32Array): number {
  if (positions.length === 0) return 0;
  const offered = bitmaps.create(positions);
  try {
    if (offered.size === positions.length) return offered.size - inventory.bitmap.andCardinality(offered);
  } finally {
    bitmaps.release(offered);
  }
  let lacked = 0;
  for (let k = 0; k < positions.length; k++) if (!inventory.has(positions[k] as number)) lacked++;
  return lacked;
}

/**
 * A failed inventory refresh: a malformed reply is the peer's bad data, anything else (busy
 * included: a neighbour that will not answer one small call per period is of no use) unresponsiveness.
 */
export function refreshFault(error: AtlasError): PeerFault {
  return classifyFailure(error) === 'fault' ? 'bad-data' : 'unresponsive';
}
