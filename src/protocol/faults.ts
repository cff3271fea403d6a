/**
 * What a failed call says about the peer called: decided here once for every component that calls
 * peers (downloads, audits, inventory refreshes, on-demand fetches, admission), each of which then
 * applies its own policy to the answer.
 *
 * - 'aborted': we gave the call up (our own signal aborted): it says nothing about the peer.
 * - 'fault': the reply broke the protocol (BAD_REPLY): bad data, penalised.
 * - 'busy': the peer is alive and shed load (BUSY).
 * - 'slow': no reply before the deadline (TIMEOUT): a staller is told from a lossy link by audits.
 * - 'unreachable': anything else (UNREACHABLE, our guard's BLOCKED or ADDRESS_REFUSED, any other
 *   code): one failed call.
 *
 * Only our own signal makes a failure 'aborted', never an error code: a peer can answer with any
 * code (ABORTED, CLOSED, INTERNAL...), and none of them may excuse it. For the same reason no code
 * means "our side failed": a local failure (the store) is reported on a path of its own.
 */
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';

/** What a failed call to a peer says about it (see the module comment). */
export type CallFailure = 'aborted' | 'fault' | 'busy' | 'slow' | 'unreachable';

/** Classifies a failed call; `signal` is the one the call was made with, if any. */
export function classifyFailure(error: unknown, signal?: AbortSignal): CallFailure {
  if (signal?.aborted) return 'aborted';
  if (!isAtlasError(error)) return 'unreachable';
  switch (error.code) {
    case ErrorCodes.BAD_REPLY:
      return 'fault';
    case ErrorCodes.BUSY:
      return 'busy';
    case ErrorCodes.TIMEOUT:
      return 'slow';
    default:
      return 'unreachable';
  }
}

/** The error as an AtlasError: anything else becomes INTERNAL, its text kept. */
export function asAtlasError(error: unknown): AtlasError {
  return isAtlasError(error) ? error : new AtlasError(ErrorCodes.INTERNAL, String(error), undefined, { cause: error });
}
