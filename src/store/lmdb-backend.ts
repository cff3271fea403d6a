/**
 * The store backend over one LMDB environment (lmdb.ts opens it): the sequence and the digest
 * checkpoints in LMDB sub-databases, each write one LMDB transaction, read through memory pages
 * (sequence-pages.ts); chunk bytes in a `ChunkRecords`, the chunk log or a sub-database.
 */
import { storeWrite } from './file-error.js';
import type { Database, RootDatabase } from 'lmdb';
import { copyAddressBytes, hexOfAddress } from '../address.js';
import { sameAddress } from './address-index.js';
import type { ChunkRecords, ChunkWrites, StoreBackend } from './backend.js';
import type { ChunkStorage } from './types.js';
import { ChunkLog, type ChunkLogScan } from './chunk-log.js';
import { LmdbSequence, type RunDatabase } from './lmdb-sequence.js';
import { RecentAddresses } from './recent-addresses.js';
import type { DigestCheckpoint } from './sequence-digest.js';
import { SequencePages } from './sequence-pages.js';

type Positional = Database<Buffer, number>;

/** The sub-databases of an open store, and where its chunk bytes are. */
export interface Databases {
  chunks: Database<Buffer, Buffer>;
  sequence: RunDatabase;
  checkpoints: Positional;
  /** Where this store's chunk bytes are. */
  storage: ChunkStorage;
  /** Writes the format record when it is missing or old (rewriting an older store's sequence): called once the chunk records opened. */
  commitFormat(): void;
}

/** The sequence and checkpoints in LMDB sub-databases (each write one LMDB transaction); chunks in `records`. */
export class LmdbBackend implements StoreBackend {
  readonly #sequence: LmdbSequence;
  readonly #checkpoints: Positional;
  readonly #records: ChunkRecords;
  readonly #recent = new RecentAddresses();
  readonly #pages: SequencePages;
  readonly chunkStorage: ChunkStorage;
  readonly chunkLog: ChunkLogScan | undefined;

  constructor(
    readonly path: string,
    /** Gives the data directory back (its lock, its place among the open ones): called once closed. */
    private readonly release: () => void,
    private readonly env: RootDatabase,
    dbs: Databases,
    records: ChunkRecords,
    sequenceCacheBytes: number,
  ) {
    this.#sequence = new LmdbSequence(dbs.sequence, path);
    this.#pages = new SequencePages((from, to) => this.addressRange(from, to), sequenceCacheBytes);
    this.#checkpoints = dbs.checkpoints;
    this.#records = records;
    this.chunkStorage = dbs.storage;
    this.chunkLog = records instanceof ChunkLog ? records.scan : undefined;
  }

  /** The sequence length: its positions must be exactly 0 .. length - 1. */
  readLength(): number {
    return this.#sequence.readLength();
  }

  isAddressAt(position: number, key: Uint8Array, keyAt = 0): boolean {
    return this.#pages.matches(position, key, keyAt) ?? sameAddress(this.#unpaged(position), key, keyAt);
  }

  copyAddressTo(position: number, into: Uint8Array, offset: number): boolean {
    if (this.#pages.copyTo(position, into, offset) === true) return true;
    const address = this.#unpaged(position);
    if (address === undefined) return false;
    copyAddressBytes(address, 0, into, offset);
    return true;
  }

  get sequenceCache(): { bytes: number; maxBytes: number } {
    return { bytes: this.#pages.bytes, maxBytes: this.#pages.maxBytes };
  }

  get chunkCache(): { bytes: number; maxBytes: number; records: number } | undefined {
    return this.#records instanceof ChunkLog ? this.#records.cache : undefined;
  }

  addressHexAt(position: number): string | undefined {
    return this.#pages.hexAt(position) ?? hexOfAddress(this.#unpaged(position));
  }

  /** A position the pages do not hold (past their bound): from the recent reads, else from LMDB. */
  #unpaged(position: number): Uint8Array | undefined {
    const recent = this.#recent.get(position);
    if (recent !== undefined) return recent;
    const address = this.#sequence.address(position);
    if (address !== undefined) this.#recent.set(position, address);
    return address;
  }

  addressRange(from: number, to: number): Iterable<Uint8Array> {
    return this.#sequence.range(from, to);
  }

  chunk(key: Buffer): Uint8Array | undefined {
    return this.#records.chunk(key);
  }

  sharedChunk(key: Buffer): Uint8Array | undefined {
    const records = this.#records;
    return records.sharedChunk === undefined ? records.chunk(key) : records.sharedChunk(key);
  }

  hasChunk(key: Buffer): boolean {
    return this.#records.hasChunk(key);
  }

  chunkSize(key: Buffer): number | undefined {
    return this.#records.chunkSize(key);
  }

  chunkSizes(): Iterable<{ key: Buffer; size: number }> {
    return this.#records.chunkSizes();
  }

  readCheckpoints(): (Uint8Array | undefined)[] {
    const checkpoints: (Uint8Array | undefined)[] = [];
    for (const { key, value } of this.#checkpoints.getRange({ start: 0 })) checkpoints[key] = Buffer.from(value);
    return checkpoints;
  }

  writeCheckpoints(checkpoints: readonly DigestCheckpoint[]): void {
    this.#checkpoints.transactionSync(() => {
      for (const checkpoint of checkpoints) this.#checkpoints.putSync(checkpoint.index, Buffer.from(checkpoint.digest));
    });
  }

  async append(start: number, keys: Buffer, checkpoints: readonly DigestCheckpoint[]): Promise<void> {
    await storeWrite(this.path, `cannot write the sequence in ${this.path}`, () =>
      this.env.transaction(() => {
        this.#sequence.appendInTransaction(start, keys);
        for (const checkpoint of checkpoints) this.#checkpoints.putSync(checkpoint.index, Buffer.from(checkpoint.digest));
      }),
    );
    this.#pages.appended(start, keys); // once committed: the pages only ever hold what LMDB does
  }

  async truncate(length: number, old: number, firstDroppedCheckpoint: number): Promise<void> {
    const droppedCheckpoints = [...this.#checkpoints.getKeys({ start: firstDroppedCheckpoint })];
    await storeWrite(this.path, `cannot write the sequence in ${this.path}`, () =>
      this.env.transaction(() => {
        this.#sequence.truncateInTransaction(length, old);
        for (const index of droppedCheckpoints) this.#checkpoints.removeSync(index);
      }),
    );
    this.#recent.dropFrom(length);
    this.#pages.dropFrom(length);
  }

  storeChunks(writes: ChunkWrites): Promise<boolean[]> {
    return this.#records.storeChunks(writes);
  }

  removeChunk(key: Buffer): Promise<void> {
    return this.#records.removeChunk(key);
  }

  rereadChunk(key: Buffer): Uint8Array | undefined {
    return this.#records.rereadChunk(key);
  }

  expectChunks(count: number): void {
    this.#records.expectChunks?.(count);
  }

  async close(): Promise<void> {
    // The pages go with the store, as the chunk log's cache does: a closed store still referenced holds none.
    this.#pages.dropFrom(0);
    try {
      await this.#records.close();
      await this.env.close();
    } finally {
      this.release();
    }
  }
}
