/**
 * The chunk records of a store kept in one append-only file, `chunks.log` (chunk-log-format.ts),
 * instead of an LMDB sub-database: every put is a sequential write, where a hash-keyed B-tree
 * writes a random page per chunk once it outgrows a commit (README, "Chunk storage").
 *
 * A write appends its records in one positional write, then fdatasync (unless noSync), then
 * indexes them: reads see only records on disk. The index (chunk-log-index.ts) lives in memory and
 * is rebuilt at open (chunk-log-scan.ts) by reading the file once, hashing every record again:
 *
 * - a record whose bytes do not hash to its address is damaged: skipped (its chunk is missing and
 *   is fetched again), counted in `damaged`;
 * - a record cut by the end of the file, or a length field that makes no sense (0, as in the zeros
 *   a crash can leave where a write had extended the file; above MAX_RECORD_DATA; past the end)
 *   with no intact record anywhere after it, is a torn end: the `cut` bytes from there on are
 *   cut off before the next write (opening writes nothing), so new records follow the last whole
 *   one;
 * - such a length field with an intact record after it, however far, is damage, not a tear: the
 *   scan goes on from that record (the bytes between count as one damaged record), and nothing
 *   intact is ever cut;
 * - a length field damaged into a plausible wrong length shows as a record failing its hash: the
 *   scan then goes on from the first intact record after that record's start when it comes before
 *   where the length points, so the records the wrong length jumps over are not lost;
 * - a second record for an address already read (possible only after a damaged first copy) is
 *   skipped.
 *
 * Every chunk is announced and held by every peer, so what a damaged log lost is fetched again.
 * Removing a chunk (the store discards damaged bytes) only drops it from the index: its record
 * fails the same hash check at the next open.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ADDRESS_BYTES } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { flushDirectory, storeFileError } from './file-error.js';
import type { Logger } from '../runtime.js';
import type { ChunkRecords, ChunkWrites } from './backend.js';
import type { AddressHasher } from './address-index.js';
import { indexBatch, recordBatch, WriteSpace } from './chunk-log-batch.js';
import { ChunkLogIndex } from './chunk-log-index.js';
import { CHUNK_LOG_FILE, LOG_HEADER, RECORD_HEADER } from './chunk-log-format.js';
import { RecordReader } from './chunk-log-reader.js';
import { scanLog, type ScanResult } from './chunk-log-scan.js';

/** What opening the log found. */
export interface ChunkLogScan {
  /** Whole, intact records indexed. */
  records: number;
  /** Records whose bytes do not hash to their address (skipped). */
  damaged: number;
  /** Bytes cut from the end of the file (a torn or unreadable tail). */
  cut: number;
}

/** What a new store's directory holds as a chunk log (ChunkLog.findBeforeFormat). */
export type LogBeforeFormat = 'none' | 'partial' | 'records';

export interface ChunkLogOptions {
  /**
   * The largest chunk the store admits: after damage, the scan looks for intact records of at
   * most this size (default 1 MiB). Records larger than it that follow damage are not looked for,
   * and are dropped with the damaged span; the store would refuse them now anyway.
   */
  maxChunkSize?: number;
  /** Skips fdatasync: a machine crash can lose acknowledged chunks (tests and benchmarks only). */
  noSync?: boolean;
  logger?: Logger;
  /** The index's address hasher (tests give a weak one, so that keys share placements); default keyed. */
  hasher?: AddressHasher;
  /**
   * The most memory, in bytes, records read again at random places are kept in, so that reading one
   * again costs no read call (recent-records.ts; default 0: none kept; a store opens its log with
   * DEFAULT_CHUNK_CACHE_BYTES).
   */
  cacheBytes?: number;
}

export class ChunkLog implements ChunkRecords {
  readonly path: string;
  readonly scan: ChunkLogScan;
  readonly #handle: FileHandle;
  readonly #fd: number;
  readonly #index: ChunkLogIndex;
  readonly #noSync: boolean;
  readonly #reader: RecordReader;
  readonly #space = new WriteSpace();
  /** Where the next record goes: the end of the last whole record. */
  #end: number;
  /** A storeChunks call is writing. */
  #writing = false;
  /** Unreadable bytes after #end, cut before the next write. */
  #tail: number;
  /** Keys and sizes read at open, for `chunkSizes` (released once read). */
  #opened: { keys: Buffer; sizes: Uint32Array } | undefined;

  private constructor(path: string, handle: FileHandle, noSync: boolean, index: ChunkLogIndex, found: ScanResult, cacheBytes: number) {
    this.path = path;
    this.#handle = handle;
    this.#fd = handle.fd;
    this.#noSync = noSync;
    this.#index = index;
    this.#reader = RecordReader.of(handle.fd, { cacheBytes });
    this.#end = found.end;
    this.#tail = found.cut;
    this.scan = { records: found.sizes.length, damaged: found.damaged, cut: found.cut };
    this.#opened = { keys: found.keys, sizes: found.sizes };
  }

  /** Whether `dir` holds a chunk log. */
  static exists(dir: string): boolean {
    return existsSync(join(dir, CHUNK_LOG_FILE));
  }

  /**
   * What `dir` holds as a chunk log before its store has a format record: none; `partial`, ours
   * without records (at most the header, as a kill during its creation leaves it); or `records`,
   * anything longer (for `open` to read or refuse). Reads at most the header.
   */
  static findBeforeFormat(dir: string): LogBeforeFormat {
    const path = join(dir, CHUNK_LOG_FILE);
    if (!existsSync(path)) return 'none';
    const fd = openSync(path, 'r');
    try {
      if (fstatSync(fd).size > LOG_HEADER.length) return 'records';
      const start = Buffer.alloc(LOG_HEADER.length);
      const read = readSync(fd, start, 0, LOG_HEADER.length, 0);
      return LOG_HEADER.subarray(0, read).equals(start.subarray(0, read)) ? 'partial' : 'records';
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Makes sure a new store's log exists, before the store records that its chunks live there: a
   * partial one (findBeforeFormat) is written again whole, durably, directory entry included. A
   * log holding records is left as it is.
   */
  static prepareNew(dir: string, found: LogBeforeFormat): void {
    if (found === 'records') return;
    const path = join(dir, CHUNK_LOG_FILE);
    if (found === 'partial') unlinkSync(path);
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      throw new AtlasError(ErrorCodes.STORE_CORRUPT, `cannot create ${path}: ${(error as Error).message}`, { path }, { cause: error });
    }
    try {
      writeSync(fd, LOG_HEADER);
      fdatasyncSync(fd);
    } catch (error) {
      // A header cut short is a partial log: the next open creates it again.
      throw storeFileError(dir, `cannot write ${path}`, error);
    } finally {
      closeSync(fd);
    }
    flushDirectory(path, dir, `cannot flush ${dir} after creating ${CHUNK_LOG_FILE}`);
  }

  /** Removes a partial log (findBeforeFormat) of a new store that keeps its chunks in LMDB after all. */
  static removePartial(dir: string, found: LogBeforeFormat): void {
    if (found !== 'partial') return;
    const path = join(dir, CHUNK_LOG_FILE);
    unlinkSync(path);
    flushDirectory(path, dir, `cannot flush ${dir} after removing ${CHUNK_LOG_FILE}`);
  }

  /** Opens the log in `dir`, rebuilding its index (see the file comment for what a damaged file does). */
  static async open(dir: string, options: ChunkLogOptions = {}): Promise<ChunkLog> {
    const path = join(dir, CHUNK_LOG_FILE);
    let handle: FileHandle;
    try {
      handle = await openFile(path, 'r+');
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new AtlasError(
        ErrorCodes.STORE_CORRUPT,
        missing ? `${dir} records its chunks in ${CHUNK_LOG_FILE}, which is missing` : `cannot open ${path}: ${(error as Error).message}`,
        { path },
        { cause: error },
      );
    }
    try {
      const scratch = Buffer.allocUnsafe(ADDRESS_BYTES);
      const index = new ChunkLogIndex((offset) => storedAddress(handle.fd, path, offset, scratch), options.hasher ? { hasher: options.hasher } : {});
      const found = scanLog(handle.fd, path, index, options.maxChunkSize);
      if (found.cut > 0 || found.damaged > 0) {
        options.logger?.warn('chunk log: unreadable records dropped; their chunks will be fetched again', { path, damaged: found.damaged, cutBytes: found.cut });
      }
      return new ChunkLog(path, handle, options.noSync === true, index, found, options.cacheBytes ?? 0);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** One read of the whole record (or none, along a run: chunk-log-reader.ts), which also confirms its address. */
  chunk(key: Buffer): Uint8Array | undefined {
    return dataOf(this.#index.readRecord(key, this.#readRecord));
  }

  /** As chunk(), without a copy: a view of what was read ahead, which the caller must not change (RecordReader.view). */
  sharedChunk(key: Buffer): Uint8Array | undefined {
    return dataOf(this.#index.readRecord(key, this.#viewRecord));
  }

  /** As chunk(), read from the file itself, past the read-ahead window (what a discard hashes). */
  rereadChunk(key: Buffer): Uint8Array | undefined {
    return dataOf(this.#index.readRecord(key, this.#rereadRecord));
  }

  // The record readers the index calls, made once (not a closure a read).
  readonly #readRecord = (offset: number, length: number): Uint8Array => this.#whole(this.#reader.read(offset, RECORD_HEADER + length, this.#end), offset, length);
  readonly #viewRecord = (offset: number, length: number): Uint8Array => this.#whole(this.#reader.view(offset, RECORD_HEADER + length, this.#end), offset, length);
  readonly #rereadRecord = (offset: number, length: number): Uint8Array => this.#whole(this.#reader.readExact(offset, RECORD_HEADER + length), offset, length);

  /** A record read whole (a short read throws). */
  #whole(record: Buffer, offset: number, length: number): Buffer {
    if (record.length !== RECORD_HEADER + length) throw this.#shortRead(offset);
    return record;
  }

  hasChunk(key: Buffer): boolean {
    return this.#index.find(key) !== undefined;
  }

  chunkSize(key: Buffer): number | undefined {
    return this.#index.lengthOf(key);
  }

  *chunkSizes(): Iterable<{ key: Buffer; size: number }> {
    const opened = this.#opened;
    this.#opened = undefined;
    if (opened === undefined) throw new AtlasError(ErrorCodes.INTERNAL, 'chunk log sizes are read once, at open');
    for (let i = 0; i < opened.sizes.length; i++) {
      yield { key: opened.keys.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES), size: opened.sizes[i] as number };
    }
  }

  /**
   * Chunks are at most MAX_RECORD_DATA bytes: the store admits no larger (LmdbChunkStore.open
   * checks maxChunkSize). One call at a time (the store's write queue): a second call while one
   * is writing would place its records at the same end of the file, so it throws.
   */
  async storeChunks(writes: ChunkWrites): Promise<boolean[]> {
    if (this.#writing) throw new Error('ChunkLog.storeChunks: one write at a time');
    this.#writing = true;
    try {
      return await this.#storeChunks(writes);
    } finally {
      this.#writing = false;
    }
  }

  async #storeChunks(writes: ChunkWrites): Promise<boolean[]> {
    const batch = recordBatch(writes, this.#index, this.#space);
    const { records } = batch;
    if (records === undefined) return batch.added;
    // Room in the index before the write: a growth that cannot be allocated then fails the batch
    // with nothing written (and the old table whole), and adding the records after the write
    // finds room without growing (a growth inside that loop, reached after V8 optimised it,
    // threw the optimised code away).
    this.#index.reserve(batch.adding);
    const start = this.#end;
    try {
      if (this.#tail > 0) {
        await this.#handle.truncate(start);
        this.#tail = 0;
      }
      let written = 0;
      while (written < records.length) {
        const { bytesWritten } = await this.#handle.write(records, written, records.length - written, start + written);
        written += bytesWritten;
      }
      if (!this.#noSync) await this.#handle.datasync();
    } catch (error) {
      this.#tail = Math.max(this.#tail, 1); // part of it may be on disk: cut before the next write
      throw storeFileError(this.path, `cannot write ${this.path}`, error);
    }
    this.#end = start + records.length;
    indexBatch(writes, batch, this.#index, start);
    return batch.added;
  }

  expectChunks(count: number): void {
    this.#index.expect(count);
  }

  async removeChunk(key: Buffer): Promise<void> {
    const removed = this.#index.remove(key);
    if (removed !== undefined) this.#reader.recent?.forget(removed.offset);
  }

  /** The memory records read again at random places are kept in: held now and the bound (undefined: none are kept). */
  get cache(): { bytes: number; maxBytes: number; records: number } | undefined {
    const recent = this.#reader.recent;
    return recent === undefined ? undefined : { bytes: recent.bytes, maxBytes: recent.maxBytes, records: recent.size };
  }

  async close(): Promise<void> {
    this.#reader.recent?.clear();
    this.#space.release();
    await this.#handle.close();
  }

  #shortRead(offset: number): AtlasError {
    return shortRead(this.path, offset);
  }
}

/** The address stored in the record at `offset`, read into `scratch`. */
function storedAddress(fd: number, path: string, offset: number, scratch: Buffer): Buffer {
  if (readSync(fd, scratch, 0, ADDRESS_BYTES, offset + 4) !== ADDRESS_BYTES) throw shortRead(path, offset);
  return scratch;
}

function shortRead(path: string, offset: number): AtlasError {
  return new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} ends inside the record at byte ${offset}: the file was cut while the store was open`, { path, offset });
}

/** A whole record's chunk bytes (a view of it), or undefined. */
function dataOf(record: Uint8Array | undefined): Uint8Array | undefined {
  return record === undefined ? undefined : new Uint8Array(record.buffer, record.byteOffset + RECORD_HEADER, record.length - RECORD_HEADER);
}
