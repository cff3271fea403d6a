/**
 * Rarest-first planning (SPEC §6): which missing positions to request next, in ascending order of
 * how many known peers hold them, ties broken at random.
 *
 * Work is proportional to what is missing, not to the sequence, and runs in native code over
 * compressed bitmaps: missing = union(peers) andNot own, then holders are counted only over that
 * set with bit-sliced counters (see countHolders).
 * The planner works on positions; the same address can sit at several positions, so the caller
 * dedups by address (storing the chunk sets all its positions).
 */
import roaring from 'roaring';
import type { ReadonlyRoaringBitmap32, RoaringBitmap32 as Bitmap } from 'roaring';
import type { Random } from '../runtime.js';
import type { ReadonlyInventory } from './inventory.js';

const { RoaringBitmap32 } = roaring;

const END_OF_RANGE = 0x1_0000_0000;

export interface RarestFirstInput {
  own: ReadonlyInventory;
  /** Peer id -> what we believe that peer holds. */
  peers: ReadonlyMap<string, ReadonlyInventory>;
  /** Positions not to plan now (in flight, backing off). */
  exclude?: ReadonlyRoaringBitmap32 | Iterable<number>;
  random: Random;
  /** Most items returned. */
  limit: number;
}

export interface PlannedPosition {
  position: number;
  /** Peers believed to hold the position, in the iteration order of `peers`. */
  holders: string[];
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
  const missing = RoaringBitmap32.orMany(peerBitmaps);
  missing.andNotInPlace(own.bitmap);
  missing.removeRange(own.length, END_OF_RANGE);
  if (input.exclude !== undefined) removeExcluded(missing, input.exclude);
  if (missing.isEmpty) return [];

  const slices = countHolders(missing, peerBitmaps);
  const chosen: number[] = [];
  collectRarest(missing, slices, slices.length - 1, Math.min(input.limit, missing.size), chosen, random);
  return attachHolders(chosen, peerIds, peerBitmaps);
}

function removeExcluded(missing: Bitmap, exclude: ReadonlyRoaringBitmap32 | Iterable<number>): void {
  if (exclude instanceof RoaringBitmap32) {
    missing.andNotInPlace(exclude);
    return;
  }
  const values = exclude instanceof Uint32Array ? exclude : Uint32Array.from(exclude as Iterable<number>);
  missing.andNotInPlace(new RoaringBitmap32(values));
}

/**
 * Bit-sliced holder counters over the missing positions: a position's count is the binary number
 * whose bit k is its membership in slices[k]. Each peer is added with a ripple carry of bitmap
 * and/xor, so the work is a few native set operations per peer, whatever the cardinalities.
 */
function countHolders(missing: ReadonlyRoaringBitmap32, peerBitmaps: readonly ReadonlyRoaringBitmap32[]): Bitmap[] {
  const slices: Bitmap[] = [];
  for (const bitmap of peerBitmaps) {
    let carry = RoaringBitmap32.and(bitmap, missing);
    for (let k = 0; !carry.isEmpty; k++) {
      const slice = slices[k];
      if (slice === undefined) {
        slices.push(carry);
        break;
      }
      const next = RoaringBitmap32.and(slice, carry);
      slice.xorInPlace(carry);
      carry = next;
    }
  }
  return slices;
}

/**
 * Appends to `chosen`, in ascending order of count, positions of `set` until it holds `wanted`.
 * Splitting on the most significant slice first visits the counts in ascending order; a leaf is
 * one exact count, from which a partial Fisher-Yates draws only as many as are still needed.
 */
function collectRarest(set: Bitmap, slices: readonly Bitmap[], level: number, wanted: number, chosen: number[], random: Random): void {
  if (chosen.length >= wanted || set.isEmpty) return;
  if (level < 0) {
    const tied = set.toUint32Array();
    const take = Math.min(tied.length, wanted - chosen.length);
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(random() * (tied.length - i));
      const picked = tied[j] as number;
      tied[j] = tied[i] as number;
      chosen.push(picked);
    }
    return;
  }
  const slice = slices[level] as Bitmap;
  collectRarest(RoaringBitmap32.andNot(set, slice), slices, level - 1, wanted, chosen, random);
  if (chosen.length >= wanted) return;
  collectRarest(RoaringBitmap32.and(set, slice), slices, level - 1, wanted, chosen, random);
}

function attachHolders(chosen: readonly number[], peerIds: readonly string[], peerBitmaps: readonly ReadonlyRoaringBitmap32[]): PlannedPosition[] {
  const planned: PlannedPosition[] = [];
  const byPosition = new Map<number, string[]>();
  for (const position of chosen) {
    const holders: string[] = [];
    planned.push({ position, holders });
    byPosition.set(position, holders);
  }
  const chosenSet = new RoaringBitmap32(chosen);
  for (let p = 0; p < peerBitmaps.length; p++) {
    const held = RoaringBitmap32.and(peerBitmaps[p] as ReadonlyRoaringBitmap32, chosenSet).toUint32Array();
    for (let k = 0; k < held.length; k++) byPosition.get(held[k] as number)?.push(peerIds[p] as string);
  }
  return planned;
}
