/**
 * address -> positions for the current sequence, in about 12 to 18 bytes a distinct address (one
 * LMDB record per address cost ~140 bytes a position of memory-mapped file).
 *
 * An open-addressing hash table in one Uint32Array of (first position + 1, hash) pairs, probed
 * linearly, with an 8-bit tag a slot beside it. The table holds no address bytes: a candidate
 * whose 32-bit hash and tag match is confirmed by reading the address at its first position from
 * the sequence itself (`read`). The rare
 * address announced more than once keeps its positions in a side map keyed by its first position.
 *
 * Addresses are hashes, so their bytes are uniform, but announcing is open to anyone (a BNS update
 * names any 20 bytes it likes): the slot hash and tag come from a keyed hash of all 20 bytes
 * (HalfSipHash-1-3 with a random 64-bit key per index), so nobody can choose addresses that pile
 * into one probe run. (Hashing only the leading 8 bytes let addresses sharing them form one run:
 * 200,000 of them took minutes to index.)
 *
 * Positions only ever grow at the end (append) or are cut from the end (truncate), which keeps
 * every list ascending and an address's first position fixed while it stays announced.
 */
import { randomBytes } from 'node:crypto';
import { ADDRESS_BYTES, addressBytesAre } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { bitmaps } from '../inventory/bitmap.js';

/**
 * Whether the current sequence holds the 20-byte `key` at `position` (false past its end): the
 * index confirms each match this way, comparing in place rather than reading an address out.
 */
export type AddressMatcher = (position: number, key: Uint8Array, keyAt?: number) => boolean;

/** Largest share of slots used (live entries and tombstones) before the table grows. */
const MAX_LOAD = 0.75;
/**
 * Each growth multiplies the slots by this: the load stays between 0.5 and 0.75 (doubling would
 * let it fall to 0.375, a table up to twice the size its entries need).
 */
const GROWTH = 1.5;
const INITIAL_SLOTS = 1024;
/** A slot is two uint32s: first position + 1 (0: free) and the address's hash. */
const FREE = 0;
/** In the hash word of a free slot: a removed entry, which probes must step over. */
const TOMBSTONE_MARK = 1;

/** What a truncation removes, found while the dropped positions can still be read. */
export interface IndexTruncation {
  readonly length: number;
  readonly generation: number;
  /** Per dropped address: its slot, and whether any of its positions stays below `length`. */
  readonly entries: readonly { slot: number; stays: boolean }[];
}

/** How the index places an address: its 32-bit slot hash × 256 + an 8-bit tag, in one call (both keyed). */
/** The keyed hash of the 20 bytes of `key` at `at` (default 0). */
export type AddressHasher = (key: Uint8Array, at?: number) => number;

export class AddressIndex {
  readonly #isAt: AddressMatcher;
  readonly #hasher: AddressHasher;
  #table: Uint32Array;
  /**
   * Per slot, 8 more bits of the address's keyed hash (from the hasher's second output word, not
   * the 32 bits kept as the slot's hash): two addresses that
   * share the 32-bit hash (about a hundred pairs in a million) are told apart here instead of by
   * reading one back from the sequence, whose memory-mapped pages would then stay resident.
   */
  #tags: Uint8Array;
  /** Slots in the table (any count: a hash's home slot is scaled to it, not masked). */
  #slots: number;
  #live = 0;
  #tombstones = 0;
  /** Bumped by every rehash: slots found before it are stale. */
  #generation = 0;
  /**
   * first position -> every position of the address, ascending (only for repeated addresses).
   * positionsOf hands a list out frozen, not copied (a copy per call cost O(N) for an address
   * announced N times, on every put or received chunk of it and every position of it a downloader
   * planned); the next add or cut of that address copies it, so what was handed out never changes.
   */
  readonly #more = new Map<number, number[]>();
  /**
   * Every position of every repeated address (first and later ones), so that isRepeatedAt is one
   * lookup. A bitmap, not a Set: anyone may announce one address millions of times, past what a
   * Set can hold.
   */
  readonly #repeated = bitmaps.create();

  /**
   * `expected`: addresses about to be added (sizes the table once, e.g. when rebuilding at open).
   * `hasher`: default keyedAddressHasher() with a random key (tests give weaker ones to make collisions).
   */
  constructor(isAt: AddressMatcher, options: { hasher?: AddressHasher; expected?: number } = {}) {
    this.#isAt = isAt;
    this.#hasher = options.hasher ?? keyedAddressHasher();
    const slots = Math.max(INITIAL_SLOTS, Math.ceil((options.expected ?? 0) / MAX_LOAD));
    this.#table = new Uint32Array(slots * 2);
    this.#tags = new Uint8Array(slots);
    this.#slots = slots;
  }

  /** Distinct addresses indexed. */
  get size(): number {
    return this.#live;
  }

  /** Bytes held by the table and the side map's lists (an estimate for the side map). */
  get byteSize(): number {
    let more = 0;
    for (const list of this.#more.values()) more += 48 + list.length * 8;
    // The bitmap of repeated positions: at most 4 bytes a position in roaring's array containers.
    return this.#table.byteLength + this.#tags.byteLength + more + this.#repeated.size * 4;
  }

  has(key: Uint8Array): boolean {
    return this.#find(key, this.#hasher(key)) >= 0;
  }

  /**
   * The positions of `key`, ascending; empty when it is not announced. Read-only: an address
   * announced once gets an array of its own, a repeated one the same frozen array on every call
   * until its positions change (no copy, however often it is announced).
   */
  positionsOf(key: Uint8Array): readonly number[] {
    const slot = this.#find(key, this.#hasher(key));
    if (slot < 0) return [];
    const first = (this.#table[slot * 2] as number) - 1;
    const all = this.#more.get(first);
    return all === undefined ? [first] : Object.isFrozen(all) ? all : Object.freeze(all);
  }

  /**
   * The positions of `key`, for a caller that expects it at `hint` (a downloader knows the position
   * it asked for): [hint] when the sequence holds `key` there and at no other position, which takes
   * one read of the sequence instead of the keyed hash and the probe; else as positionsOf (a
   * repeated address's one frozen list: a put of it costs the same however often it is announced).
   */
  positionsNear(key: Uint8Array, hint: number | undefined, keyAt = 0): readonly number[] {
    if (hint !== undefined && !this.isRepeatedAt(hint) && this.#isAt(hint, key, keyAt)) return [hint];
    return this.positionsOf(keyAt === 0 ? key : key.subarray(keyAt, keyAt + ADDRESS_BYTES));
  }

  /** Whether the address at `position` is indexed at another position too (no hash, no probe). */
  isRepeatedAt(position: number): boolean {
    return this.#more.size > 0 && this.#repeated.has(position);
  }

  /**
   * Records `position` (past every indexed position) for `key`; the sequence must already hold
   * `key` there. Answers whether the key was indexed before.
   */
  add(key: Uint8Array, position: number): boolean {
    const placed = this.#hasher(key);
    const slot = this.#find(key, placed);
    if (slot >= 0) {
      const first = (this.#table[slot * 2] as number) - 1;
      const all = this.#more.get(first);
      if (all === undefined) this.#more.set(first, [first, position]);
      else if (Object.isFrozen(all)) this.#more.set(first, withPosition(all, position));
      else all.push(position);
      this.#repeated.add(first);
      this.#repeated.add(position);
      return true;
    }
    this.reserve(1);
    this.#insert(Math.floor(placed / 256), placed % 256, position);
    this.#live++;
    return false;
  }

  /**
   * Makes room for `count` more addresses now, so the adds that follow allocate nothing: the
   * store calls it before it commits an append, so running out of memory fails the append whole.
   */
  reserve(count: number): void {
    const slots = this.#slots;
    if (this.#live + this.#tombstones + count <= MAX_LOAD * slots) return;
    let size = slots;
    while (this.#live + count > MAX_LOAD * size) size = Math.ceil(size * GROWTH);
    // Tombstones alone (truncations) rebuild at the same size; growth is geometric, so it stays rare.
    if (size === slots && this.#live + count > (MAX_LOAD / 2) * slots) size = Math.ceil(size * GROWTH);
    this.#rebuild(size);
  }

  /**
   * Finds what a truncation to `length` removes for `keys` (the distinct addresses at positions
   * >= length). Call while those positions can still be read; apply after they are gone.
   */
  planTruncate(length: number, keys: readonly Uint8Array[]): IndexTruncation {
    const entries = keys.map((key) => {
      const slot = this.#find(key, this.#hasher(key));
      if (slot < 0) throw new AtlasError(ErrorCodes.INTERNAL, `address ${Buffer.from(key).toString('hex')} is in the sequence but not in its index`);
      return { slot, stays: (this.#table[slot * 2] as number) - 1 < length };
    });
    return { length, generation: this.#generation, entries };
  }

  /** Drops every position >= plan.length of the planned addresses. */
  applyTruncate(plan: IndexTruncation): void {
    if (plan.generation !== this.#generation) throw new AtlasError(ErrorCodes.INTERNAL, 'stale address index truncation plan');
    for (const { slot, stays } of plan.entries) {
      const first = (this.#table[slot * 2] as number) - 1;
      const all = this.#more.get(first);
      if (!stays) {
        this.#table[slot * 2] = FREE;
        this.#table[slot * 2 + 1] = TOMBSTONE_MARK;
        if (all !== undefined) for (const position of all) this.#repeated.delete(position);
        this.#more.delete(first);
        this.#live--;
        this.#tombstones++;
        continue;
      }
      if (all === undefined) continue;
      let kept = all.length;
      while (kept > 1 && (all[kept - 1] as number) >= plan.length) this.#repeated.delete(all[--kept] as number);
      if (kept === all.length) continue;
      if (kept > 1) {
        if (Object.isFrozen(all)) this.#more.set(first, all.slice(0, kept)); // handed out: left as it was
        else all.length = kept;
      } else {
        this.#more.delete(first); // held once again
        this.#repeated.delete(first);
      }
    }
  }

  /** The slot holding `key`, or -1. */
  #find(key: Uint8Array, placed: number): number {
    const hash = Math.floor(placed / 256);
    const tag = placed % 256;
    const table = this.#table;
    const slots = this.#slots;
    for (let slot = homeSlot(hash, slots); ; slot = slot + 1 === slots ? 0 : slot + 1) {
      const stored = table[slot * 2] as number;
      if (stored === FREE) {
        if (table[slot * 2 + 1] === TOMBSTONE_MARK) continue;
        return -1;
      }
      if (table[slot * 2 + 1] === hash && this.#tags[slot] === tag && this.#isAt(stored - 1, key)) return slot;
    }
  }

  /** Puts a new entry in the first free slot of its run (tombstones included). */
  #insert(hash: number, tag: number, first: number): void {
    const table = this.#table;
    const slots = this.#slots;
    let slot = homeSlot(hash, slots);
    while (table[slot * 2] !== FREE) slot = slot + 1 === slots ? 0 : slot + 1;
    if (table[slot * 2 + 1] === TOMBSTONE_MARK) this.#tombstones--;
    table[slot * 2] = first + 1;
    table[slot * 2 + 1] = hash;
    this.#tags[slot] = tag;
  }

  /** Re-inserts every live entry into a table of `size` slots (dropping tombstones). */
  #rebuild(size: number): void {
    const old = this.#table;
    const oldTags = this.#tags;
    // Allocated before anything is replaced: a table that cannot be allocated leaves the old one whole.
    const [table, tags] = [new Uint32Array(size * 2), new Uint8Array(size)];
    this.#table = table;
    this.#tags = tags;
    this.#slots = size;
    this.#tombstones = 0;
    this.#generation++;
    for (let i = 0; i < old.length; i += 2) {
      const stored = old[i] as number;
      if (stored !== FREE) this.#insert(old[i + 1] as number, oldTags[i / 2] as number, stored - 1);
    }
  }
}

/** `list` and `position` after it, in a new array (`list` was handed out frozen). */
function withPosition(list: readonly number[], position: number): number[] {
  const grown = new Array<number>(list.length + 1);
  for (let i = 0; i < list.length; i++) grown[i] = list[i] as number;
  grown[list.length] = position;
  return grown;
}

/** Where a hash's probe run starts in a table of `slots` slots: the hash scaled to [0, slots). */
export function homeSlot(hash: number, slots: number): number {
  return Math.min(slots - 1, Math.floor((hash / 4_294_967_296) * slots));
}

/**
 * The default hasher: HalfSipHash-1-3 (SipHash's 32-bit variant, one round per word, three to
 * finish) of the 20 bytes under a 64-bit key, with its 64-bit output: the slot hash is the first
 * word, the tag 8 bits of the second. Without the key, which never leaves the process, nobody can
 * tell which addresses share a slot. The state is four locals and the twelve rounds one loop (the
 * five words and the length word, then two finalisations of three): a catch-up hashes every
 * address two or three times, much of it before V8 has optimised anything, and a call per round
 * with its state in an array cost twice the time.
 */
export function keyedAddressHasher(key: Uint8Array = randomBytes(8)): AddressHasher {
  const k0 = readUint32(key, 0) | 0;
  const k1 = readUint32(key, 4) | 0;
  return (bytes, at = 0) => {
    let v0 = k0;
    let v1 = k1 ^ 0xee;
    let v2 = 0x6c796765 ^ k0;
    let v3 = 0x74656462 ^ k1;
    let hash = 0;
    for (let round = 0; round < 12; round++) {
      let word = 0;
      if (round < 6) {
        word = round < 5 ? readUint32(bytes, at + 4 * round) | 0 : ADDRESS_BYTES << 24;
        v3 ^= word;
      } else if (round === 6) {
        v2 ^= 0xee;
      } else if (round === 9) {
        hash = (v1 ^ v3) >>> 0;
        v1 ^= 0xdd;
      }
      v0 = (v0 + v1) | 0;
      v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
      v0 = (v0 + v3) | 0;
      v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0;
      v2 = (v2 + v1) | 0;
      v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2;
      v2 = (v2 << 16) | (v2 >>> 16);
      if (round < 6) v0 ^= word;
    }
    return hash * 256 + ((v1 ^ v3) & 0xff);
  };
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] as number) | ((bytes[offset + 1] as number) << 8) | ((bytes[offset + 2] as number) << 16) | ((bytes[offset + 3] as number) << 24)) >>> 0;
}

/** Whether `stored` holds the 20 bytes of `key` (false when there is none). */
export function sameAddress(stored: Uint8Array | undefined, key: Uint8Array, keyAt = 0): boolean {
  if (stored === undefined) return false;
  return addressBytesAre(stored, 0, key, keyAt);
}
