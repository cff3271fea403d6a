/**
 * A ChunkStore held entirely in memory: for tests and the simulator (fast, no I/O, nothing
 * survives the process). Its semantics are exactly those of LmdbChunkStore; the shared contract
 * tests run against both.
 *
 * Every method does all its work synchronously before its promise settles, so operations never
 * interleave and a refused operation has changed nothing.
 *
 * Reads answer for the current sequence: get/has/chunkCount/chunkBytes see a chunk only while its
 * address is announced; truncation keeps the bytes, so a re-announced chunk is present again.
 */
import type { Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { Inventory } from '../inventory/inventory.js';
import { admitChunks, admitVerified, checkMaxChunkSize, lookupAddress, throwIfRefused, type AdmissionResult } from './admission.js';
import { validateAppend, validateTruncate } from './announcements.js';
import { SequenceDigest } from './sequence-digest.js';
import { discardChunk } from './quarantine.js';
import { type ChunkStore, type DiscardOutcome, type PutOutcome, type VerifiedChunk } from './types.js';

/** Options of `MemoryChunkStore`. */
export interface MemoryChunkStoreOptions {
  /** Largest chunk admitted, in bytes (default 40,960). */
  maxChunkSize?: number;
}

/** A `ChunkStore` in memory: for tests, the simulator and short-lived embeddings. */
export class MemoryChunkStore implements ChunkStore {
  readonly maxChunkSize: number;
  readonly inventory: Inventory = new Inventory(0);

  readonly #sequence: Address[] = [];
  /** Positions of every address in the current sequence, ascending. */
  readonly #positions = new Map<Address, number[]>();
  /** Every chunk ever stored, announced or not (truncation keeps the bytes). */
  readonly #chunks = new Map<Address, Uint8Array>();
  readonly #digest: SequenceDigest;
  #count = 0;
  #bytes = 0;
  #closed = false;

  constructor(options: MemoryChunkStoreOptions = {}) {
    this.maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
    this.#digest = SequenceDigest.empty((from, to) => this.#addressBytes(from, to));
  }

  sequenceLength(): number {
    this.#checkOpen();
    return this.#sequence.length;
  }

  addressAt(position: number): Address | undefined {
    this.#checkOpen();
    return Number.isInteger(position) && position >= 0 ? this.#sequence[position] : undefined;
  }

  positionsOf(address: Address): readonly number[] {
    this.#checkOpen();
    const key = lookupAddress(address);
    const positions = key === undefined ? undefined : this.#positions.get(key);
    return positions === undefined ? [] : positions.slice();
  }

  sequenceDigest(length?: number): string {
    this.#checkOpen();
    return this.#digest.digestHex(length);
  }

  async append(announcements: readonly Announcement[]): Promise<void> {
    this.#checkOpen();
    const addresses = validateAppend(announcements, this.#sequence.length);
    if (addresses.length === 0) return;
    const plan = this.#digest.planAppend(addresses.map((address) => Buffer.from(address, 'hex')));
    const start = this.#sequence.length;
    this.inventory.setLength(start + addresses.length);
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i] as Address;
      const position = start + i;
      this.#sequence.push(address);
      let positions = this.#positions.get(address);
      const firstPosition = positions === undefined;
      if (positions === undefined) {
        positions = [];
        this.#positions.set(address, positions);
      }
      positions.push(position);
      const chunk = this.#chunks.get(address);
      if (chunk !== undefined) {
        this.inventory.add(position);
        if (firstPosition) {
          this.#count++;
          this.#bytes += chunk.length;
        }
      }
    }
    this.#digest.commitAppend(plan);
  }

  async truncate(length: number): Promise<void> {
    this.#checkOpen();
    validateTruncate(length);
    const old = this.#sequence.length;
    if (length >= old) return;
    for (let position = old - 1; position >= length; position--) {
      const address = this.#sequence[position] as Address;
      const positions = this.#positions.get(address) as number[];
      positions.pop();
      if (positions.length === 0) {
        this.#positions.delete(address);
        const chunk = this.#chunks.get(address);
        if (chunk !== undefined) {
          this.#count--;
          this.#bytes -= chunk.length;
        }
      }
    }
    this.#sequence.length = length;
    this.inventory.setLength(length);
    this.#digest.truncate(length);
  }

  async put(data: Uint8Array): Promise<PutOutcome & { ok: true }> {
    return throwIfRefused((await this.putMany([data]))[0] as PutOutcome);
  }

  async putMany(chunks: readonly Uint8Array[]): Promise<PutOutcome[]> {
    this.#checkOpen();
    return this.#store(admitChunks(chunks, this.maxChunkSize, (address) => this.#positions.has(address)));
  }

  async putVerified(chunks: readonly VerifiedChunk[]): Promise<PutOutcome[]> {
    this.#checkOpen();
    return this.#store(admitVerified(chunks, this.maxChunkSize, (address) => this.#positions.has(address)));
  }

  get(address: Address): Uint8Array | undefined {
    this.#checkOpen();
    const key = lookupAddress(address);
    if (key === undefined || !this.#positions.has(key)) return undefined;
    const chunk = this.#chunks.get(key);
    return chunk === undefined ? undefined : chunk.slice();
  }

  has(address: Address): boolean {
    this.#checkOpen();
    const key = lookupAddress(address);
    return key !== undefined && this.#positions.has(key) && this.#chunks.has(key);
  }

  chunkCount(): number {
    this.#checkOpen();
    return this.#count;
  }

  chunkBytes(): number {
    this.#checkOpen();
    return this.#bytes;
  }

  async discard(address: Address): Promise<DiscardOutcome> {
    this.#checkOpen();
    const key = lookupAddress(address);
    if (key === undefined) return { discarded: false, positions: [] };
    const removed = await discardChunk(Buffer.from(key, 'hex'), { read: () => this.#chunks.get(key), remove: () => this.#chunks.delete(key) });
    if (removed === undefined) return { discarded: false, positions: [] };
    const positions = this.#positions.get(key) ?? [];
    if (positions.length > 0) {
      for (const position of positions) this.inventory.remove(position);
      this.#count--;
      this.#bytes -= removed;
    }
    return { discarded: true, positions: positions.slice() };
  }

  /** Test and fault-injection hook: the stored bytes of `address`, as held (no copy). */
  rawChunk(address: Address): Uint8Array | undefined {
    return this.#chunks.get(address);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #store(results: AdmissionResult[]): PutOutcome[] {
    return results.map((result) => {
      if (!result.ok) return result;
      const positions = this.#positions.get(result.address) as number[];
      if (this.#chunks.has(result.address)) return { ok: true, address: result.address, added: false, positions: positions.slice() };
      // A copy: the caller may reuse its buffer.
      this.#chunks.set(result.address, result.data.slice());
      this.inventory.addMany(positions);
      this.#count++;
      this.#bytes += result.data.length;
      return { ok: true, address: result.address, added: true, positions: positions.slice() };
    });
  }

  *#addressBytes(from: number, to: number): Iterable<Uint8Array> {
    for (let position = from; position < to; position++) {
      yield Buffer.from(this.#sequence[position] as Address, 'hex');
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new AtlasError(ErrorCodes.CLOSED, 'the chunk store is closed');
  }
}
