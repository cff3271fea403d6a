/**
 * One process per data directory. The in-memory state of an open store (inventory, counters,
 * digest) is derived once and then kept by its own writes, so a second process writing the same
 * LMDB environment would make both wrong, silently. The lock is a file, `atlas.lock`, holding the
 * owner's pid and host name:
 *
 * - it is created complete and atomically: written under a private name, then hard-linked to
 *   `atlas.lock` (link fails if the name exists), so no reader ever sees a half-written lock;
 * - a lock whose pid is alive on this host is respected: BUSY, naming the holder;
 * - a lock whose pid is dead (or that is unreadable garbage) is stale: it is removed, only if it
 *   still holds what we judged stale (moved aside, then checked: removeIfStill), and taken over.
 * A lock written on another host (a shared file system) is respected: its pid cannot be checked.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { AtlasError, ErrorCodes } from '../errors.js';

export const STORE_LOCK_FILE = 'atlas.lock';
/** Private names a lock is written under before it is linked into place, or moved to when judged stale. */
export const STORE_LOCK_TEMP = /^atlas\.lock\.\d+(\.stale)?\.tmp$/;

const TAKEOVER_ATTEMPTS = 3;

export interface StoreLockHolder {
  pid: number;
  host: string;
}

export interface StoreLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** Takes the lock of the data directory `dir`, or throws BUSY naming the live holder. */
export function acquireStoreLock(dir: string): StoreLock {
  const path = join(dir, STORE_LOCK_FILE);
  const mine: StoreLockHolder = { pid: process.pid, host: hostname() };
  const text = `${JSON.stringify(mine)}\n`;
  const temp = join(dir, `${STORE_LOCK_FILE}.${process.pid}.tmp`);
  const aside = join(dir, `${STORE_LOCK_FILE}.${process.pid}.stale.tmp`);
  writeFileSync(temp, text, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      try {
        linkSync(temp, path);
        return ownedLock(path, text);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw lockError(dir, error);
      }
      const found = readHolderText(path);
      if (found === undefined) continue; // removed meanwhile: try again
      const holder = parseHolder(found);
      if (holder !== undefined && isAlive(holder)) {
        throw new AtlasError(ErrorCodes.BUSY, `the store in ${dir} is in use by process ${holder.pid} on ${holder.host} (lock file ${path})`, {
          path: dir,
          holderPid: holder.pid,
          holderHost: holder.host,
        });
      }
      removeIfStill(path, found, aside);
    }
    throw new AtlasError(ErrorCodes.BUSY, `the store in ${dir} is being locked by another process`, { path: dir });
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}

/**
 * Removes the lock at `path` if it still holds `stale`. Checking, then unlinking, would leave a
 * gap in which another process could take the stale lock over, and the unlink remove that
 * process's new lock: both would run. So the lock is moved aside under our own name (atomic)
 * and checked there; a lock that turns out to be another's is linked back into place.
 */
function removeIfStill(path: string, stale: string, aside: string): void {
  try {
    renameSync(path, aside);
  } catch {
    return; // removed meanwhile: the next attempt sees what is there
  }
  try {
    if (readHolderText(aside) !== stale) linkSync(aside, path);
  } catch {
    // A third process locked in the gap (EEXIST): its lock stands, and the next attempt sees it.
  } finally {
    try {
      unlinkSync(aside);
    } catch {
      // already gone
    }
  }
}

/** The holder named by the lock file in `dir`, if any (for reports; does not judge liveness). */
export function readStoreLock(dir: string): StoreLockHolder | undefined {
  const text = readHolderText(join(dir, STORE_LOCK_FILE));
  return text === undefined ? undefined : parseHolder(text);
}

function ownedLock(path: string, text: string): StoreLock {
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      if (readHolderText(path) !== text) return; // taken over (we were judged dead): not ours to remove
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

function readHolderText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): StoreLockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<StoreLockHolder>;
    if (Number.isSafeInteger(value.pid) && (value.pid as number) > 0 && typeof value.host === 'string') return { pid: value.pid as number, host: value.host };
  } catch {
    // garbage: no holder
  }
  return undefined;
}

function isAlive(holder: StoreLockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

function lockError(dir: string, error: unknown): AtlasError {
  return new AtlasError(ErrorCodes.STORE_CORRUPT, `cannot lock the store in ${dir}: ${(error as Error).message}`, { path: dir }, { cause: error });
}
