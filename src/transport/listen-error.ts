/** The one reading of why a transport could not listen: a taken port, a refused address, or neither. */
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';

/**
 * A listen failure as the error a host can act on: ADDRESS_IN_USE for a taken port, ADDRESS_REFUSED
 * for an address the host may not or cannot listen on (not permitted, not this machine's, a name
 * that does not resolve), the errno in `details`.
 */
export function listenError(error: unknown, address: string | undefined): AtlasError {
  // Already said by a transport that maps its own failures (HttpTransport does).
  if (isAtlasError(error) && (error.code === ErrorCodes.ADDRESS_IN_USE || error.code === ErrorCodes.ADDRESS_REFUSED)) return error;
  const errno = findErrno(error);
  if (errno === 'EADDRINUSE') {
    return new AtlasError(ErrorCodes.ADDRESS_IN_USE, `cannot listen${address ? ` on ${address}` : ''}: the address is in use`, { errno }, { cause: error });
  }
  if (errno === 'EACCES' || errno === 'EPERM') {
    return new AtlasError(ErrorCodes.ADDRESS_REFUSED, `cannot listen${address ? ` on ${address}` : ''}: not permitted (${errno})`, { errno }, { cause: error });
  }
  if (errno === 'EADDRNOTAVAIL') {
    return new AtlasError(ErrorCodes.ADDRESS_REFUSED, `cannot listen${address ? ` on ${address}` : ''}: the address is not one of this machine's (${errno})`, { errno }, { cause: error });
  }
  if (errno === 'ENOTFOUND' || errno === 'EAI_AGAIN' || errno === 'EAI_NONAME') {
    return new AtlasError(ErrorCodes.ADDRESS_REFUSED, `cannot listen${address ? ` on ${address}` : ''}: the host name does not resolve (${errno})`, { errno }, { cause: error });
  }
  return isAtlasError(error) ? error : new AtlasError(ErrorCodes.INTERNAL, `cannot listen: ${String(error)}`, undefined, { cause: error });
}

function findErrno(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E') && !(code in ErrorCodes)) return code;
  }
  return undefined;
}
