/**
 * A ChunkStore that outlives the node using it: close() is a no-op, so a simulated process can
 * stop and start again on the same data, as a real node restarts on its LMDB folder.
 */
import type { Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import type { ReadonlyInventory } from '../inventory/inventory.js';
import type { ChunkStore, DiscardOutcome, PutOutcome, VerifiedChunk } from '../store/types.js';

export class RetainedStore implements ChunkStore {
  constructor(readonly inner: ChunkStore) {}

  get maxChunkSize(): number {
    return this.inner.maxChunkSize;
  }
  get inventory(): ReadonlyInventory {
    return this.inner.inventory;
  }
  sequenceLength(): number {
    return this.inner.sequenceLength();
  }
  addressAt(position: number): Address | undefined {
    return this.inner.addressAt(position);
  }
  positionsOf(address: Address): readonly number[] {
    return this.inner.positionsOf(address);
  }
  sequenceDigest(length?: number): string {
    return this.inner.sequenceDigest(length);
  }
  append(announcements: readonly Announcement[]): Promise<void> {
    return this.inner.append(announcements);
  }
  truncate(length: number): Promise<void> {
    return this.inner.truncate(length);
  }
  put(data: Uint8Array): Promise<PutOutcome & { ok: true }> {
    return this.inner.put(data);
  }
  putMany(chunks: readonly Uint8Array[]): Promise<PutOutcome[]> {
    return this.inner.putMany(chunks);
  }
  putVerified(chunks: readonly VerifiedChunk[]): Promise<PutOutcome[]> {
    return this.inner.putVerified(chunks);
  }
  get(address: Address): Uint8Array | undefined {
    return this.inner.get(address);
  }
  has(address: Address): boolean {
    return this.inner.has(address);
  }
  chunkCount(): number {
    return this.inner.chunkCount();
  }
  chunkBytes(): number {
    return this.inner.chunkBytes();
  }
  discard(address: Address): Promise<DiscardOutcome> {
    return this.inner.discard(address);
  }
  /** The node closing us leaves the data in place. */
  async close(): Promise<void> {}
}
