/**
 * A store's file-system failure as the error a host can act on: access refused (EACCES, EPERM,
 * EROFS) is STORE_PERMISSION, any other (a full disk, a size limit, an I/O error) STORE_IO; the
 * errno is in `details.errno`, the system's error is the cause. An AtlasError passes as it is.
 */
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
    // lmdb-js hands the commit's own failure over as a promise, rejected: ours now (handled here), or it would end the process.
    const commitError = (error as { commitError?: unknown } | undefined)?.commitError;
    if (commitError instanceof Promise) commitError.catch(() => undefined);
    throw storeFileError(path, what, error);
  }
}
