/**
 * One tracked peer's view (what we believe it holds, how current that is, whether it offers to us)
 * and the reads of its inventory vector over the wire; `PeerViews` (peer-views.ts) keeps the
 * views and decides which peers relay.
 */
import type { ReadonlyBitmap } from '../inventory/bitmap.js';
import { Inventory } from '../inventory/inventory.js';
import type { ProtocolClient } from '../protocol/client.js';
import { DEFAULT_LIMITS, GET_ADDRESSES_UNADVERTISED } from '../protocol/limits.js';
import type { InventoryResult, InventoryVersion } from '../protocol/messages.js';

/** What we believe one neighbour holds, and how current that belief is. */
export interface PeerView {
  readonly peer: string;
  inventory: Inventory;
  /** The peer's inventory version our view includes; undefined until the first full fetch. */
  version: InventoryVersion | undefined;
  /**
   * Positions below this were read from the peer itself. A view stops at our own sequence
   * length; when ours grows, the tail [covered, new length) is read before it is trusted.
   */
  covered: number;
  refreshedAt: number;
  /**
   * Incremental refreshes in a row that brought nothing new; each doubles the wait before the
   * next one, up to a bound (see quietRefreshPeriod). Any sign of change sets it back to 0.
   */
  quietRefreshes: number;
  /** Offers that arrive while the whole vector is being fetched, applied after it. */
  heldDuringFetch: number[] | undefined;
  /** We ask this peer for offers (one of our few relays); others we only pull. */
  relay: boolean;
  /**
   * A relay only when nothing better is tracked: a seed is a neighbour of a third of the network
   * and could not offer to all of them, so other neighbours are preferred as relays.
   */
  lastResort: boolean;
  /**
   * Known only from its offers (it is not our neighbour): never refreshed, dropped when it stops
   * offering. Lets us fetch from any admitted peer that tells us it holds something new.
   */
  passiveUntil: number | undefined;
  /** It refused to offer to us (its offer targets were full): not asked again before then. */
  refusedUntil: number;
  /**
   * Not our neighbour: tracked only to hear its offers, because every neighbour refused to offer
   * to us (a node whose neighbours are all popular ones). Refreshed like a neighbour, never audited.
   */
  extra: boolean;
  /** The most addresses the peer answers in one getChunks call, as its inventory replies say. */
  maxGetAddresses: number;
  /** Its bound on a getChunks reply's chunk bytes, as its inventory replies say (the default when they do not). */
  maxGetChunksBytes: number;
  /**
   * How its getChunks addresses are sent: 'packed' when its inventory replies say it reads them
   * so, 'hex' when they do not, 'refused' once it refused a packed request although they said so
   * (hex from then on, while it is tracked, whatever its replies say).
   */
  addressForm: 'hex' | 'packed' | 'refused';
  /**
   * The times its last ROUND_TRIP_SAMPLES inventory calls took, oldest first: the shortest of them
   * is the link's round trip (roundTripOf), as little of the peer's work in it as can be told from
   * here, and a route that lengthened shows once its shorter times have left the window.
   */
  recentRoundTrips: number[];
  /** The shortest length a rollback cut the view to since a tail read began (Infinity: none): what that read brought past it is the old branch's. */
  cutTo: number;
}

/** The inventory calls a peer's round trip is the shortest of: about two minutes of refreshes at the default 15 s. */
export const ROUND_TRIP_SAMPLES = 8;

/** The peer's round trip: the shortest of its recent inventory calls, ms; undefined until one was timed. */
export function roundTripOf(view: PeerView): number | undefined {
  return view.recentRoundTrips.length === 0 ? undefined : Math.min(...view.recentRoundTrips);
}

/** What a peer's inventory reply says of how much it serves per getChunks call. */
export function readServingBounds(view: PeerView, reply: InventoryResult): void {
  view.maxGetAddresses = reply.maxGetAddresses ?? GET_ADDRESSES_UNADVERTISED;
  view.maxGetChunksBytes = reply.maxGetChunksBytes ?? DEFAULT_LIMITS.maxGetChunksBytes;
  if (view.addressForm !== 'refused') view.addressForm = reply.packedAddresses === true ? 'packed' : 'hex';
}

/**
 * Our sequence was rolled back to `length`: what the view says past it was read against
 * announcements that are gone (the same positions may soon announce other chunks), so it is
 * dropped, and read from the peer again once our sequence grows (readTail, or a whole read).
 */
export function truncateView(view: PeerView, length: number): void {
  if (length < view.cutTo) view.cutTo = length;
  if (view.inventory.length > length) view.inventory.setLength(length);
  view.covered = Math.min(view.covered, length);
  if (view.heldDuringFetch) view.heldDuringFetch = view.heldDuringFetch.filter((p) => p < length);
}

/**
 * Adds the positions the peer offered (below `limit`, our own length) to its view; answers how
 * many were new, except those `refuted` (claims it lost by sending corrupt bytes, refuted-claims.ts).
 * While a whole read is under way they are also kept for it (at most `maxHeldDuringFetch`).
 */
export function markHeldBy(view: PeerView, positions: Uint32Array, limit: number, maxHeldDuringFetch: number, refuted: ReadonlyBitmap | undefined): number {
  if (view.inventory.length < limit) view.inventory.setLength(limit);
  let added = 0;
  for (const position of positions) {
    if (position >= limit || refuted?.has(position) === true) continue;
    if (view.inventory.add(position)) added++;
    if (view.heldDuringFetch && view.heldDuringFetch.length < maxHeldDuringFetch) view.heldDuringFetch.push(position);
  }
  return added;
}

/**
 * How long to wait between two refreshes of a view after `quiet` refreshes in a row brought
 * nothing: `baseMs`, doubled per quiet refresh, at most `quietMaxMs` (never less than `baseMs`).
 */
export function quietRefreshPeriod(quiet: number, baseMs: number, quietMaxMs: number): number {
  return Math.max(baseMs, Math.min(quietMaxMs, baseMs * 2 ** Math.min(quiet, 32)));
}

/** Tracked peers asked for offers by default: a new chunk costs about this many offers per node. */
export const DEFAULT_RELAYS = 3;

/** How long a peer that refused to offer to us is not asked again (four default refresh periods). */
export const RELAY_REFUSED_MS = 60_000;

/** A view of `peer` with nothing read yet. */
export function newPeerView(peer: string): PeerView {
  return { peer, inventory: new Inventory(0), version: undefined, covered: 0, refreshedAt: -Infinity, quietRefreshes: 0, heldDuringFetch: undefined, relay: false, lastResort: false, passiveUntil: undefined, refusedUntil: -Infinity, extra: false, maxGetAddresses: GET_ADDRESSES_UNADVERTISED, maxGetChunksBytes: DEFAULT_LIMITS.maxGetChunksBytes, addressForm: 'hex', recentRoundTrips: [], cutTo: Infinity };
}

export interface RefreshOutcome {
  /** Inventory payload bytes received for this refresh. */
  bytes: number;
  full: boolean;
  /** Positions newly seen as held by the peer. */
  added: number;
  /** We asked the peer for offers and it refused: it is no longer one of our relays. */
  relayRefused?: boolean;
}

type InventoryReader = Pick<ProtocolClient, 'inventory'>;

/**
 * Reads the peer's vector bytes [offset, end) in pages of at most maxInventoryBytes, handing each
 * page to `each`; returns the bytes read. A page shorter than asked (empty too) is the end of the
 * peer's vector (a reply is exactly the range asked, clamped to the vector its sequenceLength
 * says: protocol/validate.ts), and ends the read: a peer whose every page claimed a vector one
 * byte longer would otherwise cost one call a byte.
 */
async function readPages(client: InventoryReader, peer: string, offset: number, end: number, maxInventoryBytes: number, signal: AbortSignal | undefined, each: (offset: number, page: InventoryResult) => void): Promise<number> {
  const from = offset;
  while (offset < end) {
    const asked = Math.min(end - offset, maxInventoryBytes);
    const page = await client.inventory(peer, { offset, length: asked }, { signal });
    each(offset, page);
    offset += page.bytes.byteLength;
    if (page.bytes.byteLength < asked) break;
  }
  return offset - from;
}

/** Reads [covered, length) of the peer's vector into the view (its bits only ever grow); returns the bytes read. */
export async function readTail(client: InventoryReader, maxInventoryBytes: number, view: PeerView, length: number, signal?: AbortSignal): Promise<number> {
  view.cutTo = Infinity;
  const bytes = await readPages(client, view.peer, Math.floor(view.covered / 8), Math.ceil(length / 8), maxInventoryBytes, signal, (offset, page) => {
    readServingBounds(view, page);
    if (page.bytes.byteLength > 0) view.inventory.applyBytes(offset, page.bytes, 'or');
  });
  // A rollback during the read cut the view: what its pages brought past the cut is the old
  // branch's, even when the sequence (or an offer) has grown the view back since. It is dropped
  // and read again at the next refresh.
  const cut = view.cutTo;
  if (cut < length) {
    const now = view.inventory.length;
    view.inventory.setLength(Math.min(cut, now));
    view.inventory.setLength(now);
  }
  view.covered = Math.max(view.covered, Math.min(length, cut));
  return bytes;
}

/**
 * The peer's whole vector, in pages of at most maxInventoryBytes, up to `wantedBytes` and our own
 * `localLength` (a peer claiming a longer sequence costs us nothing more). `firstAnswered` is told
 * as soon as the first call is answered (one round trip, whatever pages follow).
 */
export async function readWhole(
  client: InventoryReader,
  maxInventoryBytes: number,
  peer: string,
  wantedBytes: number,
  localLength: number,
  signal?: AbortSignal,
  firstAnswered?: () => void,
): Promise<{ first: InventoryResult; fresh: Inventory; bytes: number; length: number }> {
  const first = await client.inventory(peer, { offset: 0, length: Math.min(wantedBytes, maxInventoryBytes) }, { signal });
  firstAnswered?.();
  const length = Math.min(first.sequenceLength, localLength);
  const fresh = new Inventory(length);
  fresh.applyBytes(0, first.bytes, 'replace');
  let bytes = first.bytes.byteLength;
  if (bytes > 0) {
    bytes += await readPages(client, peer, bytes, Math.ceil(length / 8), maxInventoryBytes, signal, (offset, page) => {
      if (page.bytes.byteLength > 0) fresh.applyBytes(offset, page.bytes, 'replace');
    });
  }
  return { first, fresh, bytes, length };
}
