/**
 * What a ChunkStore needs from its storage: three record sets and atomic writes over them. The one
 * ChunkStore (chunk-store.ts) holds every rule (admission, the write queue and group commit, the
 * derived inventory and counters, the address -> positions index, verified discard); a backend
 * only keeps records.
 *
 *   sequence     position -> 20-byte address (the current sequence, positions 0 .. length - 1)
 *   chunks       20-byte address -> the chunk's bytes (every chunk ever stored; never evicted)
 *   checkpoints  k -> d_{1024k}, the sequence-digest checkpoints (sequence-digest.ts)
 *
 * The format record (what kind of store this is, and which version wrote it) is the backend's to
 * check when it opens. Each write method commits entirely or not at all, and the store calls them
 * one at a time; reads see only committed state.
 */
import type { DigestCheckpoint } from './sequence-digest.js';

/**
 * The chunks of one write, as columns: chunk i's bytes are `data[i]`, its address the 20 bytes of
 * `keys` from i × 20. (An object and a key view a chunk were a measurable share of what a catch-up
 * allocated, and collected.)
 */
export interface ChunkWrites {
  count: number;
  keys: Uint8Array;
  data: readonly Uint8Array[];
}

/** The chunk record set: 20-byte address -> the chunk's bytes, every chunk ever stored. */
export interface ChunkRecords {
  /**
   * True when storeChunks keeps the bytes it is given past the call, as they are (the memory
   * backend): the store then copies every put's bytes for it, handed over or not. Default false:
   * the bytes are written (copied) during the call.
   */
  readonly keepsChunkBytes?: boolean;
  /** The stored bytes of `key` (the caller may keep them), announced or not. */
  chunk(key: Buffer): Uint8Array | undefined;
  /**
   * As chunk(), for a caller that only reads the bytes (serving: hashed, then sent): they may be
   * shared with other answers and the backend's read cache, so they must not be changed. Absent:
   * chunk() is used.
   */
  sharedChunk?(key: Buffer): Uint8Array | undefined;
  /** As chunk(), read from the medium again, past any read cache of the backend's: what a discard hashes before it removes. */
  rereadChunk(key: Buffer): Uint8Array | undefined;
  hasChunk(key: Buffer): boolean;
  chunkSize(key: Buffer): number | undefined;
  /** Every stored chunk's address and size, for deriving the inventory at open (read once). */
  chunkSizes(): Iterable<{ key: Buffer; size: number }>;
  /**
   * One transaction: stores each chunk unless its address is already stored; answers which were
   * added. The bytes may be views of a reply the caller handed over (handed-over.ts): a backend
   * writes them during the call, or says it keeps them (`keepsChunkBytes`).
   */
  storeChunks(writes: ChunkWrites): Promise<boolean[]>;
  removeChunk(key: Buffer): Promise<void>;
  /**
   * The most chunks the store expects to hold (its sequence length), for a backend that sizes its
   * index ahead: told at open and whenever the sequence grows or is cut, never on a write.
   */
  expectChunks?(count: number): void;
  close(): Promise<void>;
}

export interface StoreBackend extends ChunkRecords {
  /** The sequence length at open; the store keeps it from then on. */
  readLength(): number;
  /** Whether the address at `position` is the 20 bytes of `key` at `keyAt` (default 0; false past the end), compared where it is kept. */
  isAddressAt(position: number, key: Uint8Array, keyAt?: number): boolean;
  /** Copies the 20 bytes of the address at `position` to `into` at `offset`; false past the end. */
  copyAddressTo(position: number, into: Uint8Array, offset: number): boolean;
  /** The same address as lower-case hex (what the store hands out), or undefined past the end. */
  addressHexAt(position: number): string | undefined;
  /** The addresses at positions from .. to - 1, in order. */
  addressRange(from: number, to: number): Iterable<Uint8Array>;

  /** The stored checkpoints, indexed by k (holes where one is missing). */
  readCheckpoints(): (Uint8Array | undefined)[];
  /** Stores checkpoints rebuilt at open. */
  writeCheckpoints(checkpoints: readonly DigestCheckpoint[]): void;

  /** One transaction: the 20-byte keys packed end to end in `keys` at positions start .., and the new checkpoints. */
  append(start: number, keys: Buffer, checkpoints: readonly DigestCheckpoint[]): Promise<void>;
  /** One transaction: drops positions >= length (of `old`) and the checkpoints from index `firstDroppedCheckpoint` on. */
  truncate(length: number, old: number, firstDroppedCheckpoint: number): Promise<void>;
}
