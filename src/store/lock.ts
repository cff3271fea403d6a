/**
 * One process per data directory. The in-memory state of an open store (inventory, counters,
 * digest) is derived once and then kept by its own writes, so a second process writing the same
 * LMDB environment would make both wrong, silently. The lock is a file, `atlas.lock`, holding the
 * owner's pid and host name:
 *
 * - it is created complete and atomically: written under a private name, then hard-linked to
 *   `atlas.lock` (link fails if the name exists), so no reader ever sees a half-written lock;
 * - a lock whose pid is alive on this host is respected: BUSY, naming the holder and the file to
 *   remove when that pid is no atlas process (a container restarted after a kill has its own pid);
 * - a lock whose pid is dead (or that is unreadable garbage) is stale: it is removed, only if it
 *   still holds what we judged stale, by one process at a time (removeStale), and taken over.
 * A lock written on another host (a shared file system) is respected: its pid cannot be checked.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { AtlasError, ErrorCodes } from '../errors.js';
import { storeFileError } from './file-error.js';

export const STORE_LOCK_FILE = 'atlas.lock';
/** Held by the one process removing a stale lock at a time (see removeStale). */
export const STORE_LOCK_TAKEOVER = 'atlas.lock.takeover';
/** Private names a lock is written under before it is linked into place, and the takeover file. */
export const STORE_LOCK_TEMP = /^atlas\.lock\.(\d+\.tmp|takeover)$/;

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
  try {
    try {
      writeFileSync(temp, text, { mode: 0o644 });
    } catch (error) {
      throw lockError(dir, error);
    }
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
        // The pid may be a stranger's, or our own: a container killed and restarted runs as the same pid 1.
        const advice = `if no atlas process is running on ${holder.host} (a container that was killed can leave its pid behind), remove ${path}`;
        throw new AtlasError(ErrorCodes.BUSY, `the store in ${dir} is in use by process ${holder.pid} on ${holder.host} (lock file ${path}); ${advice}`, {
          path: dir,
          holderPid: holder.pid,
          holderHost: holder.host,
        });
      }
      removeStale(dir, path, found, temp);
    }
    throw new AtlasError(ErrorCodes.BUSY, `the store in ${dir} is being locked by another process (try again; ${STORE_LOCK_TAKEOVER}, if there, names it)`, { path: dir });
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}

/**
 * Removes the lock at `path` if it still holds `stale`, holding the takeover file while it
 * checks and unlinks: only its holder removes a lock judged stale, and a newcomer only links a
 * lock where there is none, so between the check and the unlink no other lock can take its
 * place (checked, then unlinked, without it, a process taking the stale lock over at the same
 * moment could have its new lock removed, and both would run). Nothing else removes the takeover
 * file: one left by a process that died holding it (killed in those microseconds) is reported
 * (BUSY naming it) for an operator to remove, since removing it here would open the same gap
 * again, one file up.
 */
function removeStale(dir: string, path: string, stale: string, temp: string): void {
  const takeover = join(dir, STORE_LOCK_TAKEOVER);
  try {
    linkSync(temp, takeover);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw lockError(dir, error);
    const other = readHolderText(takeover);
    const holder = other === undefined ? undefined : parseHolder(other);
    if (other === undefined || (holder !== undefined && isAlive(holder))) return; // another process is taking over: the next attempt sees its lock
    throw new AtlasError(
      ErrorCodes.BUSY,
      `the store in ${dir} was being locked by ${holder === undefined ? 'a process' : `process ${holder.pid}`}, which stopped before it finished: remove ${takeover} once no process uses the store`,
      { path: dir, takeoverFile: takeover },
    );
  }
  try {
    unlinkIfStill(path, stale);
  } finally {
    try {
      unlinkSync(takeover); // ours: nothing else removes it
    } catch {
      // already gone
    }
  }
}

/** Unlinks `path` if it still holds `text` (not atomic: see removeStale for when that is enough). */
function unlinkIfStill(path: string, text: string): void {
  if (readHolderText(path) !== text) return;
  try {
    unlinkSync(path);
  } catch {
    // already gone
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
      unlinkIfStill(path, text); // not when taken over (we were judged dead): not ours to remove
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

/** A lock file that cannot be written or linked: the file system's refusal (a full disk, no hard links, no access). */
function lockError(dir: string, error: unknown): AtlasError {
  return storeFileError(dir, `cannot lock the store in ${dir}`, error);
}
