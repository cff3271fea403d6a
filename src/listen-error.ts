/** The one reading of why a server could not listen (the peer transport's, the Stacks observer's): a taken port, a refused address, or neither. */
import { AtlasError, ErrorCodes, isAtlasError } from './errors.js';

/**
 * A listen failure as the error a host can act on: ADDRESS_IN_USE for a taken port, ADDRESS_REFUSED
 * for an address the host may not or cannot listen on (not permitted, not this machine's, a name
 * that does not resolve, or not now: EAI_AGAIN), the errno in `details`.
 */
export function listenError(error: unknown, address: string | undefined): AtlasError {
  // Already said by a transport that maps its own failures (HttpTransport does).
  if (isAtlasError(error) && (error.code === ErrorCodes.ADDRESS_IN_USE || error.code === ErrorCodes.ADDRESS_REFUSED)) return error;
  const errno = findErrno(error);
  const reason = errno === undefined ? undefined : REASONS[errno];
  if (errno !== undefined && reason !== undefined) {
    const code = errno === 'EADDRINUSE' ? ErrorCodes.ADDRESS_IN_USE : ErrorCodes.ADDRESS_REFUSED;
    return new AtlasError(code, `cannot listen${address ? ` on ${address}` : ''}: ${reason}`, { errno }, { cause: error });
  }
  return isAtlasError(error) ? error : new AtlasError(ErrorCodes.INTERNAL, `cannot listen: ${String(error)}`, undefined, { cause: error });
}

/** What each errno a listen may fail with says, in the message. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is in use',
  EACCES: 'not permitted (EACCES)',
  EPERM: 'not permitted (EPERM)',
  EADDRNOTAVAIL: "the address is not one of this machine's (EADDRNOTAVAIL)",
  ENOTFOUND: 'the host name does not resolve (ENOTFOUND)',
  EAI_NONAME: 'the host name does not resolve (EAI_NONAME)',
  EAI_AGAIN: 'the host name could not be resolved now (EAI_AGAIN: the name server may answer later)',
};

function findErrno(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E') && !(code in ErrorCodes)) return code;
  }
  return undefined;
}
