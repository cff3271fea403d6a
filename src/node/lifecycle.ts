/**
 * The parts of the node's lifecycle that talk to the operating system: opening the store on a
 * data directory, and naming why listening failed. States: open -> starting -> running ->
 * closing -> closed; a failed start goes back to open, and may be retried.
 */
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { LmdbChunkStore } from '../store/lmdb.js';
import { MemoryChunkStore } from '../store/memory.js';
import type { ChunkStore } from '../store/types.js';
import type { NodeStorage } from './resolve-options.js';

/** Where an AtlasNode is in its life: `open` (constructed, not started), `starting`, `running`, `closing`, `closed`. */
export type NodeState = 'open' | 'starting' | 'running' | 'closing' | 'closed';

/** The store the options ask for: the host's own, LMDB in dataDir, or memory; one the node opens admits chunks up to `maxChunkSize`. */
export async function openNodeStore(storage: NodeStorage, maxChunkSize: number): Promise<ChunkStore> {
  switch (storage.kind) {
    case 'given':
      return storage.store;
    case 'memory':
      return new MemoryChunkStore({ maxChunkSize });
    case 'lmdb':
      return LmdbChunkStore.open({ path: storage.dataDir, maxChunkSize });
  }
}

/** A listen failure as the error a host can act on: ADDRESS_IN_USE for a taken port. */
export function listenError(error: unknown, address: string | undefined): AtlasError {
  const errno = findErrno(error);
  if (errno === 'EADDRINUSE') {
    return new AtlasError(ErrorCodes.ADDRESS_IN_USE, `cannot listen${address ? ` on ${address}` : ''}: the address is in use`, { errno }, { cause: error });
  }
  if (errno === 'EACCES' || errno === 'EPERM') {
    return new AtlasError(ErrorCodes.ADDRESS_REFUSED, `cannot listen${address ? ` on ${address}` : ''}: not permitted (${errno})`, { errno }, { cause: error });
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

/** The error for an action the current state does not allow. */
export function stateError(state: NodeState, action: string): AtlasError {
  if (state === 'closing' || state === 'closed') return new AtlasError(ErrorCodes.CLOSED, `cannot ${action}: node is ${state}`);
  if (state === 'starting' || state === 'running') return new AtlasError(ErrorCodes.ALREADY_STARTED, `cannot ${action}: node is ${state}`);
  return new AtlasError(ErrorCodes.NOT_STARTED, `cannot ${action}: node is ${state}`);
}
