import type { Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import type { AtlasError } from '../errors.js';
import type { ReadonlyInventory } from '../inventory/inventory.js';

/** Largest chunk accepted by default, in bytes (40,960). */
export const DEFAULT_MAX_CHUNK_SIZE = 40_960;

/** Where a store keeps chunk bytes: an LMDB sub-database, or an append-only file beside it. */
export type ChunkStorage = 'lmdb' | 'log';

/** What happened to one put chunk: stored, already present, or refused and why. */
export type PutOutcome =
  /** `added` is false when the chunk was already stored (a no-op success). */
  | { ok: true; address: Address; added: boolean; positions: readonly number[] }
  /**
   * Refused (SPEC §2: e.g. NOT_ANNOUNCED, CHUNK_TOO_LARGE), or not written for a store failure of
   * this chunk alone (STORE_IO or STORE_PERMISSION: a damaged record of it that could not be
   * removed first); the other chunks of the call are stored all the same.
   */
  | { ok: false; address: Address | undefined; error: AtlasError };

/** What discard() did: `positions` are the bits it cleared (empty when the chunk was not announced). */
export interface DiscardOutcome {
  discarded: boolean;
  positions: readonly number[];
}

/** A chunk whose hash the caller has already checked. */
export interface VerifiedChunk {
  address: Address;
  data: Uint8Array;
  /**
   * A position where the caller expects the address (a downloader knows the one it asked for).
   * Only a hint: the store checks it against its sequence, and finds every position of the
   * address when the hint is wrong or the address is announced more than once.
   */
  position?: number;
}

/**
 * The node's durable state: the announcement sequence, the chunks and the inventory derived from
 * both. A chunk is stored only when SPEC §2 admits it; a stored chunk is never evicted.
 */
export interface ChunkStore {
  readonly maxChunkSize: number;

  /** Number of announcements in the sequence. */
  sequenceLength(): number;
  addressAt(position: number): Address | undefined;
  /** Every position at which `address` is announced, ascending; empty when not announced. */
  positionsOf(address: Address): readonly number[];
  /**
   * Whether the address at `position` is announced at another position too. Answered without
   * looking the address up: a downloader asks it of every position it plans, to know which few
   * need their other positions checked for a request in flight. Optional: without it every
   * planned address has its positions looked up (`positionsOf`), which costs more. It must never
   * answer false for an address announced twice: the downloader relies on it to put no address in
   * a request twice, and sends its requests unchecked.
   */
  isRepeatedAt?(position: number): boolean;
  /** Digest of the first `length` announcements (SPEC §6 consensus check); 40 hex chars. */
  sequenceDigest(length?: number): string;

  /** Appends announcements; positions must continue the sequence exactly (BAD_ANNOUNCEMENT). */
  append(announcements: readonly Announcement[]): Promise<void>;
  /** Drops every announcement at position >= length; chunk bytes stay. */
  truncate(length: number): Promise<void>;

  /** Admits and stores one chunk, or throws an AtlasError and changes nothing. */
  put(data: Uint8Array): Promise<PutOutcome & { ok: true }>;
  /** Admits and stores many; one outcome per chunk, never throws for a refused chunk. */
  putMany(chunks: readonly Uint8Array[]): Promise<PutOutcome[]>;
  /** Stores chunks whose hashes are already verified; still checks size and announcement. */
  putVerified(chunks: readonly VerifiedChunk[]): Promise<PutOutcome[]>;

  get(address: Address): Uint8Array | undefined;
  /**
   * get(), without a copy where the store reads through a cache (the chunk log): the bytes may be
   * shared with other answers, so the caller must not change them. For a reader that only hashes
   * and sends them (serving). Optional: get() serves otherwise.
   */
  getShared?(address: Address): Uint8Array | undefined;
  /**
   * The 20-byte addresses at `positions`, end to end, in memory of their own (zeroed first), or
   * undefined when one is past the sequence. Optional: atlasnet's stores have it, and a download
   * then sends these bytes as its request instead of turning the hex back into them. A store that
   * has it must answer exactly what `addressAt` answers: the replies are checked against the hex,
   * so any other bytes would have honest peers blamed for chunks that do not match.
   */
  packedAddressesAt?(positions: readonly number[]): Uint8Array | undefined;
  has(address: Address): boolean;
  /** Number of distinct chunks stored that are announced in the current sequence. */
  chunkCount(): number;
  /** Total bytes of the chunks counted by chunkCount(). */
  chunkBytes(): number;

  /**
   * Quarantine: removes the stored chunk at `address` if its bytes no longer hash to it, clearing
   * its bits so that it is fetched again. An intact chunk is never removed.
   */
  discard(address: Address): Promise<DiscardOutcome>;

  /** The node's own inventory: bit i set when the chunk at position i is stored. Read-only view. */
  readonly inventory: ReadonlyInventory;

  close(): Promise<void>;
}
