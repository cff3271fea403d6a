/**
 * What a ChunkStore needs from its storage: four record sets and atomic writes over them. The one
 * ChunkStore (chunk-store.ts) holds every rule (admission, the write queue and group commit, the
 * derived inventory and counters, verified discard); a backend only keeps records.
 *
 *   sequence     position -> 20-byte address (the current sequence, positions 0 .. length - 1)
 *   positions    20-byte address -> its positions in the current sequence, ascending
 *                (absent when the address is not announced)
 *   chunks       20-byte address -> the chunk's bytes (every chunk ever stored; never evicted)
 *   checkpoints  k -> d_{1024k}, the sequence-digest checkpoints (sequence-digest.ts)
 *
 * The format record (what kind of store this is, and which version wrote it) is the backend's to
 * check when it opens. Each write method commits entirely or not at all, and the store calls them
 * one at a time; reads see only committed state.
 */
import type { DigestCheckpoint } from './sequence-digest.js';

/** The positions an append gives to one address of the batch. */
export interface AppendedAddress {
  key: Buffer;
  positions: readonly number[];
}

export interface StoreBackend {
  /** The sequence length at open; the store keeps it from then on. */
  readLength(): number;
  /** The 20-byte address at `position`, or undefined past the end. */
  addressAt(position: number): Uint8Array | undefined;
  /** The addresses at positions from .. to - 1, in order. */
  addressRange(from: number, to: number): Iterable<Uint8Array>;
  /** The positions of `key` in the current sequence, ascending; empty when not announced. */
  positionsOf(key: Buffer): number[];
  isAnnounced(key: Buffer): boolean;

  /** The stored bytes of `key` (the caller may keep them), announced or not. */
  chunk(key: Buffer): Uint8Array | undefined;
  hasChunk(key: Buffer): boolean;
  chunkSize(key: Buffer): number | undefined;
  /** Every stored chunk's address and size, for deriving the inventory at open. */
  chunkSizes(): Iterable<{ key: Buffer; size: number }>;

  /** The stored checkpoints, indexed by k (holes where one is missing). */
  readCheckpoints(): (Uint8Array | undefined)[];
  /** Stores checkpoints rebuilt at open. */
  writeCheckpoints(checkpoints: readonly DigestCheckpoint[]): void;

  /**
   * One transaction: `keys` at positions start .., each address's new positions added to its
   * list, and the new checkpoints. Answers, per entry of `grouped`, whether the address was
   * announced before.
   */
  append(start: number, keys: readonly Buffer[], grouped: readonly AppendedAddress[], checkpoints: readonly DigestCheckpoint[]): Promise<boolean[]>;
  /**
   * One transaction: drops positions >= length (of `old`), the positions lists of `keys` (the
   * distinct addresses dropped) and the checkpoints from index `firstDroppedCheckpoint` on. Answers,
   * per key, whether the address is still announced.
   */
  truncate(length: number, old: number, keys: readonly Buffer[], firstDroppedCheckpoint: number): Promise<boolean[]>;
  /** One transaction: stores each chunk unless its address is already stored; answers which were added. */
  storeChunks(chunks: readonly { key: Buffer; data: Uint8Array }[]): Promise<boolean[]>;
  removeChunk(key: Buffer): Promise<void>;

  close(): Promise<void>;
}
