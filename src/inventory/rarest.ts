/**
 * Rarest-first planning (SPEC §6): which missing positions to request next, in ascending order of
 * how many known peers hold them, ties broken at random.
 *
 * Work is proportional to what is missing, not to the sequence: missing = union(peers) andNot own
 * runs in CRoaring over compressed bitmaps, then holders are counted only over that set, by
 * one of two methods chosen by how dense the missing set is (see HolderCounting).
 * The planner works on positions; the same address can sit at several positions, so the caller
 * dedups by address (storing the chunk sets all its positions).
 */
import type { Random } from '../runtime.js';
import { END_OF_RANGE, bitmaps, type Bitmap, type ReadonlyBitmap } from './bitmap.js';
import type { ReadonlyInventory } from './inventory.js';
/** Roaring stores a 65,536-position block as a sorted array below this density, as a bitset above. */
const DENSE_FRACTION = 1 / 16;

/**
 * How holders are counted. `counters`: each peer's held missing positions increment a typed
 * array, one step per (peer, position) pair; best when the missing set is sparse. `slices`:
 * bit-sliced counters added with bitmap and/xor, 64 positions per machine word; best when it is
 * dense (a fresh node). `auto` picks by the density of the missing set. All give the same plan.
 */
export type HolderCounting = 'auto' | 'counters' | 'slices';

/** What `planRarestFirst` plans from: our inventory, the peers' inventories, exclusions and a limit. */
export interface RarestFirstInput {
  own: ReadonlyInventory;
  /** Peer id -> what we believe that peer holds. */
  peers: ReadonlyMap<string, ReadonlyInventory>;
  /** Positions not to plan now (in flight, backing off). */
  exclude?: ReadonlyBitmap | Iterable<number>;
  random: Random;
  /** Most items returned. */
  limit: number;
  /** Default 'auto'; the others exist for tests and benchmarks. */
  counting?: HolderCounting;
}

/** One position chosen by `planRarestFirst`, with the peers believed to hold it. */
export interface PlannedPosition {
  readonly position: number;
  /**
   * Peers believed to hold the position, in the iteration order of `peers`. Positions every peer
   * holds share one frozen list.
   */
  readonly holders: readonly string[];
}

/**
 * Up to `limit` positions below `own.length` that no own bit covers and at least one peer holds,
 * rarest first, ties in random order.
 */
export function planRarestFirst(input: RarestFirstInput): PlannedPosition[] {
  const { own, peers, random } = input;
  if (!Number.isInteger(input.limit) || input.limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${input.limit}`);
  if (input.limit === 0 || peers.size === 0 || own.length === 0) return [];

  const peerIds = [...peers.keys()];
  const peerBitmaps = [...peers.values()].map((inventory) => inventory.bitmap);
  const missing = bitmaps.orMany(peerBitmaps);
  try {
    missing.andNotInPlace(own.bitmap);
    missing.removeRange(own.length, END_OF_RANGE);
    if (input.exclude !== undefined) removeExcluded(missing, input.exclude);
    if (missing.isEmpty) return [];

    const wanted = Math.min(input.limit, missing.size);
    const counting = input.counting ?? 'auto';
    const span = missing.maximum() - missing.minimum() + 1;
    const useSlices = counting === 'slices' || (counting === 'auto' && missing.size >= span * DENSE_FRACTION);
    const chosen = useSlices ? rarestBySlices(missing, peerBitmaps, wanted, random) : rarestByCounters(missing, peerBitmaps, wanted, random);
    return attachHolders(chosen, peerIds, peerBitmaps);
  } finally {
    bitmaps.release(missing);
  }
}

function removeExcluded(missing: Bitmap, exclude: ReadonlyBitmap | Iterable<number>): void {
  if (bitmaps.isBitmap(exclude)) {
    missing.andNotInPlace(exclude);
    return;
  }
  const values = bitmaps.create(exclude instanceof Uint32Array ? exclude : Uint32Array.from(exclude as Iterable<number>));
  missing.andNotInPlace(values);
  bitmaps.release(values);
}

/**
 * Tied positions are drawn in runs of up to this many neighbours (in ascending position order
 * within a tie), not one by one. A serving node whose chunk log was written in sequence order (as
 * a node following the chain writes it, and as a node that caught up in runs writes it) then finds
 * a request's chunks side by side and reads a run of small chunks in a few read calls. Runs of 128
 * (a few per request of 500) cut a serving peer's CPU by about a third against runs of 8, whose
 * read calls were a quarter of its time; a million positions still make 7,800 runs to shuffle.
 */
export const TIE_RUN = 128;

/** Appends to `chosen` the tied positions of ranks [from, from + count) (0 the smallest), ascending. */
type TieRun = (from: number, count: number, chosen: number[]) => void;

/** A TieRun over tied[start, end) (ascending). */
function arrayRun(tied: Uint32Array, start: number): TieRun {
  return (from, count, chosen) => {
    for (let k = 0; k < count; k++) chosen.push(tied[start + from + k] as number);
  };
}

/**
 * A TieRun over a bitmap, read where the run lies instead of turning the whole set into an array
 * (a fresh node draws 10,000 out of a million ties at each plan): a run whose first and last
 * values are `count - 1` apart is every value between them, else it is the set's values between
 * them.
 */
function bitmapRun(tied: ReadonlyBitmap): TieRun {
  return (from, count, chosen) => {
    if (count <= 0) return;
    const first = tied.select(from) as number;
    const last = tied.select(from + count - 1) as number;
    if (last - first === count - 1) {
      for (let k = 0; k < count; k++) chosen.push(first + k);
      return;
    }
    const within = bitmaps.valuesInRange(tied, first, last + 1);
    for (let k = 0; k < within.length; k++) chosen.push(within[k] as number);
  };
}

/** A tie set this many times larger than the draw is read by runs (bitmapRun), not as a whole array. */
const DRAW_BY_RUNS = 4;

/**
 * Appends `take` of the `size` tied positions (read by `run`) to `chosen`, drawn at random in runs: the range is
 * cut, circularly from a uniformly random offset, into blocks of TIE_RUN neighbours (the last one
 * shorter), and whole blocks are drawn in uniformly random order, each in ascending order (the
 * one wrapping past the end in array order). Every rotation of the cuts is equally likely, so
 * every position has the same chance of being drawn, and of being drawn first. Both counting
 * methods call this on each count's positions in ascending order, so they make the same draws.
 */
function drawTies(size: number, run: TieRun, take: number, random: Random, chosen: number[]): void {
  if (take <= 0 || size <= 0) return;
  const offset = Math.floor(random() * size);
  const blocks = Math.ceil(size / TIE_RUN);
  let left = take;
  const emit = (block: number): void => {
    const count = Math.min(Math.min((block + 1) * TIE_RUN, size) - block * TIE_RUN, left);
    const from = (offset + block * TIE_RUN) % size;
    // The block wrapping past the end of the ranks goes on from rank 0.
    const before = Math.min(count, size - from);
    run(from, before, chosen);
    if (count > before) run(0, count - before, chosen);
    left -= count;
  };
  // A partial Fisher-Yates over the block numbers, the swapped ones kept in a map: as many entries
  // as blocks drawn (a fresh node draws a window of 10,000 out of a million ties), none per block.
  const swapped = new Map<number, number>();
  for (let i = 0; i < blocks && left > 0; i++) {
    const j = i + Math.floor(random() * (blocks - i));
    const block = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    emit(block);
  }
}

function rarestByCounters(missing: Bitmap, peerBitmaps: readonly ReadonlyBitmap[], wanted: number, random: Random): number[] {
  const positions = missing.toUint32Array();
  const first = positions[0] as number;
  // Counters indexed by position - first: the span is at most the sequence length.
  const Counter = peerBitmaps.length > 0xffff ? Uint32Array : Uint16Array;
  const bySpan = new Counter((positions[positions.length - 1] as number) - first + 1);
  for (const bitmap of peerBitmaps) {
    const heldBitmap = bitmaps.and(bitmap, missing);
    const held = heldBitmap.toUint32Array();
    bitmaps.release(heldBitmap);
    for (let k = 0; k < held.length; k++) {
      const index = (held[k] as number) - first;
      bySpan[index] = (bySpan[index] as number) + 1;
    }
  }
  // Counting sort by holder count, ascending positions within a count.
  const bucketStart = new Uint32Array(peerBitmaps.length + 2);
  for (let i = 0; i < positions.length; i++) {
    const next = (bySpan[(positions[i] as number) - first] as number) + 1;
    bucketStart[next] = (bucketStart[next] as number) + 1;
  }
  for (let c = 1; c < bucketStart.length; c++) bucketStart[c] = (bucketStart[c] as number) + (bucketStart[c - 1] as number);
  const sorted = new Uint32Array(positions.length);
  const fill = bucketStart.slice(0, peerBitmaps.length + 1);
  for (let i = 0; i < positions.length; i++) {
    const count = bySpan[(positions[i] as number) - first] as number;
    sorted[fill[count] as number] = positions[i] as number;
    fill[count] = (fill[count] as number) + 1;
  }
  const chosen: number[] = [];
  for (let count = 1; count <= peerBitmaps.length && chosen.length < wanted; count++) {
    const start = bucketStart[count] as number;
    const end = bucketStart[count + 1] as number;
    drawTies(end - start, arrayRun(sorted, start), Math.min(end - start, wanted - chosen.length), random, chosen);
  }
  return chosen;
}

function rarestBySlices(missing: Bitmap, peerBitmaps: readonly ReadonlyBitmap[], wanted: number, random: Random): number[] {
  // A position's holder count is the binary number whose bit k is its membership in slices[k];
  // each peer is added with a ripple carry.
  const slices: Bitmap[] = [];
  try {
    for (const bitmap of peerBitmaps) {
      let carry = bitmaps.and(bitmap, missing);
      for (let k = 0; !carry.isEmpty; k++) {
        const slice = slices[k];
        if (slice === undefined) {
          slices.push(carry);
          break;
        }
        const next = bitmaps.and(slice, carry);
        slice.xorInPlace(carry);
        bitmaps.release(carry);
        carry = next;
      }
      if (carry.isEmpty) bitmaps.release(carry);
    }
    const chosen: number[] = [];
    collectBySlices(missing, slices, slices.length - 1, wanted, chosen, random);
    return chosen;
  } finally {
    for (const slice of slices) bitmaps.release(slice);
  }
}

/**
 * Splitting on the most significant slice first (its zeros before its ones) visits the counts
 * in ascending order; each leaf is the set of positions of one exact count.
 */
function collectBySlices(set: Bitmap, slices: readonly Bitmap[], level: number, wanted: number, chosen: number[], random: Random): void {
  if (chosen.length >= wanted || set.isEmpty) return;
  if (level < 0) {
    const size = set.size;
    const take = Math.min(size, wanted - chosen.length);
    drawTies(size, size > DRAW_BY_RUNS * take ? bitmapRun(set) : arrayRun(set.toUint32Array(), 0), take, random, chosen);
    return;
  }
  const slice = slices[level] as Bitmap;
  const zeros = bitmaps.andNot(set, slice);
  collectBySlices(zeros, slices, level - 1, wanted, chosen, random);
  bitmaps.release(zeros);
  if (chosen.length >= wanted) return;
  const ones = bitmaps.and(set, slice);
  collectBySlices(ones, slices, level - 1, wanted, chosen, random);
  bitmaps.release(ones);
}

function attachHolders(chosen: readonly number[], peerIds: readonly string[], peerBitmaps: readonly ReadonlyBitmap[]): PlannedPosition[] {
  // A position every peer holds (each one of a catch-up from a single peer, most of them among
  // synced peers) shares one list of them all, in their order, handed out read-only.
  const everyPeer: readonly string[] = Object.freeze([...peerIds]);
  const chosenSet = bitmaps.create(chosen);
  // Per peer, the plan indices it holds; a peer holding the whole plan (one native count says so:
  // the plan's positions are distinct) is walked by none of it.
  const heldBy: (Uint32Array | 'all')[] = new Array(peerBitmaps.length);
  const counts = new Uint32Array(chosen.length);
  try {
    let holdingAll = 0;
    for (let p = 0; p < peerBitmaps.length; p++) {
      const whole = (peerBitmaps[p] as ReadonlyBitmap).andCardinality(chosenSet) === chosen.length;
      heldBy[p] = whole ? 'all' : new Uint32Array(0);
      if (whole) holdingAll++;
    }
    if (holdingAll === peerBitmaps.length) return chosen.map((position) => ({ position, holders: everyPeer as string[] }));
    counts.fill(holdingAll);
    // The plan's indices in ascending order of position: a peer's held positions come out of its
    // bitmap ascending too, so one merge walk pairs them, with no lookup per (peer, position).
    const ascending = ascendingIndices(chosen);
    for (let p = 0; p < peerBitmaps.length; p++) {
      if (heldBy[p] === 'all') continue;
      const heldBitmap = bitmaps.and(peerBitmaps[p] as ReadonlyBitmap, chosenSet);
      const held = heldBitmap.toUint32Array();
      bitmaps.release(heldBitmap);
      const indices = new Uint32Array(held.length);
      let found = 0;
      for (let k = 0, j = 0; k < held.length; k++, j++) {
        // held is a subset of chosen: skip the chosen positions this peer does not hold.
        while (j < ascending.length && (chosen[ascending[j] as number] as number) !== held[k]) j++;
        // Unreachable with uint32 positions; were it ever reached, the walk ends (no hang, no throw
        // in the downloader's pump) and this peer is simply not named for the rest.
        if (j === ascending.length) break;
        const index = ascending[j] as number;
        indices[found++] = index;
        counts[index] = (counts[index] as number) + 1;
      }
      heldBy[p] = indices.subarray(0, found);
    }
  } finally {
    bitmaps.release(chosenSet);
  }
  // Each holder list is made at its exact size (grown push by push, a list of one held room for 17).
  const planned: { position: number; holders: string[] }[] = new Array(chosen.length);
  for (let i = 0; i < chosen.length; i++) {
    const count = counts[i] as number;
    planned[i] = { position: chosen[i] as number, holders: count === peerIds.length ? (everyPeer as string[]) : new Array<string>(count) };
  }
  // Filled from the last peer back, each into its list's last empty slot: the lists come out in
  // the order of `peers`, and the counts, counted down, are all the bookkeeping needed.
  for (let p = heldBy.length - 1; p >= 0; p--) {
    const peer = peerIds[p] as string;
    const held = heldBy[p] as Uint32Array | 'all';
    const count = held === 'all' ? chosen.length : held.length;
    for (let k = 0; k < count; k++) {
      const index = held === 'all' ? k : (held[k] as number);
      const entry = planned[index] as { holders: string[] };
      if (entry.holders === everyPeer) continue;
      const slot = (counts[index] as number) - 1;
      counts[index] = slot;
      entry.holders[slot] = peer;
    }
  }
  return planned;
}

/** Plan indices within this bound sort as one number with their position (exact below 2^53). */
const INDEX_SPAN = 2 ** 21;

/** The indices of `chosen` (distinct uint32 positions) in ascending order of position. */
function ascendingIndices(chosen: readonly number[]): Uint32Array {
  const ascending = new Uint32Array(chosen.length);
  if (chosen.length > INDEX_SPAN) {
    for (let i = 0; i < ascending.length; i++) ascending[i] = i;
    return ascending.sort((a, b) => (chosen[a] as number) - (chosen[b] as number));
  }
  // A native numeric sort of position * 2^21 + index: a comparator called from the sort cost
  // more than the rest of the pairing.
  const keys = new Float64Array(chosen.length);
  for (let i = 0; i < keys.length; i++) keys[i] = (chosen[i] as number) * INDEX_SPAN + i;
  keys.sort();
  for (let i = 0; i < keys.length; i++) ascending[i] = (keys[i] as number) % INDEX_SPAN;
  return ascending;
}
