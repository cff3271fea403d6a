/**
 * Bringing one peer view up to date over the wire: the changes since the version we hold, or the
 * whole vector, then (after a whole read) the changes made meanwhile. PeerViews (peer-views.ts)
 * decides when, and owns the views; this module only reads.
 */
import type { ReadonlyBitmap } from '../inventory/bitmap.js';
import type { Inventory } from '../inventory/inventory.js';
import { decodePositions } from '../inventory/varint.js';
import type { ProtocolClient } from '../protocol/client.js';
import type { ProtocolLimits } from '../protocol/limits.js';
import type { InventoryChangesParams } from '../protocol/messages.js';
import { readServingBounds, readTail, readWhole, RELAY_REFUSED_MS, ROUND_TRIP_SAMPLES, truncateView, type PeerView, type RefreshOutcome } from './peer-view.js';

/** The two inventory calls, the protocol's bounds on replies, and our own address and sequence. */
export interface ViewWire {
  client: Pick<ProtocolClient, 'inventory' | 'inventoryChanges'>;
  limits: Pick<ProtocolLimits, 'maxInventoryBytes' | 'maxInventoryChanges'>;
  /** Our own address, once listening: sent with each changes request so the peer offers to us. */
  self: () => string | undefined;
  /** Our own sequence length: a view never covers more, whatever length a peer claims. */
  localLength: () => number;
  /** The clock's time, ms: inventory calls are timed by it (PeerView.recentRoundTrips). Absent: none is. */
  now?: () => number;
}

/** What a read needs: the wire, and the views around it. */
export interface ViewReadContext extends ViewWire {
  /** Whether `view` is still the one tracked for its peer (it may be dropped during a read). */
  isCurrent(view: PeerView): boolean;
  /** The peer, an extra relay, refused to offer to us: it is dropped. */
  dropExtra(view: PeerView): void;
  /** Positions whose claims by `peer` are not believed at `now` (refuted-claims.ts). */
  refuted(peer: string, now: number): ReadonlyBitmap | undefined;
}

/** Reads `view` up to date; `wholeRead(added)` is told as soon as a whole vector is in, before the last round trip. */
export async function readView(context: ViewReadContext, view: PeerView, now: number, signal?: AbortSignal, wholeRead?: (added: number) => void): Promise<RefreshOutcome> {
  const incremental = view.version ? await readChanges(context, view, now, signal) : undefined;
  if (incremental) return incremental;
  const whole = await readWholeView(context, view, now, signal);
  if (!context.isCurrent(view)) return whole;
  wholeRead?.(whole.added);
  if (!view.version) return whole;
  const after = await readChanges(context, view, now, signal);
  return after ? { ...after, bytes: whole.bytes + after.bytes, full: true, added: whole.added + after.added } : whole;
}

/** The changes since the view's version; undefined when the peer cannot answer incrementally. */
async function readChanges(context: ViewReadContext, view: PeerView, now: number, signal?: AbortSignal): Promise<RefreshOutcome | undefined> {
  const { peer } = view;
  if (!view.version) return undefined;
  const from = context.self();
  const params: InventoryChangesParams = from ? { since: view.version, from, offers: view.relay } : { since: view.version };
  const sentAt = context.now?.();
  const changes = await context.client.inventoryChanges(peer, params, { signal });
  timedRoundTrip(context, view, sentAt);
  if (!changes.complete || !context.isCurrent(view)) return undefined;
  const positions = decodePositions(changes.added, { maxCount: context.limits.maxInventoryChanges });
  const length = Math.min(changes.sequenceLength, context.localLength());
  if (length > view.inventory.length) view.inventory.setLength(length);
  const before = view.inventory.count;
  view.inventory.addMany(positions.filter((p) => p < view.inventory.length));
  // Before the tail's round trip too: a plan made meanwhile must not see refuted claims.
  withoutRefuted(context, peer, view.inventory, now);
  view.version = changes.inventory;
  view.refreshedAt = now;
  const relayRefused = params.offers === true && changes.offering === false && view.relay;
  if (relayRefused) {
    view.relay = false;
    view.refusedUntil = now + RELAY_REFUSED_MS;
    if (view.extra) context.dropExtra(view);
  }
  // Our sequence grew past what we had read of the peer: its bits there predate `since`.
  const tail = length > view.covered ? await readTail(context.client, context.limits.maxInventoryBytes, view, length, signal) : 0;
  if (tail > 0) withoutRefuted(context, peer, view.inventory, now);
  return { bytes: changes.added.byteLength + tail, full: false, added: view.inventory.count - before, ...(relayRefused ? { relayRefused } : {}) };
}

async function readWholeView(context: ViewReadContext, view: PeerView, now: number, signal?: AbortSignal): Promise<RefreshOutcome> {
  // Only the positions we know matter: a peer claiming a longer sequence costs us nothing more.
  const wanted = Math.ceil(context.localLength() / 8);
  view.heldDuringFetch = [];
  try {
    // Its first call is timed: one round trip, whatever pages follow.
    const sentAt = context.now?.();
    const { first, fresh, bytes, length } = await readWhole(context.client, context.limits.maxInventoryBytes, view.peer, wanted, context.localLength(), signal, () => timedRoundTrip(context, view, sentAt));
    // The view may have been dropped while we were fetching.
    if (!context.isCurrent(view)) return { bytes, full: true, added: 0 };
    const heldMeanwhile = view.heldDuringFetch ?? [];
    fresh.addMany(heldMeanwhile.filter((p) => p < fresh.length));
    withoutRefuted(context, view.peer, fresh, now);
    const added = fresh.count - fresh.bitmap.andCardinality(view.inventory.bitmap);
    view.inventory = fresh; // in place: the same view object stays tracked
    readServingBounds(view, first);
    view.version = first.inventory;
    view.covered = length;
    view.refreshedAt = now;
    truncateView(view, context.localLength()); // our sequence may have been rolled back meanwhile
    return { bytes, full: true, added };
  } finally {
    view.heldDuringFetch = undefined;
  }
}

/** A call to `view`'s peer sent at `sentAt` has just been answered: the view keeps the shortest of the recent such times. */
function timedRoundTrip(context: ViewWire, view: PeerView, sentAt: number | undefined): void {
  if (sentAt === undefined || context.now === undefined) return;
  const recent = view.recentRoundTrips;
  if (recent.length >= ROUND_TRIP_SAMPLES) recent.shift();
  recent.push(context.now() - sentAt);
}

/** `inventory` (`peer`'s) without the claims it lost by sending corrupt bytes. */
function withoutRefuted(context: ViewReadContext, peer: string, inventory: Inventory, now: number): void {
  const refuted = context.refuted(peer, now);
  if (refuted !== undefined) inventory.removeAll(refuted);
}
