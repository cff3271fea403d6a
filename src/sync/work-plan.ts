import { NO_CHUNK_ADDRESS, type Address } from '../address.js';
import { vouchForAddresses, type CheckedAddresses } from '../protocol/checked-addresses.js';
import { bitmaps, type Bitmap } from '../inventory/bitmap.js';
import { PositionBits } from '../inventory/position-bits.js';
import { planRarestFirst, type PlannedPosition } from '../inventory/rarest.js';
import type { Random } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import { Backoff, type BackoffOptions } from './backoff.js';
import { RepeatedInFlight } from './repeated-in-flight.js';
import type { PeerViews } from './peer-views.js';

export interface WorkPlanOptions {
  /** Positions planned at once; the plan is rarest-first within this window. */
  planWindow: number;
  /** Least time between two re-plans forced by changed peer inventories. */
  replanMs: number;
  backoff: BackoffOptions;
}

/** Batches a side plan holds for one idle peer. */
const SIDE_PLAN_BATCHES = 4;

/**
 * Holders at least this reliable are equals: one is drawn at random. Health alone must not pin a
 * holder, or a peer that answers every call and withholds chunks would win every draw.
 */
export const HEALTHY_HOLDER = 0.5;

/** Items looked at per take(), or slots × the largest batch when more (all it may fill); bounds the work when every holder is busy. */
const SCAN_LIMIT = 4_096;
/** Most positions spared the back-off after a failed request at once (WorkPlan.sparedFrom): a plan window's worth and more. */
const MAX_SPARED = 100_000;
/**
 * How long a position stays spared, ms: the back-off's ceiling (SPEC §6). One no other peer
 * claims any more is never planned again, so without it its entry stayed until the chunk was
 * stored, if ever, and peers failing requests for chunks nobody stores filled the map for good.
 */
const SPARED_MS = 600_000;

/**
 * One request's work: the addresses to ask, and the position each was planned at (same index).
 * The addresses come from the store's sequence and are never planned twice in one request, so
 * the request goes out without being checked again (checked-addresses.ts).
 */
export interface PlannedRequest {
  readonly addresses: CheckedAddresses;
  readonly positions: readonly number[];
  /** The holders each position was planned with (same index); undefined for a side plan's (one peer's own). */
  readonly holders: readonly (readonly string[] | undefined)[];
}

/** Requests to build: up to the peer's batch size of addresses for each peer. */
export type Batches = Map<string, PlannedRequest>;

/** A request being filled by take(). */
interface RequestDraft {
  /** The most addresses it may carry: batchSizeOf(peer), asked once per take, not per position scanned. */
  readonly limit: number;
  addresses: Address[];
  positions: number[];
  holders: (readonly string[] | undefined)[];
}
type Drafts = Map<string, RequestDraft>;

/** How many addresses one request to `peer` may carry (ours and the peer's bound together). */
export type BatchSizeOf = (peer: string) => number;

/**
 * What to fetch next, from whom. Plans rarest-first over a window of missing positions (bitmap
 * algebra excludes what is held, in flight or backing off, so nothing is looked up per skipped
 * position), then hands out batches per holder. Re-plans when the window runs short or when
 * peers' inventories changed (no more often than replanMs).
 */
export class WorkPlan {
  /** The current window; taken items become undefined, `head` skips the taken prefix. */
  private queue: (PlannedPosition | undefined)[] = [];
  private head = 0;
  private stale = false;
  private lastPlan = -Infinity;
  /** Per-peer side plans for peers the main window leaves idle (reversed: taken from the end). */
  private readonly sideQueues = new Map<string, number[]>();
  /** Positions in flight: asked for, not yet stored or given up. Checked and changed for every chunk, so not a roaring bitmap. */
  private readonly busyPositions = new PositionBits();
  /** Addresses in flight at positions that repeat (all, when the store cannot say). */
  private readonly busyRepeated = new RepeatedInFlight();
  /** Whether claimable()'s last position repeats, for claim(): asked of the store once (twice cost a catch-up 10% more CPU). */
  private claimableRepeats = true;
  /**
   * Positions announcing NO_CHUNK_ADDRESS (BNS revokes, transfers without a zone file), left out
   * of every plan: no data hashes to it, so a peer claiming them could only waste our requests.
   * Rebuilt when the store lists them in another array (the same one until they change).
   */
  private readonly noChunkPositions = bitmaps.create();
  private noChunkListed: readonly number[] | undefined;
  private readonly deferred = new Map<Address, number>(); // address -> position, while backing off
  private readonly deferredPositions = bitmaps.create();
  private readonly backoff: Backoff<Address>;
  /** Earliest time a deferred address may be due; nothing is scanned before it. */
  private nextDue = Infinity;
  /**
   * Positions a request failed as a whole, spared the back-off because other peers claim them,
   * with the peer that failed them: planned with the others only, and backed off if they fail
   * too, so two failing holders cannot hand a position to each other for ever. Until stored (seen
   * at the next plan), backed off, or SPARED_MS old; at most MAX_SPARED, the oldest giving way.
   */
  private readonly sparedFrom = new Map<number, { peer: string; until: number }>();

  constructor(
    private readonly store: Pick<ChunkStore, 'inventory' | 'addressAt' | 'positionsOf' | 'isRepeatedAt' | 'packedAddressesAt'>,
    private readonly views: PeerViews,
    private readonly random: Random,
    private readonly options: WorkPlanOptions,
  ) {
    this.backoff = new Backoff(options.backoff, random);
  }

  /** Positions spared the back-off after a failed request and not yet stored or backed off (at most MAX_SPARED). */
  get sparedCount(): number {
    return this.sparedFrom.size;
  }

  /** Peers' inventories changed: the next take() may re-plan. */
  markStale(): void {
    this.stale = true;
  }

  /**
   * Up to `slots` new batches, each of at most `batchSizeOf(peer)` addresses (`batchSize` is the
   * largest: it sizes the window's refill and the scan). `canOpen(peer)` says whether a new request to that
   * peer is allowed; a holder is drawn at random among the healthy ones (reliability >=
   * HEALTHY_HOLDER), else the most reliable wins.
   */
  take(slots: number, batchSize: number, now: number, canOpen: (peer: string) => boolean, reliability: (peer: string) => number, batchSizeOf: BatchSizeOf = () => batchSize): Batches {
    if (slots <= 0) return new Map();
    this.releaseExpired(now);
    const remaining = this.queue.length - this.head;
    if (remaining < slots * batchSize || (this.stale && now - this.lastPlan >= this.options.replanMs)) this.replan(now);
    // The window's scan is a method of its own: take() re-plans rarely (every few dozen batches),
    // and optimised code reaching that branch for the first time is thrown away and compiled
    // again; here only this small function is, not the scan with all it inlines.
    const batches: Drafts = new Map();
    const openable = this.takeFromWindow(batches, slots, now, canOpen, reliability, batchSizeOf, Math.max(SCAN_LIMIT, slots * batchSize));
    if (batches.size < slots && openable > 0) this.fillIdlePeers(batches, slots, batchSizeOf, now, canOpen);
    const planned: Batches = new Map();
    for (const [peer, { addresses, positions, holders }] of batches) {
      planned.set(peer, { addresses: vouchForAddresses(addresses, this.store.packedAddressesAt?.(positions)), positions, holders });
    }
    return planned;
  }

  /** Fills `batches` from the window, rarest first; answers how many peers could still take a new request. */
  private takeFromWindow(batches: Drafts, slots: number, now: number, canOpen: (peer: string) => boolean, reliability: (peer: string) => number, batchSizeOf: BatchSizeOf, scanLimit: number): number {
    const own = this.store.inventory;
    const queue = this.queue;
    let openable = this.views.peers().filter(canOpen).length;
    let scanned = 0;
    for (let i = this.head; i < queue.length && scanned < scanLimit; i++, scanned++) {
      const item = queue[i];
      if (item === undefined) continue;
      const { position } = item;
      if (own.has(position) || this.busyPositions.has(position) || this.isDeferred(position)) {
        queue[i] = undefined;
        continue;
      }
      const failedBy = this.sparedFrom.size > 0 ? this.sparedFrom.get(position)?.peer : undefined;
      const holder = this.pickHolder(item.holders, failedBy, batches, slots, canOpen, reliability);
      if (holder === undefined) {
        if (!item.holders.some((peer) => peer !== failedBy && this.views.has(peer))) {
          queue[i] = undefined;
          // Only the peer that failed it still claims it: it waits out a back-off, then goes to that peer again.
          if (failedBy !== undefined) this.backOffSpared(position, now);
        } else if (openable === 0 && allFull(batches)) break; // every holder is busy
        continue;
      }
      queue[i] = undefined;
      const address = this.claimable(position, now);
      if (address === undefined) continue;
      let batch = batches.get(holder);
      if (!batch) {
        batches.set(holder, (batch = { limit: batchSizeOf(holder), addresses: [], positions: [], holders: [] }));
        openable--;
      }
      this.claim(batch, address, position, item.holders);
      if (batches.size >= slots && allFull(batches)) break;
    }
    while (this.head < queue.length && queue[this.head] === undefined) this.head++;
    return openable;
  }

  /**
   * Rarest-first puts positions that only one busy peer holds at the front of the window, and the
   * scan may never reach what an idle peer could serve. Each idle peer then gets a side plan of its
   * own (rarest first among what it holds), so no peer waits while another is saturated.
   */
  private fillIdlePeers(batches: Drafts, slots: number, batchSizeOf: BatchSizeOf, now: number, canOpen: (peer: string) => boolean): void {
    const own = this.store.inventory;
    for (const peer of this.views.peers()) {
      if (batches.size >= slots) return;
      if (batches.has(peer) || !canOpen(peer)) continue;
      const limit = batchSizeOf(peer);
      let side = this.sideQueues.get(peer);
      if (side === undefined || side.length === 0) {
        const view = this.views.get(peer);
        if (!view) continue;
        const exclude = this.excluded();
        side = planRarestFirst({ own, peers: new Map([[peer, view.inventory]]), exclude, random: this.random, limit: limit * SIDE_PLAN_BATCHES })
          .map((item) => item.position)
          .reverse();
        bitmaps.release(exclude);
        this.sideQueues.set(peer, side);
      }
      const batch: RequestDraft = { limit, addresses: [], positions: [], holders: [] };
      while (batch.addresses.length < limit && side.length > 0) {
        const position = side.pop() as number;
        if (own.has(position) || this.busyPositions.has(position) || this.isDeferred(position)) continue;
        if (this.sparedFrom.size > 0 && this.sparedFrom.get(position)?.peer === peer) continue;
        const address = this.claimable(position, now);
        if (address !== undefined) this.claim(batch, address, position, undefined);
      }
      if (batch.addresses.length > 0) batches.set(peer, batch);
    }
  }

  /**
   * The address at a free position, unless it names no chunk, backs off or is in flight at another
   * position: by address only for positions that repeat (busyRepeated), so no map is asked per
   * chunk while none is in flight. One claimed while announced once was claimed at its first
   * position, which an append leaves first: announced again meanwhile, it is still asked once.
   */
  private claimable(position: number, now: number): Address | undefined {
    const address = this.store.addressAt(position);
    if (address === undefined || address === NO_CHUNK_ADDRESS || this.backoff.blocked(address, now)) return undefined;
    if (this.busyRepeated.has(address)) return undefined;
    const repeats = this.store.isRepeatedAt?.(position);
    this.claimableRepeats = repeats ?? true;
    const first = repeats === true ? this.store.positionsOf(address)[0] : undefined;
    if (first !== undefined && first !== position && this.busyPositions.has(first)) return undefined;
    return address;
  }

  private claim(request: RequestDraft, address: Address, position: number, holders: readonly string[] | undefined): void {
    request.addresses.push(address);
    request.positions.push(position);
    request.holders.push(holders);
    this.busyPositions.add(position);
    if (this.claimableRepeats) this.busyRepeated.add(address, position);
  }

  /** Marks `position` no longer in flight, and uncounts its address if claim counted it there (busyRepeated). */
  private unclaim(position: number): void {
    this.busyPositions.remove(position);
    this.busyRepeated.remove(position);
  }

  /**
   * The request ended (stored, refused or failed), or its addresses go to other holders (hedged):
   * its positions are free to plan again. `requeue`: the indices of those to plan again at once,
   * ahead of the window, instead of at the next plan (a busy or slow peer's, those a reply put off,
   * those a peer sent corrupt, a failed request's that others hold), with the holders that still
   * claim them, `without` one (the peer that failed them). Only positions planned with their
   * holders are; a side plan's wait for the next plan.
   */
  release(request: PlannedRequest, requeue?: 'all' | readonly number[], without?: string): void {
    // Indexed loops on the per-chunk paths: until V8 has compiled them, for-of makes an iterator result a position.
    const { positions } = request;
    for (let i = 0; i < positions.length; i++) this.unclaim(positions[i] as number);
    if (requeue === undefined) return;
    const again: PlannedPosition[] = [];
    const add = (i: number) => {
      const holders = request.holders[i];
      const position = request.positions[i] as number;
      if (holders === undefined) return;
      const claiming = holders.filter((peer) => peer !== without && this.views.get(peer)?.inventory.has(position) === true);
      if (claiming.length > 0) again.push({ position, holders: claiming });
    };
    if (requeue === 'all') for (let i = 0; i < request.positions.length; i++) add(i);
    else for (const i of requeue) add(i);
    if (again.length > 0) this.queue.splice(this.head, 0, ...again);
  }

  /**
   * Our sequence was rolled back to `length`: the window's holders were read against announcements
   * that are gone, so it is planned afresh, and positions past `length` no longer wait out the
   * back-off of the address that was announced there.
   */
  truncate(length: number): void {
    this.noChunkListed = undefined;
    this.sparedFrom.clear();
    this.queue.length = 0;
    this.head = 0;
    this.sideQueues.clear();
    for (const [address, position] of this.deferred) {
      if (position < length) continue;
      this.deferred.delete(address);
      this.deferredPositions.remove(position);
    }
  }

  succeed(address: Address): void {
    this.backoff.succeed(address);
  }

  /**
   * Backs off the addresses of a request that `failing` failed as a whole, each where it was
   * planned: those no other peer claims, and those failed before by another peer (sparedFrom).
   * The rest are spared: the caller releases them to the other holders (`release(request, 'all',
   * failing)`; a side plan's, to the next plan), and they are not planned with `failing` again.
   * (A write our store refuses backs nothing off: the downloader pauses instead.)
   */
  failRequest(request: PlannedRequest, now: number, failing: string): void {
    const { addresses, positions, holders } = request;
    let everyPeer: readonly string[] | undefined;
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i] as Address;
      const position = positions[i] as number;
      if (!this.sparedFrom.has(position)) {
        const others = holders[i] ?? (everyPeer ??= this.views.peers());
        if (others.some((peer) => peer !== failing && this.views.get(peer)?.inventory.has(position) === true)) {
          if (this.sparedFrom.size >= MAX_SPARED) this.sparedFrom.delete(this.sparedFrom.keys().next().value as number);
          this.sparedFrom.set(position, { peer: failing, until: now + SPARED_MS });
          continue;
        }
      }
      this.fail(address, now, position);
    }
  }

  /** A spared position no other holder claims any more backs off after all (see sparedFrom). */
  private backOffSpared(position: number, now: number): void {
    const address = this.store.addressAt(position);
    if (address === undefined) this.sparedFrom.delete(position);
    else this.fail(address, now, position);
  }

  /**
   * Backs the address off: min(max, base * 2^n + jitter) before it is planned again. `position`:
   * where it was planned, when known; a position a rollback has given another address since (a
   * reply that arrived after it) is not held back for this one's failure.
   */
  fail(address: Address, now: number, position?: number): void {
    this.nextDue = Math.min(this.nextDue, this.backoff.fail(address, now));
    if (position !== undefined && this.store.addressAt(position) !== address) position = undefined;
    position ??= this.store.positionsOf(address)[0];
    if (position === undefined) return;
    // An address waits at one position (its back-off keeps every other out of plans): one it
    // waited at before leaves the bitmap, or nothing would ever release it there.
    const before = this.deferred.get(address);
    if (before !== undefined && before !== position) this.deferredPositions.remove(before);
    this.deferred.set(address, position);
    this.deferredPositions.add(position);
    if (this.sparedFrom.size > 0) this.sparedFrom.delete(position);
  }

  /** When the earliest backed-off address may be tried again; undefined when none waits. */
  nextRelease(): number | undefined {
    return this.deferred.size === 0 ? undefined : this.nextDue;
  }

  /** Whether the position waits out a back-off (no bitmap is asked while nothing backs off). */
  private isDeferred(position: number): boolean {
    return this.deferred.size > 0 && this.deferredPositions.has(position);
  }

  private releaseExpired(now: number): void {
    if (now < this.nextDue) return;
    this.nextDue = Infinity;
    for (const [address, position] of this.deferred) {
      if (this.backoff.blocked(address, now)) {
        this.nextDue = Math.min(this.nextDue, this.backoff.releaseAt(address));
        continue;
      }
      this.deferred.delete(address);
      this.deferredPositions.remove(position);
    }
  }

  private replan(now: number): void {
    this.stale = false;
    this.sideQueues.clear();
    this.lastPlan = now;
    // Stored meanwhile, by whatever way (a request, a source's backfill, a hedged request's late
    // reply, fetchChunks): no longer spared from anyone. A plan is the one place this is checked.
    // Past SPARED_MS too: one no other peer claims is never planned again to be backed off.
    if (this.sparedFrom.size > 0) {
      for (const [position, { until }] of this.sparedFrom) if (until <= now || this.store.inventory.has(position)) this.sparedFrom.delete(position);
    }
    const exclude = this.excluded();
    const planned = planRarestFirst({ own: this.store.inventory, peers: this.views.inventories(), exclude, random: this.random, limit: this.options.planWindow });
    bitmaps.release(exclude);
    // An empty plan empties the window in place: a new empty array is of another elements kind
    // than a plan's, and the scan compiled for plans would be thrown away at the end of a catch-up.
    if (planned.length > 0) this.queue = planned;
    else this.queue.length = 0;
    this.head = 0;
  }

  /** What a plan leaves out: positions in flight, backing off or naming no chunk (a new bitmap: release it). */
  private excluded(): Bitmap {
    const exclude = this.busyPositions.toBitmap();
    exclude.orInPlace(this.deferredPositions);
    const listed = this.store.positionsOf(NO_CHUNK_ADDRESS);
    if (listed.length === 0) return exclude; // none announced (positionsOf answers a new empty list each time)
    if (listed !== this.noChunkListed) {
      this.noChunkPositions.clear();
      this.noChunkPositions.addMany(listed);
      this.noChunkListed = listed;
    }
    exclude.orInPlace(this.noChunkPositions);
    return exclude;
  }

  /** The holder to ask for a position: a started request's first, else a healthy one at random, else the most reliable; never `failedBy`. */
  private pickHolder(
    holders: readonly string[],
    failedBy: string | undefined,
    batches: Drafts,
    slots: number,
    canOpen: (peer: string) => boolean,
    reliability: (peer: string) => number,
  ): string | undefined {
    let best: string | undefined;
    let bestScore = -Infinity;
    for (let i = 0; i < holders.length; i++) {
      const peer = holders[i] as string;
      if (peer === failedBy || !this.views.has(peer)) continue;
      const open = batches.get(peer);
      if (open) {
        if (open.addresses.length < open.limit) return peer; // fill a started request first
        continue;
      }
      if (batches.size >= slots || !canOpen(peer)) continue;
      // Healthy holders all score 1 + noise: a uniform draw among them; the others rank below.
      const health = reliability(peer);
      const score = (health >= HEALTHY_HOLDER ? 1 : health) + this.random() * 1e-6;
      if (score > bestScore) {
        best = peer;
        bestScore = score;
      }
    }
    return best;
  }
}

function allFull(batches: Drafts): boolean {
  for (const batch of batches.values()) if (batch.addresses.length < batch.limit) return false;
  return true;
}
