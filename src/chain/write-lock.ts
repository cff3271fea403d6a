/**
 * One writer at a time on a dev chain file, across processes: an append reads the file's end and
 * writes the next positions, so two `atlas announce` at once wrote the same positions and the
 * file was refused by every process from then on. The lock (`<file>.lock`, file-lock.ts) is held
 * for one append, rollback or repair; a writer waits for another's to end.
 */
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { acquireFileLock, type FileLock } from '../file-lock.js';
import { pathError } from './open-errors.js';

/** How long a write waits for another process's write on the same file to end, then BUSY. */
export const WRITE_LOCK_WAIT_MS = 10_000;

/** The lock file beside a dev chain file. */
export function writeLockPath(file: string): string {
  return `${file}.lock`;
}

/** Runs `task` holding the write lock of the dev chain `file`, waiting up to `waitMs` for it. */
export async function withWriteLock<T>(file: string, task: () => Promise<T>, waitMs = WRITE_LOCK_WAIT_MS): Promise<T> {
  const path = writeLockPath(file);
  const subject = { what: `the dev chain ${file}`, details: { path: file }, ioError: (error: unknown) => pathError('path', path, error) };
  const deadline = Date.now() + waitMs;
  let lock: FileLock | undefined;
  for (let pause = 2; lock === undefined; pause = Math.min(pause * 2, 50)) {
    try {
      lock = acquireFileLock(path, subject);
    } catch (error) {
      // A takeover file left by a killed process waits for an operator; any other BUSY ends with the write it waits for.
      const lasting = isAtlasError(error) && error.details?.takeoverFile !== undefined;
      if (!isAtlasError(error) || error.code !== ErrorCodes.BUSY || lasting) throw error;
      if (Date.now() >= deadline) throw new AtlasError(ErrorCodes.BUSY, `${error.message}; waited ${waitMs} ms for it`, error.details);
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  try {
    return await task();
  } finally {
    lock.release();
  }
}
