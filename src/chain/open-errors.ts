/**
 * What a chain adapter says when the files or the address it was given cannot be used at open: an
 * INVALID_OPTION naming the option, with the system's errno, instead of a bare ENOTDIR or
 * EADDRINUSE a host cannot tell from a bug.
 */
import { AtlasError, ErrorCodes, InvalidOptionError, isAtlasError } from '../errors.js';

/** Errnos of a path that cannot be used as given: the option is at fault, not the adapter. */
const PATH_ERRNOS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'EROFS', 'ELOOP', 'ENAMETOOLONG', 'EEXIST']);

/** `error`, met while opening the path given as `option`, as the AtlasError a host can act on. */
export function pathError(option: string, path: string, error: unknown): AtlasError {
  if (isAtlasError(error)) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno !== undefined && PATH_ERRNOS.has(errno)) return new InvalidOptionError(option, `cannot use ${path}: ${(error as Error).message}`, error);
  return new AtlasError(ErrorCodes.INTERNAL, `cannot open ${path}: ${String(error)}`, undefined, { cause: error });
}

/** The value of a required path option, or INVALID_OPTION naming it. */
export function requiredPath(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(option, 'expected a path');
  return value;
}
