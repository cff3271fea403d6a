/**
 * A store seen from outside the node (`node.store`): what it holds, with no way to change it.
 * Writes through the store itself bypass the node (no pushes, no progress, no events), and a
 * truncate or a discard from outside leaves the node's view of its sequence wrong for good, so the
 * node hands out this view; a host that wants to write uses `node.putChunks`, or opens the store
 * itself and passes it as the `store` option.
 */
import type { LmdbChunkStore } from './lmdb.js';
import type { ChunkStore } from './types.js';

/**
 * What `node.store` lets a host read: the sequence, the chunks and the inventory; no writes, no
 * close. A store in a data directory (LmdbChunkStore) also says how it keeps chunks and what its
 * caches hold (`chunkStorage`, `chunkLog`, `sequenceCache`, `chunkCache`); undefined for others.
 */
export type ReadonlyChunkStore = Pick<
  ChunkStore,
  'maxChunkSize' | 'sequenceLength' | 'addressAt' | 'positionsOf' | 'sequenceDigest' | 'get' | 'has' | 'chunkCount' | 'chunkBytes' | 'inventory'
> &
  Partial<Pick<LmdbChunkStore, 'chunkStorage' | 'chunkLog' | 'sequenceCache' | 'chunkCache'>>;

/**
 * A frozen object of the read methods alone, each calling the store: a cast in TypeScript, or
 * plain JavaScript, finds no write method on it. Its inventory is the store's, typed
 * ReadonlyInventory; `get` answers a copy of the bytes.
 */
export function readonlyStore(store: ChunkStore): ReadonlyChunkStore {
  const inDirectory = store as Partial<LmdbChunkStore>; // its layout and caches, when it has them
  return Object.freeze({
    get maxChunkSize() {
      return store.maxChunkSize;
    },
    get inventory() {
      return store.inventory;
    },
    // Fixed for the store's life (its layout, what opening its log found); the caches change.
    chunkStorage: inDirectory.chunkStorage,
    chunkLog: inDirectory.chunkLog,
    get sequenceCache() {
      return inDirectory.sequenceCache;
    },
    get chunkCache() {
      return inDirectory.chunkCache;
    },
    sequenceLength: () => store.sequenceLength(),
    addressAt: (position: number) => store.addressAt(position),
    positionsOf: (address: Parameters<ChunkStore['positionsOf']>[0]) => store.positionsOf(address),
    sequenceDigest: (length?: number) => store.sequenceDigest(length),
    get: (address: Parameters<ChunkStore['get']>[0]) => store.get(address),
    has: (address: Parameters<ChunkStore['has']>[0]) => store.has(address),
    chunkCount: () => store.chunkCount(),
    chunkBytes: () => store.chunkBytes(),
  });
}
