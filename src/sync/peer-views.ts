import { ExpiringMap, type Random } from '../runtime.js';
import type { Inventory } from '../inventory/inventory.js';
import { DEFAULT_LIMITS, GET_ADDRESSES_UNADVERTISED } from '../protocol/limits.js';
import { DEFAULT_RELAYS, markHeldBy, newPeerView, roundTripOf, truncateView, type PeerView, type RefreshOutcome } from './peer-view.js';
import { RefutedClaims } from './refuted-claims.js';
import { readView, type ViewReadContext, type ViewWire } from './view-refresh.js';

/** What peer views work with: the two inventory calls, the protocol's bounds on replies, and our own address and sequence. */
export interface PeerViewsComponents extends ViewWire {
  /** Draws which tracked peer becomes a relay (default Math.random; the node passes its own). */
  random?: Random;
}

/** How many peers are viewed and how many of them are asked for offers. */
export interface PeerViewsOptions {
  /** Most peers viewed, tracked and known from offers alike (the replicator keeps 4 x its neighbours). */
  maxPeers: number;
  /** Tracked peers asked for offers; the others are only pulled. */
  relays: number;
}

/** Defaults of PeerViewsOptions. */
export const DEFAULT_PEER_VIEWS: Readonly<PeerViewsOptions> = Object.freeze({ maxPeers: 32, relays: DEFAULT_RELAYS });

/**
 * The least byte bound a peer's put-off replies are judged against: 16 chunks of maxChunkSize,
 * and never more than MIN_JUDGED_REPLY_BYTES (640 KiB, 16 chunks of the default 40 KiB), so that
 * a network of large chunks does not take an honest peer's default 4 MiB replies for withholding.
 * Nodes are told to keep their bound at 100 chunks or more; one that announces less is held to this.
 */
export const MIN_JUDGED_REPLY_CHUNKS = 16;
export const MIN_JUDGED_REPLY_BYTES = 640 * 1024;

/** The least byte bound a peer's put-off replies are judged against, for chunks of at most `maxChunkSize`. */
export function minJudgedReplyBytes(maxChunkSize: number): number {
  return Math.min(MIN_JUDGED_REPLY_BYTES, MIN_JUDGED_REPLY_CHUNKS * maxChunkSize);
}

/**
 * Our view of each tracked peer's inventory. A refresh asks for what changed since the version
 * we hold (inventoryChanges) and falls back to the whole vector, in byte ranges, only when the
 * peer's log no longer reaches back (or it restarted, or rolled back).
 */

export class PeerViews {
  private readonly views = new Map<string, PeerView>();
  /** Changes whenever the list neighbors() returns may have changed (a peer tracked or untracked). */
  neighborsVersion = 0;
  /**
   * Until when nothing in the views needs the periodic pass (Replicator.tick): no refresh due, no
   * offer-only view expiring, every relay in place. Set by that pass; any change of a view resets it.
   */
  private idleUntil = -Infinity;
  /** Peers that refused to be extra relays, until when (at most maxPeers, the oldest forgotten first). */
  private readonly refusedExtras: ExpiringMap<string>;
  /** Claims peers lost by sending corrupt bytes (refute). */
  private readonly refuted = new RefutedClaims();
  private readonly readContext: ViewReadContext;
  private readonly limits: PeerViewsComponents['limits'];
  private readonly localLength: PeerViewsComponents['localLength'];
  private readonly random: Random;
  private readonly maxPeers: number;
  private readonly relays: number;

  constructor(components: PeerViewsComponents, options?: Partial<PeerViewsOptions>) {
    ({ limits: this.limits, localLength: this.localLength } = components);
    this.random = components.random ?? Math.random;
    ({ maxPeers: this.maxPeers, relays: this.relays } = { ...DEFAULT_PEER_VIEWS, ...options });
    this.refusedExtras = new ExpiringMap(this.maxPeers);
    this.readContext = {
      ...components,
      isCurrent: (view) => this.views.get(view.peer) === view,
      dropExtra: (view) => this.dropExtra(view),
      refuted: (peer, now) => this.refuted.of(peer, now),
    };
  }

  get size(): number {
    return this.views.size;
  }

  /** Before this time the periodic pass would find nothing to do in the views (see idleUntil). */
  get quietUntil(): number {
    return this.idleUntil;
  }

  /** The periodic pass found nothing due before `until`: it may skip the views until then, or until a view changes. */
  quietTill(until: number): void {
    this.idleUntil = until;
  }

  private changed(): void {
    this.idleUntil = -Infinity;
  }

  has(peer: string): boolean {
    return this.views.has(peer);
  }

  get(peer: string): PeerView | undefined {
    return this.views.get(peer);
  }

  /**
   * Addresses to ask `peer` for in one getChunks call: at most `ours`, and at most what its
   * inventory replies say it answers (GET_ADDRESSES_UNADVERTISED for a peer not viewed, or
   * whose replies say nothing).
   */
  batchSize(peer: string, ours: number): number {
    return Math.min(ours, this.views.get(peer)?.maxGetAddresses ?? GET_ADDRESSES_UNADVERTISED);
  }

  /**
   * Whether a reply of `chunkBytes` chunk bytes from `peer` could have reached its byte bound, so
   * that putting addresses off (`later`) was honest: the next chunk, at most `maxChunkSize`,
   * would have taken it past the bound its inventory replies gave. That bound counts as at least
   * minJudgedReplyBytes: a peer announcing one byte would otherwise make every reply of one chunk
   * and "later" honest, holding request slots while it serves a chunk a request.
   */
  putOffHonest(peer: string, chunkBytes: number, maxChunkSize: number): boolean {
    const announced = this.views.get(peer)?.maxGetChunksBytes ?? DEFAULT_LIMITS.maxGetChunksBytes;
    return chunkBytes + maxChunkSize > Math.max(announced, minJudgedReplyBytes(maxChunkSize));
  }

  /** The shortest round trip of the last inventory calls timed to `peer` (roundTripOf), ms; undefined when none was (or it is not viewed). */
  roundTripMs(peer: string): number | undefined {
    const view = this.views.get(peer);
    return view === undefined ? undefined : roundTripOf(view);
  }

  /** A peer refused a call for asking too many addresses (it restarted with a lower limit): ask it the unadvertised size until an inventory reply says otherwise. */
  lowerBatchSize(peer: string): void {
    const view = this.views.get(peer);
    if (view) view.maxGetAddresses = GET_ADDRESSES_UNADVERTISED;
  }

  /** Whether getChunks addresses go to `peer` packed: its inventory replies said it reads them. */
  packsAddresses(peer: string): boolean {
    return this.views.get(peer)?.addressForm === 'packed';
  }

  /** A peer refused a packed request (it restarted as an older version, or says what it does not do): hex strings for as long as it is tracked. */
  stopPacking(peer: string): void {
    const view = this.views.get(peer);
    if (view) view.addressForm = 'refused';
  }

  /**
   * Starts tracking a peer (refreshed from now on); false when the bound is reached. `lastResort`:
   * ask it for offers only while no other tracked peer can take its place (see PeerView).
   */
  track(peer: string, options: { lastResort?: boolean } = {}): boolean {
    this.neighborsVersion++;
    this.changed();
    const existing = this.views.get(peer);
    if (existing && existing.passiveUntil === undefined) {
      existing.extra = false; // a relay we asked for offers has become our neighbour
      return true;
    }
    if (existing) this.views.delete(peer); // known from offers only: read it whole from now on
    else if (this.views.size >= this.maxPeers && !this.evictPassive()) return false;
    const lastResort = options.lastResort ?? false;
    let relay = this.relayCount() < this.relays;
    if (!relay && !lastResort) {
      // Take the place of an extra relay (no longer tracked: its slot at that peer expires) or of
      // a last-resort one (it says "no more offers" at its next pull).
      for (const other of this.views.values()) {
        if (other.relay && (other.extra || other.lastResort)) {
          if (other.extra) this.views.delete(other.peer);
          else other.relay = false;
          relay = true;
          break;
        }
      }
      if (!relay) relay = this.drawnAsRelay();
    }
    this.views.set(peer, { ...newPeerView(peer), relay, lastResort });
    return true;
  }

  /**
   * Whether a neighbour being tracked takes a relay's place: with probability relays / (the
   * neighbours that may relay, this one included), so that the relays stay a uniform draw among
   * them whatever order they came in (reservoir sampling). Nodes that start together all meet the
   * same few early nodes first; relays taken in arrival order made those everyone's relays, and
   * groups of them relaying to each other heard of a chunk seconds late. The relay replaced says
   * "no more offers" at our next pull of it.
   */
  private drawnAsRelay(): boolean {
    let eligible = 1;
    const relays: PeerView[] = [];
    for (const other of this.views.values()) {
      if (other.passiveUntil !== undefined || other.lastResort || other.extra) continue;
      eligible++;
      if (other.relay) relays.push(other);
    }
    if (relays.length === 0 || this.random() * eligible >= this.relays) return false;
    (relays[Math.floor(this.random() * relays.length)] as PeerView).relay = false;
    return true;
  }

  /**
   * Stops tracking a peer. When it was a relay, another tracked peer becomes one and is returned:
   * it should be pulled at once, so that it learns to offer to us.
   */
  untrack(peer: string, now = -Infinity): string | undefined {
    this.neighborsVersion++;
    this.changed();
    const view = this.views.get(peer);
    this.views.delete(peer);
    if (!view?.relay) return undefined;
    return this.promoteRelay(now);
  }

  /**
   * Asks more tracked peers for offers while fewer than `relays` are, skipping those that refused
   * us until `now`; returns the peers promoted (each should be pulled at once to hear of it).
   */
  topUpRelays(now: number): string[] {
    const promoted: string[] = [];
    while (this.relayCount() < this.relays) {
      const peer = this.promoteRelay(now);
      if (peer === undefined) break;
      promoted.push(peer);
    }
    return promoted;
  }

  /**
   * One more tracked peer becomes a relay, drawn at random among those that may (a last-resort one
   * only when no other can). Drawn, not the first tracked: every node taking its oldest neighbours
   * made a few early, well-known nodes everyone's relays, and nodes relaying to each other formed
   * closed groups that heard of a chunk only when one of them pulled it from outside (seconds
   * later, at 3,000 simulated nodes).
   */
  private promoteRelay(now: number): string | undefined {
    let promoted: PeerView | undefined;
    let seen = 0;
    for (const other of this.views.values()) {
      if (other.relay || other.passiveUntil !== undefined || other.refusedUntil > now) continue;
      if (promoted !== undefined && !promoted.lastResort && other.lastResort) continue;
      if (promoted?.lastResort === true && !other.lastResort) seen = 0; // a better kind: the draw starts over
      seen++;
      if (this.random() * seen < 1) promoted = other; // reservoir draw: each candidate kept with 1/seen
    }
    if (promoted) {
      promoted.relay = true;
      this.changed();
    }
    return promoted?.peer;
  }

  /**
   * Tracks a peer that is not our neighbour as one more relay (see PeerView.extra), when fewer
   * than `relays` tracked peers offer to us and there is room; false otherwise.
   */
  trackExtraRelay(peer: string, now: number): boolean {
    if (this.views.has(peer) || this.relayCount() >= this.relays || this.refusedExtras.has(peer, now)) return false;
    if (this.views.size >= this.maxPeers && !this.evictPassive()) return false;
    this.views.set(peer, { ...newPeerView(peer), relay: true, extra: true });
    this.changed();
    return true;
  }

  /** An extra relay that refused is no longer tracked, and not tried again for RELAY_REFUSED_MS. */
  private dropExtra(view: PeerView): void {
    this.changed();
    this.views.delete(view.peer);
    this.refusedExtras.set(view.peer, view.refusedUntil, true);
  }

  /**
   * Relays are missing because tracked peers refused to offer to us (their offer targets were
   * full), not merely because fewer peers than `relays` are tracked.
   */
  relaysRefused(now: number): boolean {
    if (this.relaysMissing() === 0) return false;
    for (const view of this.views.values()) if (!view.relay && view.passiveUntil === undefined && view.refusedUntil > now) return true;
    return false;
  }

  /** The tracked peer (not one known from offers only) read longest ago among those `eligible` accepts. */
  leastRecentlyRead(eligible: (peer: string) => boolean): string | undefined {
    let oldest: PeerView | undefined;
    for (const view of this.views.values()) {
      if (view.passiveUntil !== undefined || !eligible(view.peer)) continue;
      if (oldest === undefined || view.refreshedAt < oldest.refreshedAt) oldest = view;
    }
    return oldest?.peer;
  }

  /** Relays still wanted: fewer tracked peers than `relays` offer to us. */
  relaysMissing(): number {
    return Math.max(0, this.relays - this.relayCount());
  }

  /** A peer we do not track offered something: remember what it holds until `until`. */
  trackPassive(peer: string, until: number): boolean {
    this.changed();
    const existing = this.views.get(peer);
    if (existing) {
      if (existing.passiveUntil !== undefined) existing.passiveUntil = Math.max(existing.passiveUntil, until);
      return true;
    }
    if (this.views.size >= this.maxPeers && !this.evictPassive()) return false;
    // refreshedAt +Infinity: the round never refreshes it; its bits come from its offers.
    this.views.set(peer, { ...newPeerView(peer), refreshedAt: Infinity, passiveUntil: until });
    return true;
  }

  /** Something changed: the peer's view (or every view) is refreshed at the base period again. */
  wake(peer?: string): void {
    this.changed();
    if (peer === undefined) for (const view of this.views.values()) view.quietRefreshes = 0;
    else {
      const view = this.views.get(peer);
      if (view) view.quietRefreshes = 0;
    }
  }

  /** Drops the views known from offers only that expired. */
  expirePassive(now: number): void {
    for (const [peer, view] of this.views) {
      if (view.passiveUntil === undefined || view.passiveUntil >= now) continue;
      this.views.delete(peer);
      this.changed();
    }
  }

  private evictPassive(): boolean {
    let victim: PeerView | undefined;
    for (const view of this.views.values()) {
      if (view.passiveUntil !== undefined && (victim === undefined || view.passiveUntil < (victim.passiveUntil as number))) victim = view;
    }
    if (victim) {
      this.views.delete(victim.peer);
      this.changed();
    }
    return victim !== undefined;
  }

  private relayCount(): number {
    let n = 0;
    for (const view of this.views.values()) if (view.relay) n++;
    return n;
  }

  peers(): string[] {
    return [...this.views.keys()];
  }

  /** The neighbours tracked by refresh: every view but those known only from offers and extra relays. */
  neighbors(): string[] {
    const out: string[] = [];
    for (const [peer, view] of this.views) if (view.passiveUntil === undefined && !view.extra) out.push(peer);
    return out;
  }

  /** Peer id -> inventory, for the rarest-first planner. */
  inventories(): Map<string, Inventory> {
    const out = new Map<string, Inventory>();
    for (const [peer, view] of this.views) out.set(peer, view.inventory);
    return out;
  }

  /** An explicit "don't have" from the peer clears its bits (a timeout never does). */
  clear(peer: string, positions: readonly number[]): void {
    const view = this.views.get(peer);
    if (view) for (const position of positions) view.inventory.remove(position);
  }

  /**
   * The peer sent bytes for these positions that do not hash to their address: its claims to
   * them go, and are not believed again for `forMs` from `now` (refuted-claims.ts), even if its
   * view is dropped and made again meanwhile.
   */
  refute(peer: string, positions: readonly number[], now: number, forMs: number): void {
    this.refuted.refute(peer, positions, now, now + forMs);
    this.clear(peer, positions);
  }

  /** Our sequence was rolled back to `length`: what views and refutations say past it is dropped. */
  truncate(length: number): void {
    for (const view of this.views.values()) truncateView(view, length);
    this.refuted.truncate(length);
  }

  /** The peer told us (offer) it now holds these positions. Returns how many were new (see markHeldBy); its claims refuted before `now` for less than refutedClaimMs stay out. */
  markHeld(peer: string, positions: Uint32Array, now: number): number {
    const view = this.views.get(peer);
    return view ? markHeldBy(view, positions, this.localLength(), this.limits.maxInventoryChanges, this.refuted.of(peer, now)) : 0;
  }

  /**
   * Brings the view up to date: the changes since the version we hold, or the whole vector, then
   * (after a whole read) the changes made meanwhile, which also registers us for the peer's
   * offers at first contact rather than at the next refresh. `wholeRead(added)` is told as soon
   * as a whole vector is in, before that last round trip: what it holds can be planned from.
   */
  async refresh(peer: string, now: number, signal?: AbortSignal, wholeRead?: (added: number) => void): Promise<RefreshOutcome> {
    const view = this.views.get(peer);
    if (!view) return { bytes: 0, full: false, added: 0 };
    try {
      const outcome = await readView(this.readContext, view, now, signal, wholeRead);
      // A refresh that brought nothing makes the next one wait longer (quietRefreshPeriod).
      view.quietRefreshes = outcome.added > 0 || outcome.full || outcome.relayRefused === true ? 0 : view.quietRefreshes + 1;
      return outcome;
    } finally {
      this.changed(); // when it is next due moved, even if it failed halfway
    }
  }
}
