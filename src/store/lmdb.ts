/**
 * The durable ChunkStore: one LMDB environment (lmdb-js) per node, with sub-databases
 *
 *   chunks       20-byte address -> the chunk's bytes (every chunk ever stored; never evicted)
 *   sequence     uint32 position -> 20-byte address (the current sequence, no holes)
 *   byAddress    20-byte address -> its positions in the current sequence, packed big-endian
 *                uint32s, ascending (absent when the address is not announced)
 *   checkpoints  uint32 k -> d_{1024k}, the sequence-digest checkpoints (sequence-digest.ts)
 *   meta         'format' -> { magic, version }
 *
 * Crash safety. Nothing about the inventory is stored: at open, the inventory, the chunk count
 * and the byte count are DERIVED from `chunks` and `byAddress` (bit i is set iff the chunk whose
 * address is at position i is stored). A put writes one record (`chunks`); an append or a
 * truncation writes `sequence`, `byAddress` and `checkpoints` in one transaction. LMDB commits a
 * transaction entirely or not at all, so after a kill at any instant the stored chunks and the
 * sequence are each a committed state, and the bits computed from them can never disagree with
 * them: no chunk without its bits, no bit without its chunk.
 *
 * Writes are serialised through one queue, so each one validates against the committed state it
 * will change; the in-memory state (inventory, counters, digest) changes only after its commit.
 * Reads go to LMDB (memory-mapped) rather than to a JS map of addresses, so a store of a million
 * positions stays cheap in RSS.
 *
 * Reads answer for the current sequence: get/has/chunkCount/chunkBytes see a chunk only while
 * its address is announced. A truncation keeps the bytes, so a chunk announced again is present
 * again at once, without being fetched.
 *
 * One process per data directory: the in-memory derived state assumes no other writer, so the
 * directory is locked while the store is open (lock.ts).
 *
 * Longer than 450 lines: about a third of it (the group-commit queue, admission plumbing, derived
 * counters and inventory, format guards) is not LMDB-specific and is shared in substance with
 * memory.ts; it leaves both files together when one ChunkStore runs over narrow backends.
 */
import { resolve } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { Inventory } from '../inventory/inventory.js';
import { SerialQueue, silentLogger, type Logger } from '../runtime.js';
import { checkAnnounced, checkMaxChunkSize, hashChunks, lookupAddress, parseVerified, throwIfRefused, type AdmissionResult } from './admission.js';
import { validateAppend, validateTruncate } from './announcements.js';
import { prepareDataDir } from './lmdb-file.js';
import { acquireStoreLock, type StoreLock } from './lock.js';
import { discardChunk, type DiscardOutcome } from './quarantine.js';
import { SequenceDigest } from './sequence-digest.js';
import type { ChunkStore, PutOutcome, VerifiedChunk } from './types.js';

export const STORE_FORMAT_MAGIC = 'atlasnet-store';
export const STORE_FORMAT_VERSION = 1;

const NO_OVERWRITE = { noOverwrite: true } as const;
/** Bits set per inventory call while deriving the inventory at open. */
const DERIVE_BATCH = 65_536;
const DB_NAMES = ['meta', 'chunks', 'sequence', 'byAddress', 'checkpoints'] as const;

/** Options of `LmdbChunkStore`: data directory, chunk size limit, map size and durability. */
export interface LmdbChunkStoreOptions {
  /** The data directory (created when absent). */
  path: string;
  /** Largest chunk admitted, in bytes (default 40,960). */
  maxChunkSize?: number;
  /** Initial memory map size in bytes; lmdb-js grows it as needed. */
  mapSize?: number;
  /** Skips fsync: faster, but a machine crash can lose or corrupt data. For tests and benchmarks only. */
  noSync?: boolean;
  /** Open a 0-byte data.mdb as a new store (default false: refused with STORE_CORRUPT). */
  acceptEmptyDataFile?: boolean;
  logger?: Logger;
}

interface FormatRecord {
  magic: string;
  version: number;
}

type Bytes = Database<Buffer, Buffer>;
type Positional = Database<Buffer, number>;

/** Data directories open in this process: lmdb-js would share one environment between two stores. */
const openPaths = new Set<string>();

/** The durable `ChunkStore`: one LMDB environment per node, crash-safe, with memory-mapped reads. */
export class LmdbChunkStore implements ChunkStore {
  readonly maxChunkSize: number;
  readonly inventory: Inventory;
  readonly path: string;

  readonly #env: RootDatabase;
  readonly #chunks: Bytes;
  readonly #sequence: Positional;
  readonly #byAddress: Bytes;
  readonly #checkpoints: Positional;
  readonly #digest: SequenceDigest;
  #length: number;
  #count: number;
  #bytes: number;
  /** Every chunk in `chunks`, announced or not: while it is 0, appends skip the chunk lookups. */
  #stored: number;
  readonly #queue = new SerialQueue();
  /** The store batch waiting at the tail of the queue: later puts join it (group commit). */
  #storeBatch: StoreBatch | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #lock: StoreLock;

  private constructor(init: {
    path: string;
    lock: StoreLock;
    maxChunkSize: number;
    env: RootDatabase;
    dbs: { chunks: Bytes; sequence: Positional; byAddress: Bytes; checkpoints: Positional };
    logger: Logger;
  }) {
    this.path = init.path;
    this.#lock = init.lock;
    this.maxChunkSize = init.maxChunkSize;
    this.#env = init.env;
    this.#chunks = init.dbs.chunks;
    this.#sequence = init.dbs.sequence;
    this.#byAddress = init.dbs.byAddress;
    this.#checkpoints = init.dbs.checkpoints;
    this.#length = this.#readLength();
    const { digest, rebuilt } = SequenceDigest.restore((from, to) => this.#addressBytes(from, to), this.#length, this.#readCheckpoints());
    this.#digest = digest;
    if (rebuilt.length > 0) {
      init.logger.warn('sequence digest checkpoints were missing and have been rebuilt', { path: init.path, rebuilt: rebuilt.length });
      this.#checkpoints.transactionSync(() => {
        for (const checkpoint of rebuilt) this.#checkpoints.putSync(checkpoint.index, Buffer.from(checkpoint.digest));
      });
    }
    const derived = this.#deriveInventory();
    this.inventory = derived.inventory;
    this.#count = derived.count;
    this.#bytes = derived.bytes;
    this.#stored = derived.stored;
  }

  /**
   * Opens (or creates) the store in `path`. Throws STORE_CORRUPT for a directory that is not an
   * atlasnet store, a damaged environment, or a store written by a newer format version.
   */
  static async open(options: LmdbChunkStoreOptions): Promise<LmdbChunkStore> {
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, 'LmdbChunkStore.open needs a path');
    }
    const maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
    const path = resolve(options.path);
    if (openPaths.has(path)) throw new AtlasError(ErrorCodes.BUSY, `the store in ${path} is already open in this process`, { path });
    const { existing } = prepareDataDir(path, { acceptEmptyDataFile: options.acceptEmptyDataFile === true });
    const lock = acquireStoreLock(path);
    let env: RootDatabase | undefined;
    openPaths.add(path);
    try {
      env = openEnvironment(path, options);
      const dbs = openDatabases(env, path, existing);
      return new LmdbChunkStore({ path, lock, maxChunkSize, env, dbs, logger: options.logger ?? silentLogger });
    } catch (error) {
      openPaths.delete(path);
      await env?.close().catch(() => {});
      lock.release();
      throw error;
    }
  }

  sequenceLength(): number {
    this.#checkOpen();
    return this.#length;
  }

  addressAt(position: number): Address | undefined {
    this.#checkOpen();
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) return undefined;
    const bytes = this.#sequence.getBinaryFast(position);
    return bytes === undefined ? undefined : bytes.toString('hex', 0, 20);
  }

  positionsOf(address: Address): readonly number[] {
    this.#checkOpen();
    const key = lookupAddress(address);
    if (key === undefined) return [];
    return unpackPositions(this.#byAddress.getBinaryFast(Buffer.from(key, 'hex')));
  }

  sequenceDigest(length?: number): string {
    this.#checkOpen();
    return this.#digest.digestHex(length);
  }

  append(announcements: readonly Announcement[]): Promise<void> {
    const batch = Array.isArray(announcements) ? announcements.slice() : announcements;
    return this.#enqueue(() => this.#append(batch));
  }

  truncate(length: number): Promise<void> {
    return this.#enqueue(() => this.#truncate(length));
  }

  async put(data: Uint8Array): Promise<PutOutcome & { ok: true }> {
    return throwIfRefused((await this.putMany([data]))[0] as PutOutcome);
  }

  /** Sizes and hashes are checked, and the bytes copied, when the call is made; the rest in turn. */
  putMany(chunks: readonly Uint8Array[]): Promise<PutOutcome[]> {
    return this.#enqueueStore(() => hashChunks(chunks, this.maxChunkSize));
  }

  putVerified(chunks: readonly VerifiedChunk[]): Promise<PutOutcome[]> {
    return this.#enqueueStore(() => parseVerified(chunks, this.maxChunkSize));
  }

  get(address: Address): Uint8Array | undefined {
    this.#checkOpen();
    const key = lookupAddress(address);
    if (key === undefined) return undefined;
    const keyBytes = Buffer.from(key, 'hex');
    if (!this.#byAddress.doesExist(keyBytes)) return undefined;
    const data = this.#chunks.getBinary(keyBytes);
    return data === undefined ? undefined : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  has(address: Address): boolean {
    this.#checkOpen();
    const key = lookupAddress(address);
    if (key === undefined) return false;
    const keyBytes = Buffer.from(key, 'hex');
    return this.#byAddress.doesExist(keyBytes) && this.#chunks.doesExist(keyBytes);
  }

  chunkCount(): number {
    this.#checkOpen();
    return this.#count;
  }

  chunkBytes(): number {
    this.#checkOpen();
    return this.#bytes;
  }

  /**
   * Removes a stored chunk whose bytes no longer hash to its address (found by a verified read):
   * its record goes, its bits clear, and it can be fetched again. Bytes that do hash are kept.
   */
  discard(address: Address): Promise<DiscardOutcome> {
    return this.#enqueue(async () => {
      const key = lookupAddress(address);
      if (key === undefined) return { discarded: false, positions: [] };
      const keyBytes = Buffer.from(key, 'hex');
      const removed = await discardChunk(keyBytes, {
        read: () => this.#chunks.getBinary(keyBytes),
        remove: () => this.#chunks.remove(keyBytes),
      });
      if (removed === undefined) return { discarded: false, positions: [] };
      this.#stored--;
      const positions = unpackPositions(this.#byAddress.getBinaryFast(keyBytes));
      if (positions.length > 0) {
        for (const position of positions) this.inventory.remove(position);
        this.#count--;
        this.#bytes -= removed;
      }
      return { discarded: true, positions };
    });
  }

  /** Waits for every queued write, then closes the environment. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#queue.idle();
      try {
        await this.#env.close();
      } finally {
        openPaths.delete(this.path);
        this.#lock.release();
      }
    })();
    return this.#closing;
  }

  async #append(announcements: readonly Announcement[]): Promise<void> {
    const start = this.#length;
    const addresses = validateAppend(announcements, start);
    if (addresses.length === 0) return;
    const keys = addresses.map((address) => Buffer.from(address, 'hex'));
    const plan = this.#digest.planAppend(keys);
    // New positions per address of this batch, in order; the existing list is read once.
    const grouped = new Map<Address, { key: Buffer; before: Buffer | undefined; added: number[] }>();
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i] as Address;
      let entry = grouped.get(address);
      if (entry === undefined) {
        const key = keys[i] as Buffer;
        entry = { key, before: this.#byAddress.getBinary(key), added: [] };
        grouped.set(address, entry);
      }
      entry.added.push(start + i);
    }
    await this.#env.transaction(() => {
      // Positions only ever grow at the end: MDB_APPEND fills pages instead of splitting them half-full.
      for (let i = 0; i < keys.length; i++) this.#sequence.putSync(start + i, keys[i] as Buffer, APPEND);
      for (const entry of grouped.values()) this.#byAddress.putSync(entry.key, appendPositions(entry.before, entry.added));
      for (const checkpoint of plan.checkpoints) this.#checkpoints.putSync(checkpoint.index, Buffer.from(checkpoint.digest));
    });
    this.#length = plan.length;
    this.#digest.commitAppend(plan);
    this.inventory.setLength(plan.length);
    for (const entry of grouped.values()) {
      const size = this.#chunkSize(entry.key);
      if (size === undefined) continue;
      this.inventory.addMany(entry.added);
      if (entry.before === undefined) {
        this.#count++;
        this.#bytes += size;
      }
    }
  }

  async #truncate(length: number): Promise<void> {
    validateTruncate(length);
    const old = this.#length;
    if (length >= old) return;
    const affected = new Map<Address, { key: Buffer; kept: Buffer | undefined }>();
    for (const { value } of this.#sequence.getRange({ start: length, end: old })) {
      const address = value.toString('hex', 0, 20);
      if (affected.has(address)) continue;
      const key = Buffer.from(address, 'hex');
      affected.set(address, { key, kept: keepPositionsBelow(this.#byAddress.getBinary(key), length) });
    }
    const firstDropped = SequenceDigest.firstDroppedCheckpoint(length);
    const droppedCheckpoints = [...this.#checkpoints.getKeys({ start: firstDropped })];
    await this.#env.transaction(() => {
      for (let position = length; position < old; position++) this.#sequence.removeSync(position);
      for (const entry of affected.values()) {
        if (entry.kept === undefined) this.#byAddress.removeSync(entry.key);
        else this.#byAddress.putSync(entry.key, entry.kept);
      }
      for (const index of droppedCheckpoints) this.#checkpoints.removeSync(index);
    });
    for (const entry of affected.values()) {
      if (entry.kept !== undefined) continue;
      const size = this.#chunkSize(entry.key);
      if (size === undefined) continue;
      this.#count--;
      this.#bytes -= size;
    }
    this.#length = length;
    this.inventory.setLength(length);
    this.#digest.truncate(length);
  }

  #enqueueStore(precheck: () => AdmissionResult[]): Promise<PutOutcome[]> {
    if (this.#closed) return Promise.reject(closedError());
    let prepared: AdmissionResult[];
    try {
      prepared = copyAdmitted(precheck());
    } catch (error) {
      return Promise.reject(error);
    }
    let batch = this.#storeBatch;
    if (batch === undefined) {
      const fresh: StoreBatch = { parts: [] };
      void this.#enqueue(() => {
        if (this.#storeBatch === fresh) this.#storeBatch = undefined;
        return this.#storeParts(fresh.parts);
      }).catch(() => {}); // each part's promise carries the failure
      this.#storeBatch = batch = fresh;
    }
    return new Promise((resolve, reject) => batch.parts.push({ prepared, resolve, reject }));
  }

  /**
   * Group commit: every put queued behind the same write shares one transaction (one fsync), so
   * throughput grows with load instead of being capped at one batch per commit.
   */
  async #storeParts(parts: StoreBatch['parts']): Promise<void> {
    try {
      const outcomes = await this.#store(parts.flatMap((part) => part.prepared));
      let offset = 0;
      for (const part of parts) {
        part.resolve(outcomes.slice(offset, offset + part.prepared.length));
        offset += part.prepared.length;
      }
    } catch (error) {
      for (const part of parts) part.reject(error);
    }
  }

  /**
   * Stores the admitted chunks: one `chunks` record each, all in one transaction. A record is
   * written with MDB_NOOVERWRITE, so "already stored" (including a repeat within the batch) is
   * decided by LMDB inside the transaction, without a lookup of our own.
   */
  async #store(prepared: AdmissionResult[]): Promise<PutOutcome[]> {
    const keys: Buffer[] = new Array(prepared.length);
    const positions: number[][] = new Array(prepared.length);
    const results = checkAnnounced(prepared, (address, index) => {
      const key = Buffer.from(address, 'hex');
      const packed = this.#byAddress.getBinaryFast(key);
      if (packed === undefined) return false;
      keys[index] = key;
      positions[index] = unpackPositions(packed);
      return true;
    });
    const added: boolean[] = new Array(results.length).fill(false);
    if (results.some((result) => result.ok)) {
      await this.#env.transaction(() => {
        for (let i = 0; i < results.length; i++) {
          const result = results[i] as AdmissionResult;
          if (result.ok) added[i] = this.#chunks.putSync(keys[i] as Buffer, result.data as Buffer, NO_OVERWRITE) as unknown as boolean;
        }
      });
    }
    const bits: number[] = [];
    const outcomes: PutOutcome[] = results.map((result, i) => {
      if (!result.ok) return result;
      const at = positions[i] as number[];
      if (added[i]) {
        for (const position of at) bits.push(position);
        this.#stored++;
        this.#count++;
        this.#bytes += result.data.length;
      }
      return { ok: true, address: result.address, added: added[i] as boolean, positions: at };
    });
    if (bits.length > 0) this.inventory.addMany(bits);
    return outcomes;
  }

  /** Runs write tasks one at a time, in call order. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    this.#storeBatch = undefined; // puts made after this task must not overtake it
    return this.#queue.run(task);
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }

  #chunkSize(key: Buffer): number | undefined {
    if (this.#stored === 0) return undefined;
    return this.#chunks.getBinaryFast(key)?.length;
  }

  /** The sequence length: its positions must be exactly 0 .. count - 1. */
  #readLength(): number {
    const count = this.#sequence.getCount();
    if (count === 0) return 0;
    // With `count` keys and no hole, the only key >= count - 1 is count - 1 itself.
    const tail = [...this.#sequence.getKeys({ start: count - 1, limit: 2 })];
    if (tail.length !== 1 || tail[0] !== count - 1) {
      throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the stored sequence has holes: ${count} positions, not numbered 0 to ${count - 1}`, { path: this.path });
    }
    return count;
  }

  #readCheckpoints(): (Uint8Array | undefined)[] {
    const checkpoints: (Uint8Array | undefined)[] = [];
    for (const { key, value } of this.#checkpoints.getRange({ start: 0 })) checkpoints[key] = Buffer.from(value);
    return checkpoints;
  }

  *#addressBytes(from: number, to: number): Iterable<Uint8Array> {
    for (const { value } of this.#sequence.getRange({ start: from, end: to })) yield value;
  }

  /** The inventory, chunk count and byte count, from the stored chunks and the sequence. */
  #deriveInventory(): { inventory: Inventory; count: number; bytes: number; stored: number } {
    const inventory = new Inventory(this.#length);
    let count = 0;
    let bytes = 0;
    let stored = 0;
    const bits: number[] = [];
    for (const { key, value } of this.#chunks.getRange({})) {
      stored++;
      const size = value.length;
      const positions = unpackPositions(this.#byAddress.getBinaryFast(key));
      if (positions.length === 0) continue;
      if ((positions[positions.length - 1] as number) >= this.#length) {
        throw new AtlasError(ErrorCodes.STORE_CORRUPT, `chunk ${key.toString('hex')} is indexed at positions past the sequence`, { path: this.path });
      }
      for (const position of positions) bits.push(position);
      if (bits.length >= DERIVE_BATCH) inventory.addMany(bits.splice(0));
      count++;
      bytes += size;
    }
    inventory.addMany(bits);
    return { inventory, count, bytes, stored };
  }
}

/** The admitted chunks with their bytes copied into one buffer (Buffer views), so callers may reuse theirs. */
function copyAdmitted(results: AdmissionResult[]): AdmissionResult[] {
  let total = 0;
  for (const result of results) if (result.ok) total += result.data.length;
  const slab = Buffer.allocUnsafe(total);
  let offset = 0;
  return results.map((result) => {
    if (!result.ok) return result;
    slab.set(result.data, offset);
    const data = slab.subarray(offset, offset + result.data.length);
    offset += result.data.length;
    return { ok: true, address: result.address, data };
  });
}

function closedError(): AtlasError {
  return new AtlasError(ErrorCodes.CLOSED, 'the chunk store is closed');
}

const APPEND = { append: true } as const;

/** 64 GiB of address space: room for about 300 million chunks of the real size distribution. */
export const DEFAULT_MAP_SIZE = 2 ** 36;

function openEnvironment(path: string, options: LmdbChunkStoreOptions): RootDatabase {
  try {
    return open({
      path,
      maxDbs: DB_NAMES.length + 3,
      // One map reserved up front: address space only, the file grows as written. Letting lmdb-js
      // grow the map instead remaps the file and keeps the old maps alive, so the same pages are
      // counted in RSS several times over (measured: 4 maps, 2.2x the file, at 1M positions).
      mapSize: options.mapSize ?? DEFAULT_MAP_SIZE,
      ...(options.noSync ? { noSync: true } : {}),
    });
  } catch (error) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `cannot open the LMDB environment in ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}

function openDatabases(env: RootDatabase, path: string, existing: boolean): { chunks: Bytes; sequence: Positional; byAddress: Bytes; checkpoints: Positional } {
  const names = existing ? [...env.getKeys()].map(String) : [];
  const foreign = names.filter((name) => !(DB_NAMES as readonly string[]).includes(name));
  if (foreign.length > 0) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} holds an LMDB environment that is not an atlasnet store (it has ${foreign.slice(0, 5).join(', ')})`, { path });
  }
  const meta = env.openDB<FormatRecord, string>('meta', { encoding: 'msgpack' });
  const dbs = {
    chunks: env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' }),
    sequence: env.openDB<Buffer, number>('sequence', { keyEncoding: 'uint32', encoding: 'binary' }),
    byAddress: env.openDB<Buffer, Buffer>('byAddress', { keyEncoding: 'binary', encoding: 'binary' }),
    checkpoints: env.openDB<Buffer, number>('checkpoints', { keyEncoding: 'uint32', encoding: 'binary' }),
  };
  const format = meta.get('format');
  if (format === undefined) {
    // A store killed while it was being created has no format record yet, and nothing else.
    const populated = Object.values(dbs).some((db) => db.getCount() > 0);
    if (populated) throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} holds data but no atlasnet format record`, { path });
    meta.putSync('format', { magic: STORE_FORMAT_MAGIC, version: STORE_FORMAT_VERSION });
  } else {
    checkFormat(format, path);
  }
  return dbs;
}

function checkFormat(format: unknown, path: string): void {
  const record = format as Partial<FormatRecord> | null;
  if (typeof record !== 'object' || record === null || record.magic !== STORE_FORMAT_MAGIC || typeof record.version !== 'number') {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not an atlasnet store (bad format record)`, { path });
  }
  if (record.version > STORE_FORMAT_VERSION) {
    throw new AtlasError(
      ErrorCodes.STORE_CORRUPT,
      `${path} was written by a newer atlasnet (store format ${record.version}; this version reads up to ${STORE_FORMAT_VERSION}): upgrade atlasnet`,
      { path, version: record.version, supported: STORE_FORMAT_VERSION },
    );
  }
  if (record.version < 1 || !Number.isInteger(record.version)) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} has an invalid store format version ${record.version}`, { path });
  }
}

/** Positions packed as big-endian uint32s, ascending. */
function unpackPositions(packed: Buffer | undefined): number[] {
  if (packed === undefined) return [];
  const positions: number[] = new Array(packed.length >>> 2);
  for (let i = 0; i < positions.length; i++) positions[i] = packed.readUInt32BE(i * 4);
  return positions;
}

function appendPositions(before: Buffer | undefined, added: readonly number[]): Buffer {
  const offset = before?.length ?? 0;
  const packed = Buffer.allocUnsafe(offset + added.length * 4);
  if (before !== undefined) before.copy(packed, 0);
  for (let i = 0; i < added.length; i++) packed.writeUInt32BE(added[i] as number, offset + i * 4);
  return packed;
}

/** The packed list without its positions >= length, or undefined when none stays. */
function keepPositionsBelow(packed: Buffer | undefined, length: number): Buffer | undefined {
  if (packed === undefined) return undefined;
  let count = 0;
  while (count * 4 < packed.length && packed.readUInt32BE(count * 4) < length) count++;
  return count === 0 ? undefined : Buffer.from(packed.subarray(0, count * 4));
}

interface StoreBatch {
  parts: { prepared: AdmissionResult[]; resolve: (outcomes: PutOutcome[]) => void; reject: (error: unknown) => void }[];
}
