/**
 * A store's file-system failure as the error a host can act on: access refused (EACCES, EPERM,
 * EROFS) is STORE_PERMISSION, any other (a full disk, a size limit, an I/O error) STORE_IO; the
 * errno is in `details.errno`, the system's error is the cause. An AtlasError passes as it is.
 */
import { constants } from 'node:os';
import { fsyncDirectory } from '../durable-file.js';
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';

const ACCESS_REFUSED = new Set(['EACCES', 'EPERM', 'EROFS']);

export function storeFileError(path: string, what: string, error: unknown): AtlasError {
  if (isAtlasError(error)) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const code = errno !== undefined && ACCESS_REFUSED.has(errno) ? ErrorCodes.STORE_PERMISSION : ErrorCodes.STORE_IO;
  return new AtlasError(code, `${what} (${errno ?? String(error)})`, { path, ...(errno !== undefined ? { errno } : {}) }, { cause: error });
}

/** `write`, its failure (a full disk, a size limit, an I/O error) answered as storeFileError's. */
export async function storeWrite<T>(path: string, what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw storeFileError(path, what, await commitFailure(error));
  }
}

/** How long a failed commit's own error is waited for (lmdb-js settles it at once). */
const COMMIT_ERROR_WAIT_MS = 1_000;

/**
 * The system's error behind a failed lmdb-js commit. lmdb-js rejects with a generic "Commit
 * failed" and hands the commit's own failure over as a promise (rejected, unhandled: handled
 * here; the one no caller could reach, of its event-turn batch, is off: lmdb.ts), whose `code` is
 * the errno's number: it becomes the errno's name, so STORE_IO says which (EFBIG, ENOSPC).
 */
async function commitFailure(error: unknown): Promise<unknown> {
  const commitError = (error as { commitError?: unknown } | undefined)?.commitError;
  if (!(commitError instanceof Promise)) return error;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cause = await Promise.race([
    commitError.then(
      () => undefined,
      (reason: unknown) => reason,
    ),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), COMMIT_ERROR_WAIT_MS);
      timer.unref?.();
    }),
  ]);
  clearTimeout(timer);
  const number = (cause as { code?: unknown } | undefined)?.code;
  const name = typeof number === 'number' ? Object.entries(constants.errno).find(([, value]) => value === number)?.[0] : undefined;
  if (name === undefined) return error;
  return Object.assign(new Error(`${(cause as Error).message ?? name}`, { cause }), { code: name });
}

/**
 * Flushes the directory `dir`, so that the names of what was just created in it are as durable
 * as their bytes. A directory this process may not open for reading (write and search only), or
 * one the platform cannot flush, is left to the file system; any other failure is
 * storeFileError's, about `path`.
 */
export function flushDirectory(path: string, dir: string, what: string): void {
  try {
    fsyncDirectory(dir);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EISDIR' || errno === 'EINVAL') return;
    throw storeFileError(path, what, error);
  }
}
