/**
 * The ChunkStore held entirely in memory: for tests, the simulator and short-lived embeddings
 * (fast, no I/O, nothing survives the process). It is the one ChunkStore (chunk-store.ts) over
 * plain maps, so its semantics are exactly those of LmdbChunkStore; the contract tests run both.
 */
import { ADDRESS_BYTES, hexOfAddress, type Address } from '../address.js';
import { checkOptionNames } from '../options-overlay.js';
import { AddressArray } from './address-array.js';
import type { ChunkWrites, StoreBackend } from './backend.js';
import { BackedChunkStore } from './chunk-store.js';
import type { DigestCheckpoint } from './sequence-digest.js';

/** Options of `MemoryChunkStore`. */
export interface MemoryChunkStoreOptions {
  /** Largest chunk admitted, in bytes (default 40,960). */
  maxChunkSize?: number;
}

/** A `ChunkStore` in memory: for tests, the simulator and short-lived embeddings. */
export class MemoryChunkStore extends BackedChunkStore {
  readonly #backend: MemoryBackend;

  constructor(options: MemoryChunkStoreOptions = {}) {
    checkOptionNames<MemoryChunkStoreOptions>(options, { maxChunkSize: true }, 'MemoryChunkStore');
    const backend = new MemoryBackend();
    super(backend, options.maxChunkSize !== undefined ? { maxChunkSize: options.maxChunkSize } : {});
    this.#backend = backend;
  }

  /** Test and fault-injection hook: the stored bytes of `address`, as held (no copy). */
  rawChunk(address: Address): Uint8Array | undefined {
    return this.#backend.chunks.get(address);
  }
}

/**
 * The sequence in one buffer, chunks in a map keyed by hex address; every write is synchronous,
 * hence atomic. Exported for tests that put a backend of their own under a BackedChunkStore.
 */
export class MemoryBackend implements StoreBackend {
  /** Chunks are kept as given: the store copies what it puts here. */
  readonly keepsChunkBytes: boolean = true;
  readonly sequence = new AddressArray();
  readonly chunks = new Map<Address, Uint8Array>();
  readonly checkpoints: Uint8Array[] = [];

  readLength(): number {
    return this.sequence.length;
  }

  isAddressAt(position: number, key: Uint8Array, keyAt = 0): boolean {
    return this.sequence.isAt(position, key, keyAt);
  }

  copyAddressTo(position: number, into: Uint8Array, offset: number): boolean {
    return this.sequence.copyTo(position, into, offset);
  }

  addressHexAt(position: number): string | undefined {
    return hexOfAddress(this.sequence.at(position));
  }

  addressRange(from: number, to: number): Iterable<Uint8Array> {
    return this.sequence.range(from, to);
  }

  chunk(key: Buffer): Uint8Array | undefined {
    const data = this.chunks.get(key.toString('hex'));
    return data === undefined ? undefined : new Uint8Array(data); // a copy (Buffer#slice would be a view)
  }

  /** The kept bytes themselves, for a reader that only hashes and sends them (StoreBackend.sharedChunk). */
  sharedChunk(key: Buffer): Uint8Array | undefined {
    return this.chunks.get(key.toString('hex'));
  }

  /** The map is the medium: nothing to read past. */
  rereadChunk(key: Buffer): Uint8Array | undefined {
    return this.chunk(key);
  }

  hasChunk(key: Buffer): boolean {
    return this.chunks.has(key.toString('hex'));
  }

  chunkSize(key: Buffer): number | undefined {
    return this.chunks.get(key.toString('hex'))?.length;
  }

  *chunkSizes(): Iterable<{ key: Buffer; size: number }> {
    for (const [address, data] of this.chunks) yield { key: Buffer.from(address, 'hex'), size: data.length };
  }

  readCheckpoints(): (Uint8Array | undefined)[] {
    return this.checkpoints.slice();
  }

  writeCheckpoints(checkpoints: readonly DigestCheckpoint[]): void {
    for (const checkpoint of checkpoints) this.checkpoints[checkpoint.index] = checkpoint.digest;
  }

  async append(_start: number, keys: Buffer, checkpoints: readonly DigestCheckpoint[]): Promise<void> {
    for (let at = 0; at < keys.length; at += ADDRESS_BYTES) this.sequence.push(keys.subarray(at, at + ADDRESS_BYTES));
    this.writeCheckpoints(checkpoints);
  }

  async truncate(length: number, _old: number, firstDroppedCheckpoint: number): Promise<void> {
    this.sequence.truncate(length);
    if (this.checkpoints.length > firstDroppedCheckpoint) this.checkpoints.length = firstDroppedCheckpoint;
  }

  async storeChunks(writes: ChunkWrites): Promise<boolean[]> {
    const keys = Buffer.from(writes.keys.buffer, writes.keys.byteOffset, writes.count * ADDRESS_BYTES);
    const added = new Array<boolean>(writes.count);
    for (let i = 0; i < writes.count; i++) {
      const address = keys.toString('hex', i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
      added[i] = !this.chunks.has(address);
      if (added[i]) this.chunks.set(address, writes.data[i] as Uint8Array);
    }
    return added;
  }

  async removeChunk(key: Buffer): Promise<void> {
    this.chunks.delete(key.toString('hex'));
  }

  async close(): Promise<void> {}
}
