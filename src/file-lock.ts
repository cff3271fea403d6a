/**
 * A lock file held by one process at a time: the store's (one process per data directory, for
 * its life) and the dev chain's (one writer at a time, for one append). The file holds the
 * owner's pid and host name:
 *
 * - it is created complete and atomically: written under a private name, then hard-linked into
 *   place (link fails if the name exists), so no reader ever sees a half-written lock;
 * - a lock whose pid is alive on this host is respected: BUSY, naming the holder and the file to
 *   remove when that pid is no atlas process (a container restarted after a kill has its own pid);
 * - a lock whose pid is dead (or that is unreadable garbage) is stale: it is removed, only if it
 *   still holds what we judged stale, by one process at a time (removeStale), and taken over.
 * A lock written on another host (a shared file system) is respected: its pid cannot be checked.
 */
import { hostname } from 'node:os';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { AtlasError, ErrorCodes } from './errors.js';

const TAKEOVER_ATTEMPTS = 3;

/** Who holds a lock file. */
export interface LockHolder {
  pid: number;
  host: string;
}

/** A lock file this process holds. */
export interface FileLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** What a lock guards, for its errors: `what` names it ("the store in ./data"); `details` go on every BUSY. */
export interface LockSubject {
  what: string;
  details?: Record<string, unknown>;
  /** The file system refused the lock's own files (a full disk, no hard links, no access). */
  ioError(error: unknown): AtlasError;
}

/** The file a lock at `path` is taken over with, by one process at a time. */
export function takeoverPath(path: string): string {
  return `${path}.takeover`;
}

/** Takes the lock file at `path`, or throws BUSY naming the live holder. */
export function acquireFileLock(path: string, subject: LockSubject): FileLock {
  const mine: LockHolder = { pid: process.pid, host: hostname() };
  const text = `${JSON.stringify(mine)}\n`;
  const temp = `${path}.${process.pid}.tmp`;
  try {
    try {
      writeFileSync(temp, text, { mode: 0o644 });
    } catch (error) {
      throw subject.ioError(error);
    }
    for (let attempt = 0; attempt < TAKEOVER_ATTEMPTS; attempt++) {
      try {
        linkSync(temp, path);
        return ownedLock(path, text);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw subject.ioError(error);
      }
      const found = readHolderText(path);
      if (found === undefined) continue; // removed meanwhile: try again
      const holder = parseHolder(found);
      if (holder !== undefined && isAlive(holder)) throw busyError(path, holder, subject);
      removeStale(path, found, temp, subject);
    }
    throw new AtlasError(ErrorCodes.BUSY, `${subject.what} is being locked by another process (try again; ${takeoverPath(path)}, if there, names it)`, { ...subject.details });
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
}

/** The holder the lock file at `path` names, if any (for reports; does not judge liveness). */
export function readLockHolder(path: string): LockHolder | undefined {
  const text = readHolderText(path);
  return text === undefined ? undefined : parseHolder(text);
}

/** BUSY naming the live holder, and the file to remove when that pid is no atlas process. */
function busyError(path: string, holder: LockHolder, subject: LockSubject): AtlasError {
  // The pid may be a stranger's, or our own: a container killed and restarted runs as the same pid 1.
  const advice = `if no atlas process is running on ${holder.host} (a container that was killed can leave its pid behind), remove ${path}`;
  return new AtlasError(ErrorCodes.BUSY, `${subject.what} is in use by process ${holder.pid} on ${holder.host} (lock file ${path}); ${advice}`, {
    ...subject.details,
    holderPid: holder.pid,
    holderHost: holder.host,
  });
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
function removeStale(path: string, stale: string, temp: string, subject: LockSubject): void {
  const takeover = takeoverPath(path);
  try {
    linkSync(temp, takeover);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw subject.ioError(error);
    const other = readHolderText(takeover);
    const holder = other === undefined ? undefined : parseHolder(other);
    if (other === undefined || (holder !== undefined && isAlive(holder))) return; // another process is taking over: the next attempt sees its lock
    throw new AtlasError(
      ErrorCodes.BUSY,
      `${subject.what} was being locked by ${holder === undefined ? 'a process' : `process ${holder.pid}`}, which stopped before it finished: remove ${takeover} once no process uses it`,
      { ...subject.details, takeoverFile: takeover },
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

function ownedLock(path: string, text: string): FileLock {
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

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(value.pid) && (value.pid as number) > 0 && typeof value.host === 'string') return { pid: value.pid as number, host: value.host };
  } catch {
    // garbage: no holder
  }
  return undefined;
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}
