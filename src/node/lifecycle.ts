/**
 * The parts of the node's lifecycle that talk to the operating system: opening the store on a
 * data directory, and naming why listening failed. States: open -> starting -> running ->
 * closing -> closed; a failed start goes back to open, and may be retried.
 */
import { AtlasError, ErrorCodes, InvalidOptionError } from '../errors.js';
import { LmdbChunkStore } from '../store/lmdb.js';
import { MemoryChunkStore } from '../store/memory.js';
import type { ChunkStore } from '../store/types.js';
import type { Transport } from '../transport/types.js';
import type { NodeStorage } from './resolve-options.js';

/** Where an AtlasNode is in its life: `open` (constructed, not started), `starting`, `running`, `closing`, `closed`. */
export type NodeState = 'open' | 'starting' | 'running' | 'closing' | 'closed';

/** The states a node answers `stats()` in: it refuses (CLOSED) once close() has begun, its store being on the way out. */
export type LiveNodeState = Exclude<NodeState, 'closing' | 'closed'>;

/** The store the options ask for: the host's own, LMDB in dataDir, or memory; one the node opens admits chunks up to `maxChunkSize`. */
export async function openNodeStore(storage: NodeStorage, maxChunkSize: number): Promise<ChunkStore> {
  switch (storage.kind) {
    case 'given':
      return storage.store;
    case 'memory':
      return new MemoryChunkStore({ maxChunkSize });
    case 'lmdb':
      return LmdbChunkStore.open({
        path: storage.dataDir,
        maxChunkSize,
        chunkStorage: storage.chunkStorage,
        sequenceCacheBytes: storage.sequenceCacheBytes,
        chunkCacheBytes: storage.chunkCacheBytes,
      });
  }
}

/** Transports given to nodes: a node closes its transport when it closes, so two nodes on one would take each other off the network. */
const claimedTransports = new WeakSet<Transport>();

/** Takes `transport` for a node being opened; INVALID_OPTION (`transport`) when another node has it (or had it: it closed it). */
export function claimTransport(transport: Transport): void {
  if (claimedTransports.has(transport)) {
    throw new InvalidOptionError('transport', 'already given to an AtlasNode (a node closes its transport when it closes): give each node a transport of its own');
  }
  claimedTransports.add(transport);
}

/** Gives back the transport of a node whose open failed (it never listened, nor closed it). */
export function releaseTransport(transport: Transport): void {
  claimedTransports.delete(transport);
}

/**
 * Stores given to open nodes (the `store` option). Each node keeps its own view of its store
 * (the inventory change log, the missing set, the chain follower's place), so two open nodes
 * writing one store would each miss the other's writes. A claim lasts while the node is open.
 */
const claimedStores = new WeakSet<ChunkStore>();

/**
 * Takes a store given as the `store` option for a node being opened; BUSY (`details.option`
 * 'store') while another node has it: one that is open or opening, until it has closed.
 */
export function claimStore(store: ChunkStore): void {
  if (claimedStores.has(store)) {
    throw new AtlasError(ErrorCodes.BUSY, 'option store: in use by another AtlasNode; open this one once that one has closed, or give each node a store of its own', { option: 'store' });
  }
  claimedStores.add(store);
}

/** Gives back a store claimed by claimStore: its node closed, or its open failed. */
export function releaseStore(store: ChunkStore): void {
  claimedStores.delete(store);
}

/**
 * The error for what needs a running node (it asks peers, or waits on them): CLOSED once close()
 * has begun, NOT_STARTED until start() has resolved; undefined when running.
 */
export function notRunningError(state: NodeState, action: string): AtlasError | undefined {
  if (state === 'running') return undefined;
  if (state === 'starting') return new AtlasError(ErrorCodes.NOT_STARTED, `cannot ${action}: node is still starting (await start() first)`);
  return stateError(state, action);
}

/** The error for an action the current state does not allow. */
export function stateError(state: NodeState, action: string): AtlasError {
  if (state === 'closing' || state === 'closed') return new AtlasError(ErrorCodes.CLOSED, `cannot ${action}: node is ${state}`);
  if (state === 'starting' || state === 'running') return new AtlasError(ErrorCodes.ALREADY_STARTED, `cannot ${action}: node is ${state}`);
  return new AtlasError(ErrorCodes.NOT_STARTED, `cannot ${action}: node is not started (await start() first)`);
}
