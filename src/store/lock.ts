/**
 * One process per data directory. The in-memory state of an open store (inventory, counters,
 * digest) is derived once and then kept by its own writes, so a second process writing the same
 * LMDB environment would make both wrong, silently. The lock is the file `atlas.lock`, held for
 * the store's life (file-lock.ts: created atomically, a live holder respected, a dead one's lock
 * taken over by one process at a time).
 */
import { join } from 'node:path';
import { acquireFileLock, readLockHolder, type FileLock, type LockHolder } from '../file-lock.js';
import { storeFileError } from './file-error.js';

export const STORE_LOCK_FILE = 'atlas.lock';
/** Held by the one process removing a stale lock at a time (file-lock.ts, removeStale). */
export const STORE_LOCK_TAKEOVER = 'atlas.lock.takeover';
/** Private names a lock is written under before it is linked into place, and the takeover file. */
export const STORE_LOCK_TEMP = /^atlas\.lock\.(\d+\.tmp|takeover)$/;

/** Who holds a store's lock. */
export type StoreLockHolder = LockHolder;
/** A store's lock, held by this process. */
export type StoreLock = FileLock;

/** Takes the lock of the data directory `dir`, or throws BUSY naming the live holder. */
export function acquireStoreLock(dir: string): StoreLock {
  return acquireFileLock(join(dir, STORE_LOCK_FILE), {
    what: `the store in ${dir}`,
    details: { path: dir },
    // A lock file that cannot be written or linked: the file system's refusal (a full disk, no hard links, no access).
    ioError: (error) => storeFileError(dir, `cannot lock the store in ${dir}`, error),
  });
}

/** The holder named by the lock file in `dir`, if any (for reports; does not judge liveness). */
export function readStoreLock(dir: string): StoreLockHolder | undefined {
  return readLockHolder(join(dir, STORE_LOCK_FILE));
}
