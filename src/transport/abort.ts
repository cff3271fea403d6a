import { AtlasError, abortedError } from '../errors.js';

/**
 * What a call whose signal aborted rejects with: the signal's reason when it is an AtlasError (a
 * Deadline's TIMEOUT, say), else ABORTED. Every transport ends its calls this way.
 */
export function callAbortedError(signal: AbortSignal): AtlasError {
  return signal.reason instanceof AtlasError ? signal.reason : abortedError('call', signal);
}
