/**
 * The chunk records of a store kept in one append-only file, `chunks.log`, instead of an LMDB
 * sub-database: every put is a sequential write, where a hash-keyed B-tree writes a random page
 * per chunk once it outgrows a commit (README, "Chunk storage").
 *
 *   file    = header record*
 *   header  = "atlasnet-chunks" 0x01                        (16 bytes)
 *   record  = length (uint32 LE, >= 1) address (20 bytes) data (length bytes)
 *
 * A write appends its records in one positional write, then fdatasync (unless noSync), then
 * indexes them: reads see only records on disk. The index (chunk-log-index.ts) lives in memory and
 * is rebuilt at open by reading the file once, hashing every record again:
 *
 * - a record whose bytes do not hash to its address is damaged: skipped (its chunk is missing and
 *   is fetched again), counted in `damaged`;
 * - a record cut by the end of the file, or with length 0 (the zeros a crash can leave where a
 *   write had extended the file), ends the readable log: the `cut` bytes from there on are cut off
 *   before the next write (opening writes nothing), so that new records follow the last whole one;
 * - a length field that makes no sense where intact records follow (within 1 MiB) is damage, not a
 *   tear: the scan goes on from the next intact record (the bytes between count as one damaged
 *   record). Further than that, the rest of the file is cut as a tear would be; every chunk is
 *   announced and held by every peer, so what was there is fetched again;
 * - a second record for an address already read (possible only after a damaged first copy) is
 *   skipped.
 *
 * Removing a chunk (the store discards damaged bytes) only drops it from the index: its record
 * fails the same hash check at the next open.
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ADDRESS_BYTES } from '../address.js';
import { fsyncDirectory } from '../durable-file.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { hash160, hash160Batch } from '../hash/index.js';
import type { Logger } from '../runtime.js';
import type { ChunkRecords } from './backend.js';
import { ChunkLogIndex } from './chunk-log-index.js';

export const CHUNK_LOG_FILE = 'chunks.log';
const HEADER = Buffer.from('atlasnet-chunks\x01', 'latin1');
const RECORD_HEADER = 4 + ADDRESS_BYTES;
/** Bytes read at a time while rebuilding the index. */
const SCAN_BLOCK = 4 * 1024 * 1024;
/**
 * The largest record the log holds (its data): a longer length field is damage. Chunks are 40 KiB
 * by default; a store whose maxChunkSize is above this cannot keep its chunks in a log.
 */
export const MAX_RECORD_DATA = 64 * 1024 * 1024;
/** How far past a damaged length field the scan looks for the next intact record. */
const RESYNC_WINDOW = 1024 * 1024;
/** Records longer than this are not looked for there (real chunks are far smaller). */
const RESYNC_RECORD = 1024 * 1024;

/** What opening the log found. */
export interface ChunkLogScan {
  /** Whole, intact records indexed. */
  records: number;
  /** Records whose bytes do not hash to their address (skipped). */
  damaged: number;
  /** Bytes cut from the end of the file (a torn or unreadable tail). */
  cut: number;
}

export interface ChunkLogOptions {
  /** Skips fdatasync: a machine crash can lose acknowledged chunks (tests and benchmarks only). */
  noSync?: boolean;
  logger?: Logger;
}

export class ChunkLog implements ChunkRecords {
  readonly path: string;
  readonly scan: ChunkLogScan;
  readonly #handle: FileHandle;
  readonly #fd: number;
  readonly #index: ChunkLogIndex;
  readonly #noSync: boolean;
  /** Where the next record goes: the end of the last whole record. */
  #end: number;
  /** Unreadable bytes after #end, cut before the next write. */
  #tail: number;
  /** Keys and sizes read at open, for `chunkSizes` (released once read). */
  #opened: { keys: Buffer; sizes: Uint32Array } | undefined;

  private constructor(path: string, handle: FileHandle, noSync: boolean, index: ChunkLogIndex, found: ScanResult) {
    this.path = path;
    this.#handle = handle;
    this.#fd = handle.fd;
    this.#noSync = noSync;
    this.#index = index;
    this.#end = found.end;
    this.#tail = found.cut;
    this.scan = { records: found.count, damaged: found.damaged, cut: found.cut };
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
  static findBeforeFormat(dir: string): 'none' | 'partial' | 'records' {
    const path = join(dir, CHUNK_LOG_FILE);
    if (!existsSync(path)) return 'none';
    const fd = openSync(path, 'r');
    try {
      if (fstatSync(fd).size > HEADER.length) return 'records';
      const start = Buffer.alloc(HEADER.length);
      const read = readSync(fd, start, 0, HEADER.length, 0);
      return HEADER.subarray(0, read).equals(start.subarray(0, read)) ? 'partial' : 'records';
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Makes sure a new store's log exists, before the store records that its chunks live there: a
   * partial one (findBeforeFormat) is written again whole, durably, directory entry included. A
   * log holding records is left as it is.
   */
  static prepareNew(dir: string): void {
    const found = ChunkLog.findBeforeFormat(dir);
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
      writeSync(fd, HEADER);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDirectory(dir);
  }

  /** Removes a partial log (findBeforeFormat) of a new store that keeps its chunks in LMDB after all. */
  static removePartial(dir: string): void {
    if (ChunkLog.findBeforeFormat(dir) !== 'partial') return;
    unlinkSync(join(dir, CHUNK_LOG_FILE));
    fsyncDirectory(dir);
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
      const index = new ChunkLogIndex((offset) => storedAddress(handle.fd, path, offset, scratch));
      const found = scanLog(handle.fd, path, index);
      if (found.cut > 0 || found.damaged > 0) {
        options.logger?.warn('chunk log: unreadable records dropped; their chunks will be fetched again', { path, damaged: found.damaged, cutBytes: found.cut });
      }
      return new ChunkLog(path, handle, options.noSync === true, index, found);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** One read of the whole record, which also confirms its address. */
  chunk(key: Buffer): Uint8Array | undefined {
    return this.#index.readRecord(key, (offset, length) => {
      const record = Buffer.allocUnsafe(RECORD_HEADER + length);
      if (readSync(this.#fd, record, 0, record.length, offset) !== record.length) throw this.#shortRead(offset);
      return { address: record.subarray(4, RECORD_HEADER), value: new Uint8Array(record.buffer, record.byteOffset + RECORD_HEADER, length) };
    });
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

  async storeChunks(chunks: readonly { key: Buffer; data: Uint8Array }[]): Promise<boolean[]> {
    for (const { data } of chunks) {
      if (data.length > MAX_RECORD_DATA) throw new AtlasError(ErrorCodes.CHUNK_TOO_LARGE, `a chunk log holds chunks of at most ${MAX_RECORD_DATA} bytes, got ${data.length}`, { size: data.length });
    }
    const added = chunks.map(({ key }) => this.#index.find(key) === undefined);
    const inBatch = new Set<string>();
    let bytes = 0;
    chunks.forEach(({ key, data }, i) => {
      if (!added[i]) return;
      const id = key.toString('latin1');
      if (inBatch.has(id)) added[i] = false;
      else {
        inBatch.add(id);
        bytes += RECORD_HEADER + data.length;
      }
    });
    if (bytes === 0) return added;
    const records = Buffer.allocUnsafe(bytes);
    const placed: number[] = [];
    let at = 0;
    chunks.forEach(({ key, data }, i) => {
      if (!added[i]) return;
      placed.push(i, at);
      records.writeUInt32LE(data.length, at);
      key.copy(records, at + 4);
      records.set(data, at + RECORD_HEADER);
      at += RECORD_HEADER + data.length;
    });
    const start = this.#end;
    if (this.#tail > 0) {
      await this.#handle.truncate(start);
      this.#tail = 0;
    }
    try {
      let written = 0;
      while (written < bytes) {
        const { bytesWritten } = await this.#handle.write(records, written, bytes - written, start + written);
        written += bytesWritten;
      }
      if (!this.#noSync) await this.#handle.datasync();
    } catch (error) {
      this.#tail = Math.max(this.#tail, 1); // part of it may be on disk: cut before the next write
      throw error;
    }
    this.#end = start + bytes;
    for (let p = 0; p < placed.length; p += 2) {
      const { key, data } = chunks[placed[p] as number] as { key: Buffer; data: Uint8Array };
      this.#index.add(key, start + (placed[p + 1] as number), data.length);
    }
    return added;
  }

  async removeChunk(key: Buffer): Promise<void> {
    this.#index.remove(key);
  }

  async close(): Promise<void> {
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

interface ScanResult {
  end: number;
  count: number;
  damaged: number;
  cut: number;
  keys: Buffer;
  sizes: Uint32Array;
}

/** Reads every record once, checking each hash, and indexes the intact ones (see the file comment). */
function scanLog(fd: number, path: string, index: ChunkLogIndex): ScanResult {
  let size = fstatSync(fd).size;
  const header = Buffer.alloc(HEADER.length);
  readSync(fd, header, 0, HEADER.length, 0);
  if (size < HEADER.length || !header.equals(HEADER)) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not an atlasnet chunk log (bad header)`, { path });
  }
  const found = new ScanCollector(index);
  let block = Buffer.allocUnsafe(SCAN_BLOCK);
  let offset = HEADER.length;
  let torn = false;
  while (offset < size && !torn) {
    const want = Math.min(block.length, size - offset);
    const got = readSync(fd, block, 0, want, offset);
    if (got < want) size = offset + got; // the file shrank under us: its end is here
    const views: Uint8Array[] = [];
    let at = 0;
    let broken = false;
    for (;;) {
      if (at + RECORD_HEADER > got) {
        torn = offset + at + RECORD_HEADER > size && offset + at < size; // a header cut by the end
        break;
      }
      const length = block.readUInt32LE(at);
      if (length === 0 || length > MAX_RECORD_DATA || offset + at + RECORD_HEADER + length > size) {
        broken = true;
        break;
      }
      if (at + RECORD_HEADER + length > got) {
        if (at === 0) block = Buffer.allocUnsafe(RECORD_HEADER + length); // one record larger than a block
        break;
      }
      views.push(block.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
      at += RECORD_HEADER + length;
    }
    const digests = hash160Batch(views);
    for (let i = 0; i < views.length; i++) {
      const data = views[i] as Uint8Array;
      const start = data.byteOffset - block.byteOffset - RECORD_HEADER;
      const key = block.subarray(start + 4, start + RECORD_HEADER);
      if (key.equals(digests[i] as Uint8Array)) found.add(key, offset + start, data.length);
      else found.damaged++;
    }
    offset += at;
    if (broken) {
      // A tear ends the file; a damaged length field has whole records after it.
      const next = nextIntactRecord(fd, offset, size);
      if (next === undefined) torn = true;
      else {
        found.damaged++;
        offset = next;
      }
    }
  }
  return found.finish(offset, size - offset);
}

/**
 * Where the first intact record (a plausible length, and bytes that hash to the address beside
 * them) starts within RESYNC_WINDOW bytes after `from`, where the records stopped making sense;
 * undefined when there is none (what a crash leaves: a torn write, zeros). Bounded work: one read
 * of at most RESYNC_WINDOW + RESYNC_RECORD + a header, and a hash only where the length is at most
 * RESYNC_RECORD (1 offset in 4,096 of random bytes).
 */
function nextIntactRecord(fd: number, from: number, size: number): number | undefined {
  const span = Math.min(size - from, RESYNC_WINDOW + RECORD_HEADER + RESYNC_RECORD);
  const bytes = Buffer.allocUnsafe(span);
  const got = readSync(fd, bytes, 0, span, from);
  for (let at = 1; at + RECORD_HEADER <= got && at < RESYNC_WINDOW; at++) {
    const length = bytes.readUInt32LE(at);
    if (length === 0 || length > RESYNC_RECORD || at + RECORD_HEADER + length > got) continue;
    const digest = hash160(bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
    if (bytes.subarray(at + 4, at + RECORD_HEADER).equals(digest)) return from + at;
  }
  return undefined;
}

/** Keys and sizes of intact records, in growing packed arrays, indexed as read; the first copy of an address wins. */
class ScanCollector {
  count = 0;
  damaged = 0;
  #keys = Buffer.allocUnsafe(ADDRESS_BYTES * 1024);
  #sizes = new Uint32Array(1024);
  constructor(private readonly index: ChunkLogIndex) {}

  add(key: Buffer, offset: number, size: number): void {
    if (this.index.find(key) !== undefined) return;
    this.index.add(key, offset, size);
    if (this.count === this.#sizes.length) this.#grow();
    key.copy(this.#keys, this.count * ADDRESS_BYTES);
    this.#sizes[this.count] = size;
    this.count++;
  }

  finish(end: number, cut: number): ScanResult {
    const n = this.count;
    return { end, count: n, damaged: this.damaged, cut, keys: this.#keys.subarray(0, n * ADDRESS_BYTES), sizes: this.#sizes.subarray(0, n) };
  }

  #grow(): void {
    // Doubling, up to the largest Buffer this Node.js makes (4 GiB on Node 20: 214 million keys).
    const capacity = Math.min(this.#sizes.length * 2, Math.floor(bufferConstants.MAX_LENGTH / ADDRESS_BYTES));
    if (capacity === this.#sizes.length) {
      throw new AtlasError(ErrorCodes.INTERNAL, `a chunk log of more than ${capacity} records cannot be opened by this Node.js`, { records: capacity });
    }
    const keys = Buffer.allocUnsafe(ADDRESS_BYTES * capacity);
    this.#keys.copy(keys);
    this.#keys = keys;
    const sizes = new Uint32Array(capacity);
    sizes.set(this.#sizes);
    this.#sizes = sizes;
  }
}
