/**
 * Checks a data directory before lmdb-js opens it. This exists because lmdb-js (3.x) does not fail
 * cleanly on a bad environment: when the native open fails (a data.mdb that is not an LMDB file,
 * a file it cannot read or write) its error path crashes the whole process with SIGSEGV. So every
 * failure the native open could hit is checked here first and reported as STORE_CORRUPT.
 *
 * The check reads LMDB's two meta pages (struct MDB_meta of liblmdb, 64-bit layout) and the root
 * page each one points to. It catches a directory that is not ours, a file of garbage and a
 * truncated file; it cannot prove the B-tree itself intact (LMDB keeps no page checksums).
 */
import { accessSync, closeSync, constants, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { makeDirectories } from '../durable-file.js';
import { join } from 'node:path';
import { AtlasError, ErrorCodes } from '../errors.js';
import { CHUNK_LOG_FILE } from './chunk-log-format.js';
import { STORE_LOCK_FILE, STORE_LOCK_TEMP } from './lock.js';

export const LMDB_DATA_FILE = 'data.mdb';
export const LMDB_LOCK_FILE = 'lock.mdb';

const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_META = 0x08;
const P_INVALID = 0xffff_ffff_ffff_ffffn;
/** sizeof(MDB_page_header): pgno (8), txnid (8), pad (2), flags (2), lower (2), upper (2). */
const PAGE_HEADER = 24;
const PAGE_FLAGS = 18;
/** Offsets inside MDB_meta, from the start of the meta page. */
const META_MAGIC = PAGE_HEADER + 0;
const META_VERSION = PAGE_HEADER + 4;
const META_PAGE_SIZE = PAGE_HEADER + 24; // mm_dbs[FREE_DBI].md_pad
const META_FREE_ROOT = PAGE_HEADER + 64; // mm_dbs[FREE_DBI].md_root
const META_MAIN_ROOT = PAGE_HEADER + 112; // mm_dbs[MAIN_DBI].md_root
const META_LAST_PAGE = PAGE_HEADER + 120;
const META_TXNID = PAGE_HEADER + 128;
const META_BYTES = PAGE_HEADER + 144;

function corrupt(path: string, why: string): AtlasError {
  return new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not a usable atlasnet store: ${why}`, { path });
}

export interface PrepareOptions {
  /**
   * Treat a 0-byte data.mdb as a new, empty store (default false: refused). A store that held
   * chunks never has an empty data file, but a file emptied by an accident must not silently
   * become a fresh store that then syncs over nothing.
   */
  acceptEmptyDataFile?: boolean;
}

/**
 * Makes sure `path` is a directory that is empty or holds only an LMDB environment (and our lock
 * file and chunk log), creating it when absent: what must be known before the store's lock is
 * written into it. What data.mdb holds is judged under the lock (inspectEnvironment): a process
 * creating the store leaves it empty, then partly written, for a moment.
 */
export function checkDirectory(path: string): void {
  let stat;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    throw corrupt(path, `cannot stat it (${(error as Error).message})`);
  }
  if (stat === undefined) {
    try {
      makeDirectories(path);
    } catch (error) {
      throw corrupt(path, `cannot create it (${(error as Error).message})`);
    }
    return;
  }
  if (!stat.isDirectory()) throw corrupt(path, 'it is not a directory');
  checkAccess(path, 'the directory');
  const entries = readdirSync(path);
  const foreign = entries.filter((name) => name !== LMDB_DATA_FILE && name !== LMDB_LOCK_FILE && name !== CHUNK_LOG_FILE && name !== STORE_LOCK_FILE && !STORE_LOCK_TEMP.test(name));
  if (foreign.length > 0) {
    throw corrupt(path, `the directory holds files that are not part of an atlasnet store (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''})`);
  }
}

/**
 * Whether data.mdb in the store directory `path` (checkDirectory) already holds an environment
 * (false: a new store); STORE_CORRUPT when it is not a usable one. Called under the store's lock.
 */
export function inspectEnvironment(path: string, options: PrepareOptions = {}): { existing: boolean } {
  const entries = readdirSync(path);
  const lockPath = join(path, LMDB_LOCK_FILE);
  if (entries.includes(LMDB_LOCK_FILE)) checkAccess(lockPath, LMDB_LOCK_FILE);
  if (!entries.includes(LMDB_DATA_FILE)) return { existing: false };
  const dataPath = join(path, LMDB_DATA_FILE);
  const dataStat = statSync(dataPath);
  if (!dataStat.isFile()) throw corrupt(path, `${LMDB_DATA_FILE} is not a regular file`);
  checkAccess(dataPath, LMDB_DATA_FILE);
  if (dataStat.size === 0) {
    if (options.acceptEmptyDataFile === true) return { existing: false };
    throw corrupt(path, `${LMDB_DATA_FILE} is empty (0 bytes); it is not re-initialised unless asked (acceptEmptyDataFile)`);
  }
  checkDataFile(path, dataPath, dataStat.size);
  return { existing: true };
}

function checkAccess(path: string, what: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch {
    throw corrupt(path, `${what} is not readable and writable by this process`);
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, offset);
  return buffer.subarray(0, read);
}

function checkDataFile(dir: string, dataPath: string, size: number): void {
  const fd = openSync(dataPath, 'r');
  try {
    const first = readAt(fd, 0, META_BYTES);
    const pageSize = checkMeta(dir, first, 0);
    if (size < 2 * pageSize) throw corrupt(dir, `${LMDB_DATA_FILE} is truncated (${size} bytes)`);
    const second = readAt(fd, pageSize, META_BYTES);
    if (checkMeta(dir, second, 1) !== pageSize) throw corrupt(dir, `${LMDB_DATA_FILE} has meta pages of different page sizes`);
    const pages = BigInt(Math.floor(size / pageSize));
    // Only the newest snapshot's roots are checked: that is the one LMDB opens, and the pages of
    // an older one may already be free for reuse.
    const newest = first.readBigUInt64LE(META_TXNID) >= second.readBigUInt64LE(META_TXNID) ? first : second;
    {
      const meta = newest;
      const lastPage = meta.readBigUInt64LE(META_LAST_PAGE);
      for (const offset of [META_FREE_ROOT, META_MAIN_ROOT]) {
        const root = meta.readBigUInt64LE(offset);
        if (root === P_INVALID) continue;
        if (root < 2n || root > lastPage || root >= pages) throw corrupt(dir, `${LMDB_DATA_FILE} points to a root page outside the file`);
        const header = readAt(fd, Number(root) * pageSize, PAGE_HEADER);
        if (header.length < PAGE_HEADER || header.readBigUInt64LE(0) !== root || (header.readUInt16LE(PAGE_FLAGS) & (P_BRANCH | P_LEAF)) === 0) {
          throw corrupt(dir, `${LMDB_DATA_FILE} has a damaged root page`);
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Returns the page size a valid meta page records. */
function checkMeta(dir: string, page: Buffer, index: number): number {
  if (page.length < META_BYTES) throw corrupt(dir, `${LMDB_DATA_FILE} is truncated`);
  if ((page.readUInt16LE(PAGE_FLAGS) & P_META) === 0 || page.readUInt32LE(META_MAGIC) !== MDB_MAGIC) {
    throw corrupt(dir, `${LMDB_DATA_FILE} is not an LMDB file (meta page ${index})`);
  }
  const version = page.readUInt32LE(META_VERSION) & 0xffff;
  if (version !== MDB_DATA_VERSION) throw corrupt(dir, `${LMDB_DATA_FILE} has LMDB data version ${version}, expected ${MDB_DATA_VERSION}`);
  const pageSize = page.readUInt32LE(META_PAGE_SIZE);
  if (pageSize < 512 || pageSize > 65_536 || (pageSize & (pageSize - 1)) !== 0) {
    throw corrupt(dir, `${LMDB_DATA_FILE} records an impossible page size (${pageSize})`);
  }
  return pageSize;
}
