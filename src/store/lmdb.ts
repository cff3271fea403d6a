/**
 * The durable ChunkStore: the one ChunkStore (chunk-store.ts) over one LMDB environment (lmdb-js)
 * per node, read and written by its backend (lmdb-backend.ts), with sub-databases
 *
 *   chunks       20-byte address -> the chunk's bytes (every chunk ever stored; never evicted),
 *                unless the store keeps its chunks in an append-only file (chunk-log.ts)
 *   sequenceRuns uint32 k -> the addresses of positions 1024k .. 1024k + 1023, end to end
 *                (the current sequence, no holes; lmdb-sequence.ts)
 *   checkpoints  uint32 k -> d_{1024k}, the sequence-digest checkpoints (sequence-digest.ts)
 *   meta         'format' -> { magic, version, chunks? }
 *
 * Format 4 says where the chunks are (`chunks: 'lmdb' | 'log'`) and keeps the sequence in runs.
 * Formats 2 and 3 (chunks in LMDB, in chunks.log) kept it one entry a position (`sequence`):
 * opening one rewrites it into runs and writes format 4 (lmdb-sequence.ts). A new store is written
 * in the layout its options ask for (`chunkStorage`); an existing one keeps the layout it was
 * created with.
 *
 * Each backend write is one LMDB transaction, which commits entirely or not at all: that is what
 * makes the derived inventory crash-safe (chunk-store.ts). Reads go to LMDB (memory-mapped); the
 * address -> positions index lives in memory, rebuilt at open from the sequence (address-index.ts).
 * Format 1 also kept that index in LMDB (`byAddress`, ~140 bytes a position, random writes that
 * touch the whole file): opening a format-1 store drops it and rewrites the format record.
 *
 * One process per data directory: the in-memory derived state assumes no other writer, so the
 * directory is locked while the store is open (lock.ts).
 */
import { open, type RootDatabase } from 'lmdb';
import { flushDirectory } from './file-error.js';
import { AtlasError, ErrorCodes, InvalidOptionError } from '../errors.js';
import { checkOptionNames } from '../options-overlay.js';
import type { Logger } from '../runtime.js';
import { checkMaxChunkSize } from './admission.js';
import { hashReady } from '../hash/index.js';
import type { ChunkRecords } from './backend.js';
import { MAX_RECORD_DATA } from './chunk-log-format.js';
import { ChunkLog, type ChunkLogScan } from './chunk-log.js';
import { BackedChunkStore } from './chunk-store.js';
import { ensureUsableDirectory } from './data-dir.js';
import { LmdbBackend, type Databases } from './lmdb-backend.js';
import { LmdbChunkRecords } from './lmdb-chunks.js';
import { checkDirectory, inspectEnvironment } from './lmdb-file.js';
import { DEFAULT_CHUNK_CACHE_BYTES } from './recent-records.js';
import { DEFAULT_SEQUENCE_CACHE_BYTES } from './sequence-pages.js';
import { SEQUENCE_RUNS_DB, migrateToRuns } from './lmdb-sequence.js';
import { acquireStoreLock } from './lock.js';
import type { ChunkStorage } from './types.js';

export const STORE_FORMAT_MAGIC = 'atlasnet-store';
/** The store format this version writes, and the newest it reads. */
export const STORE_FORMAT_VERSION = 4;
/** The last format that kept the sequence one entry a position. */
const POSITION_ENTRIES_FORMAT = 3;

export type { ChunkStorage };

/** Where a new store keeps chunk bytes unless told. */
export const DEFAULT_CHUNK_STORAGE: ChunkStorage = 'log';
/** The sub-database format 1 kept: address -> packed positions. */
const LEGACY_BY_ADDRESS = 'byAddress';
/** The sub-database formats 1 to 3 kept: uint32 position -> 20-byte address. */
const LEGACY_SEQUENCE = 'sequence';

const DB_NAMES = ['meta', 'chunks', SEQUENCE_RUNS_DB, 'checkpoints'] as const;
/** openDB's option to open a sub-database only if it exists (lmdb-js takes it; its declarations omit it). */
const NO_CREATE: object = { create: false };

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
  /**
   * Where a new store keeps chunk bytes (default 'log'): 'log' appends them to chunks.log, a
   * sequential write where LMDB writes a random page per chunk once its tree outgrows a commit;
   * 'lmdb' keeps them in the environment, whose reads cost no system call (README, "Chunk
   * storage"). An existing store keeps the layout it was created with.
   */
  chunkStorage?: ChunkStorage;
  /**
   * Most memory, in bytes, holding the sequence's addresses in 80 KiB pages of 4,096 positions,
   * each read whole on its first use (default 32 MiB: every position of a sequence of up to
   * 1,675,264; a bound below one page holds none). Random reads of a large sequence cost a fifth
   * of a catch-up's CPU without them; 0 reads every position from LMDB (README, "Sequence pages").
   */
  sequenceCacheBytes?: number;
  /**
   * With chunks in the chunk log: the most memory, in bytes, chunks read again and again at
   * random places are kept in, so that such a chunk costs no read call (default 8 MiB,
   * DEFAULT_CHUNK_CACHE_BYTES; records of up to 4 KiB; 0 keeps none). Chunks in LMDB are read
   * from its memory map and need none (README, "Chunk storage").
   */
  chunkCacheBytes?: number;
  /** Open a 0-byte data.mdb as a new store (default false: refused with STORE_CORRUPT). */
  acceptEmptyDataFile?: boolean;
  logger?: Logger;
}

/** Every option of LmdbChunkStoreOptions: a misspelt one (the chunk layout is fixed for the life of a store) is refused. */
const LMDB_OPTION_NAMES: Record<keyof LmdbChunkStoreOptions, true> = {
  path: true, maxChunkSize: true, mapSize: true, noSync: true, chunkStorage: true, sequenceCacheBytes: true, chunkCacheBytes: true, acceptEmptyDataFile: true, logger: true,
};

interface FormatRecord {
  magic: string;
  version: number;
  chunks?: ChunkStorage;
}

/** Data directories open in this process: lmdb-js would share one environment between two stores. */
const openPaths = new Set<string>();

/** The durable `ChunkStore`: one LMDB environment per node, crash-safe, with memory-mapped reads. */
export class LmdbChunkStore extends BackedChunkStore {
  readonly path: string;
  /** Where this store keeps chunk bytes. */
  readonly chunkStorage: ChunkStorage;
  /** What opening the chunk log found (undefined when chunks are in LMDB). */
  readonly chunkLog: ChunkLogScan | undefined;
  readonly #backend: LmdbBackend;

  private constructor(backend: LmdbBackend, maxChunkSize: number, logger: Logger | undefined) {
    super(backend, { maxChunkSize, details: { path: backend.path }, ...(logger !== undefined ? { logger } : {}) });
    this.path = backend.path;
    this.chunkStorage = backend.chunkStorage;
    this.chunkLog = backend.chunkLog;
    this.#backend = backend;
  }

  /** The sequence pages: bytes held now, and the most they may hold (README, "Sequence pages"). */
  get sequenceCache(): { bytes: number; maxBytes: number } {
    return this.#backend.sequenceCache;
  }

  /** Chunks read at random places and kept (chunkCacheBytes): memory held now, its bound, and how many; undefined with chunks in LMDB. */
  get chunkCache(): { bytes: number; maxBytes: number; records: number } | undefined {
    return this.#backend.chunkCache;
  }

  /**
   * Opens (or creates) the store in `path`. Throws STORE_PERMISSION for a directory or store file
   * that cannot be created, read or written, STORE_CORRUPT for a directory that is not an atlasnet
   * store, a damaged environment, or a store written by a newer format version.
   */
  static async open(options: LmdbChunkStoreOptions): Promise<LmdbChunkStore> {
    checkOptionNames<LmdbChunkStoreOptions>(options, LMDB_OPTION_NAMES, 'LmdbChunkStore.open');
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, 'LmdbChunkStore.open needs a path');
    }
    if (options.chunkStorage !== undefined && options.chunkStorage !== 'lmdb' && options.chunkStorage !== 'log') {
      throw new InvalidOptionError('chunkStorage', `'lmdb' or 'log', got ${String(options.chunkStorage)}`);
    }
    const maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
    const sequenceCacheBytes = byteBound('sequenceCacheBytes', options.sequenceCacheBytes, DEFAULT_SEQUENCE_CACHE_BYTES);
    const chunkCacheBytes = byteBound('chunkCacheBytes', options.chunkCacheBytes, DEFAULT_CHUNK_CACHE_BYTES);
    const path = ensureUsableDirectory(options.path);
    if (openPaths.has(path)) throw new AtlasError(ErrorCodes.BUSY, `the store in ${path} is already open in this process`, { path });
    checkDirectory(path);
    const lock = acquireStoreLock(path);
    let env: RootDatabase | undefined;
    let records: ChunkRecords | undefined;
    openPaths.add(path);
    try {
      // Judged under the lock: a process creating the store holds it while data.mdb is still empty.
      const { existing } = inspectEnvironment(path, { acceptEmptyDataFile: options.acceptEmptyDataFile === true });
      env = openEnvironment(path, options);
      const dbs = openDatabases(env, path, existing, options.chunkStorage ?? DEFAULT_CHUNK_STORAGE, maxChunkSize);
      if (dbs.storage === 'log') {
        await hashReady();
        records = await ChunkLog.open(path, { maxChunkSize, cacheBytes: chunkCacheBytes, ...(options.noSync ? { noSync: true } : {}), ...(options.logger ? { logger: options.logger } : {}) });
      } else {
        records = new LmdbChunkRecords(env, dbs.chunks, path);
      }
      dbs.commitFormat();
      // A new store's files (data.mdb, lock.mdb) are entries of its directory: durable with it.
      if (!existing) flushDirectory(path, path, `cannot flush the new store's directory ${path}`);
      const release = () => {
        openPaths.delete(path);
        lock.release();
      };
      const backend = new LmdbBackend(path, release, env, dbs, records, sequenceCacheBytes);
      return new LmdbChunkStore(backend, maxChunkSize, options.logger);
    } catch (error) {
      openPaths.delete(path);
      await records?.close().catch(() => {});
      await env?.close().catch(() => {});
      lock.release();
      throw error;
    }
  }
}

/** 64 GiB of address space: room for about 300 million chunks of the real size distribution. */
export const DEFAULT_MAP_SIZE = 2 ** 36;

/**
 * The lmdb-js environment options a store opens with: our own spelling of the few lmdb-js takes
 * from us, so that the published declarations never import lmdb-js's, which fail a consumer's type
 * check without skipLibCheck. Passing them to open() checks their types against lmdb-js's, though
 * not a misspelt optional name.
 */
export interface LmdbEnvironmentOptions {
  /** The data directory. */
  path: string;
  /** Most named sub-databases. */
  maxDbs: number;
  /** Memory map size in bytes. */
  mapSize: number;
  /** lmdb-js's overlapping sync (resolve a write before it is flushed). */
  overlappingSync: boolean;
  /** lmdb-js's batching of one event turn's writes behind an unreachable first write. */
  eventTurnBatching: boolean;
  /** Skip fsync (tests and benchmarks only). */
  noSync?: boolean;
}

/** The lmdb-js environment options of a store in `path`. */
export function environmentOptions(path: string, options: Pick<LmdbChunkStoreOptions, 'mapSize' | 'noSync'>): LmdbEnvironmentOptions {
  return {
    path,
    maxDbs: DB_NAMES.length + 3,
    // One map reserved up front: address space only, the file grows as written. Letting lmdb-js
    // grow the map instead remaps the file and keeps the old maps alive, so the same pages are
    // counted in RSS several times over (measured: 4 maps, 2.2x the file, at 1M positions).
    mapSize: options.mapSize ?? DEFAULT_MAP_SIZE,
    // lmdb-js's default on Linux (overlapping sync) resolves a write when it is committed and
    // flushes it to disk afterwards, alongside the next transaction: a machine crash could then
    // lose chunks the node had acknowledged and offered. Off, a write resolves once it is on disk;
    // group commits keep the throughput (measured the same, 300,000 puts/s in merged commits).
    overlappingSync: false,
    // lmdb-js's event-turn batching opens each turn's batch with a write whose promise nobody can
    // reach; when the disk refuses that commit, the promise rejects unhandled and Node's default
    // ends the process (lmdb-js issue #368). Off, writes of a turn still merge into one commit
    // (lmdb-js starts it on the next setImmediate) and every rejection reaches its caller.
    eventTurnBatching: false,
    ...(options.noSync ? { noSync: true } : {}),
  };
}

function openEnvironment(path: string, options: LmdbChunkStoreOptions): RootDatabase {
  try {
    return open(environmentOptions(path, options));
  } catch (error) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `cannot open the LMDB environment in ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
}

function openDatabases(env: RootDatabase, path: string, existing: boolean, wanted: ChunkStorage, maxChunkSize: number): Databases {
  const names = existing ? [...env.getKeys()].map(String) : [];
  const foreign = names.filter((name) => !(DB_NAMES as readonly string[]).includes(name) && name !== LEGACY_BY_ADDRESS && name !== LEGACY_SEQUENCE);
  if (foreign.length > 0) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} holds an LMDB environment that is not an atlasnet store (it has ${foreign.slice(0, 5).join(', ')})`, { path });
  }
  // An existing environment is judged from the sub-databases it already has, opened without
  // creating any: one that is not ours, or a newer atlasnet's, is refused unchanged. Ours are
  // created only once it is known to be an atlasnet store this version reads (or a new one).
  const opened = <K extends Buffer | number>(name: string, keyEncoding: 'binary' | 'uint32') =>
    names.includes(name) ? env.openDB<Buffer, K>(name, { keyEncoding, encoding: 'binary', ...NO_CREATE }) : undefined;
  const format = names.includes('meta') ? readFormat(env, path) : undefined;
  const found = [opened('chunks', 'binary'), opened(SEQUENCE_RUNS_DB, 'uint32'), opened('checkpoints', 'uint32')];
  const legacy = opened<Buffer>(LEGACY_BY_ADDRESS, 'binary');
  const positions = opened<number>(LEGACY_SEQUENCE, 'uint32');
  let storage: ChunkStorage;
  let version: number = STORE_FORMAT_VERSION;
  if (format === undefined) {
    // A store killed while it was being created has no format record yet, and nothing else (a
    // log store may have its chunks.log, created first: without records, the options decide; a
    // log with records found alone, say beside a lost data.mdb, makes it a log store).
    const populated = [...found, legacy, positions].some((db) => db !== undefined && db.getCount() > 0);
    if (populated) throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} holds data but no atlasnet format record`, { path });
    const log = ChunkLog.findBeforeFormat(path);
    storage = log === 'records' ? 'log' : wanted;
    if (storage === 'log') {
      checkLogChunkSize(maxChunkSize);
      ChunkLog.prepareNew(path, log);
    } else {
      ChunkLog.removePartial(path, log);
    }
  } else {
    ({ storage, version } = checkFormat(format, path));
    if (storage === 'lmdb' && ChunkLog.exists(path)) throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} keeps its chunks in LMDB but also holds a chunk log`, { path });
    if (storage === 'log') checkLogChunkSize(maxChunkSize);
  }
  const meta = env.openDB<FormatRecord, string>('meta', { encoding: 'msgpack' });
  const dbs = {
    chunks: env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' }),
    sequence: env.openDB<Buffer, number>(SEQUENCE_RUNS_DB, { keyEncoding: 'uint32', encoding: 'binary' }),
    checkpoints: env.openDB<Buffer, number>('checkpoints', { keyEncoding: 'uint32', encoding: 'binary' }),
  };
  const record: FormatRecord = { magic: STORE_FORMAT_MAGIC, version: STORE_FORMAT_VERSION, chunks: storage };
  const rewrite = format === undefined || legacy !== undefined || positions !== undefined || version < STORE_FORMAT_VERSION;
  // The old entries go, and the new record is written, in one last transaction: a kill before it
  // leaves the older format whole (the runs written so far are cleared and written again).
  const commitFormat = () => {
    if (!rewrite) return;
    if (version <= POSITION_ENTRIES_FORMAT && positions !== undefined) migrateToRuns(positions, dbs.sequence, path);
    env.transactionSync(() => {
      legacy?.dropSync();
      positions?.dropSync();
      meta.putSync('format', record);
    });
  };
  return { ...dbs, storage, commitFormat };
}

/** What a memory bound option takes (sequenceCacheBytes, chunkCacheBytes): a whole number of bytes >= 0. */
export function isByteCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** A memory bound option: `value`, or `fallback` when undefined; INVALID_OPTION unless isByteCount. */
function byteBound(option: string, value: number | undefined, fallback: number): number {
  const bytes = value ?? fallback;
  if (!isByteCount(bytes)) throw new InvalidOptionError(option, `a whole number of bytes >= 0, got ${String(value)}`);
  return bytes;
}

function checkLogChunkSize(maxChunkSize: number): void {
  if (maxChunkSize <= MAX_RECORD_DATA) return;
  throw new InvalidOptionError('maxChunkSize', `a store keeping chunks in a log admits chunks of at most ${MAX_RECORD_DATA} bytes, got ${maxChunkSize}; keep them in LMDB (chunkStorage: 'lmdb')`);
}

/** The format record of an environment that has a `meta` sub-database, read without creating anything; STORE_CORRUPT when it cannot be read or decoded. */
function readFormat(env: RootDatabase, path: string): unknown {
  try {
    return env.openDB<unknown, string>('meta', { encoding: 'msgpack', ...NO_CREATE }).get('format');
  } catch (error) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not an atlasnet store (unreadable format record: ${(error as Error).message})`, { path }, { cause: error });
  }
}

/** Checks a store's format record; answers where its chunks are, and its version. */
function checkFormat(format: unknown, path: string): { storage: ChunkStorage; version: number } {
  const record = format as Partial<FormatRecord> | null;
  if (typeof record !== 'object' || record === null || record.magic !== STORE_FORMAT_MAGIC || typeof record.version !== 'number') {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not an atlasnet store (bad format record)`, { path });
  }
  const { version } = record;
  if (version > STORE_FORMAT_VERSION) {
    throw new AtlasError(
      ErrorCodes.STORE_CORRUPT,
      `${path} was written by a newer atlasnet (store format ${version}; this version reads up to ${STORE_FORMAT_VERSION}): upgrade atlasnet`,
      { path, version, supported: STORE_FORMAT_VERSION },
    );
  }
  if (version < 1 || !Number.isInteger(version)) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} has an invalid store format version ${version}`, { path });
  }
  // Formats 1 and 2 kept chunks in LMDB and said nothing of it; format 3 was the chunk log's.
  if (version <= 2) return { storage: 'lmdb', version };
  if (version === 3 && record.chunks === 'log') return { storage: 'log', version };
  if (version === STORE_FORMAT_VERSION && (record.chunks === 'lmdb' || record.chunks === 'log')) return { storage: record.chunks, version };
  throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} has a format ${version} record without its chunk layout`, { path });
}
