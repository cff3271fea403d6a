/**
 * The one ChunkStore: every rule of the store over a StoreBackend that only keeps records
 * (backend.ts). LmdbChunkStore and MemoryChunkStore are this class over their backends. It holds
 * the in-memory state (derived at open, crash-safe: derived-state.ts), answers reads from it, and
 * applies each write to the backend and then to it.
 *
 * Writes run one at a time (write-queue.ts: the order, and group commit); each validates against
 * the committed state it will change, and the in-memory state (inventory, counters, digest)
 * changes only after its commit.
 *
 * Reads answer for the current sequence: get/has/chunkCount/chunkBytes see a chunk only while
 * its address is announced. A truncation keeps the bytes, so a chunk announced again is present
 * again at once, without being fetched.
 */
import { ADDRESS_BYTES, addressKey, hexOfAddress, type Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import type { Inventory } from '../inventory/inventory.js';
import type { Logger } from '../runtime.js';
import { checkMaxChunkSize, hashChunks, parseVerified, throwIfRefused, type AdmissionResult } from './admission.js';
import { checkAppendStart, packAppend, validateTruncate, type PackedAppend } from './announcements.js';
import type { AddressIndex } from './address-index.js';
import { copyAdmitted } from './admitted.js';
import type { ChunkWrites, StoreBackend } from './backend.js';
import { deriveState } from './derived-state.js';
import { handedOverDigests, isHandedOver } from './handed-over.js';
import { admitBatch, settleBatch, type PositionsNear } from './put-batch.js';
import { DamagedRecords, hashesTo, removalFailed, type ChunkWriteAnswer } from './quarantine.js';
import { receivedAsPutVerified, storeReceived, type ReceivedBatch, type ReceivedOutcome } from './received.js';
import { copyReceived, writeReceived, type ReceiptPart } from './received-batch.js';
import { SequenceDigest } from './sequence-digest.js';
import type { ChunkStore, DiscardOutcome, PutOutcome, VerifiedChunk } from './types.js';
import { closedError, WriteQueue } from './write-queue.js';

/** Options common to every ChunkStore. */
export interface ChunkStoreOptions {
  /** Largest chunk admitted, in bytes (default 40,960). */
  maxChunkSize?: number;
  logger?: Logger;
  /** Added to the details of STORE_CORRUPT errors and to warnings (the LMDB store adds its path). */
  details?: Readonly<Record<string, unknown>>;
}

/** A `ChunkStore` over any `StoreBackend`. */
export class BackedChunkStore implements ChunkStore {
  readonly maxChunkSize: number;
  readonly inventory: Inventory;

  readonly #backend: StoreBackend;
  /** address -> positions of the current sequence, rebuilt at open from the sequence. */
  readonly #index: AddressIndex;
  readonly #digest: SequenceDigest;
  #length: number;
  /** Stored chunks whose address is announced (each counted once, however often announced). */
  #count: number;
  #bytes: number;
  /**
   * Every stored chunk, announced or not: while it is 0, appends skip the chunk lookups, and while
   * it equals #count no stored chunk is unannounced (#isAnnouncedIfStored).
   */
  #stored: number;
  /**
   * True while a truncation is committed and its counters not yet updated (the backend may
   * already hold the cut sequence), and for good if the truncation threw: reads then always ask
   * the address index.
   */
  #countsInDoubt = false;
  /** Damaged records the backend failed to remove: not stored as far as reads, counters and bits go (quarantine.ts). */
  readonly #damaged = new DamagedRecords();
  /** Puts, received batches, appends, truncations and discards, one at a time. */
  readonly #writes = new WriteQueue(
    () => this.#closed,
    (prepared) => this.#store(prepared),
    (parts) => this.#storeReceipts(parts),
  );
  #closed = false;
  #closing: Promise<void> | undefined;

  /** Derives the inventory and counters from the backend's records; throws STORE_CORRUPT when they disagree. */
  constructor(backend: StoreBackend, options: ChunkStoreOptions = {}) {
    this.maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
    this.#backend = backend;
    const derived = deriveState(backend, options.logger, options.details ?? {});
    this.#length = derived.length;
    this.#index = derived.index;
    this.#digest = derived.digest;
    this.inventory = derived.inventory;
    this.#count = derived.count;
    this.#bytes = derived.bytes;
    this.#stored = derived.stored;
  }

  sequenceLength(): number {
    this.#checkOpen();
    return this.#length;
  }

  addressAt(position: number): Address | undefined {
    this.#checkOpen();
    if (!Number.isInteger(position) || position < 0 || position >= this.#length) return undefined;
    return this.#backend.addressHexAt(position);
  }

  packedAddressesAt(positions: readonly number[]): Uint8Array | undefined {
    this.#checkOpen();
    const packed = Buffer.alloc(positions.length * ADDRESS_BYTES);
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i] as number;
      if (!Number.isInteger(position) || position < 0 || position >= this.#length) return undefined;
      if (!this.#backend.copyAddressTo(position, packed, i * ADDRESS_BYTES)) return undefined;
    }
    return packed;
  }

  isRepeatedAt(position: number): boolean {
    this.#checkOpen();
    return this.#index.isRepeatedAt(position);
  }

  positionsOf(address: Address): readonly number[] {
    this.#checkOpen();
    const key = addressKey(address);
    return key === undefined ? [] : this.#index.positionsOf(key);
  }

  sequenceDigest(length?: number): string {
    this.#checkOpen();
    return this.#digest.digestHex(length);
  }

  /** Checked and packed when called (a bad batch is refused at once); written in turn. */
  append(announcements: readonly Announcement[]): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    let batch: PackedAppend;
    try {
      batch = packAppend(announcements);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writes.run(() => this.#append(batch));
  }

  truncate(length: number): Promise<void> {
    return this.#writes.run(() => this.#truncate(length));
  }

  async put(data: Uint8Array): Promise<PutOutcome & { ok: true }> {
    return throwIfRefused((await this.putMany([data]))[0] as PutOutcome);
  }

  /** Sizes and hashes are checked, and the bytes copied, when the call is made; the rest in turn. */
  putMany(chunks: readonly Uint8Array[]): Promise<PutOutcome[]> {
    return this.#enqueueStore(() => hashChunks(chunks, this.maxChunkSize));
  }

  /**
   * As putMany, without the hashing. A list handed over by the library (handed-over.ts) is not
   * copied, unless the backend keeps what it is given (`keepsChunkBytes`).
   */
  putVerified(chunks: readonly VerifiedChunk[]): Promise<PutOutcome[]> {
    const copy = !isHandedOver(chunks) || this.#backend.keepsChunkBytes === true;
    const digests = handedOverDigests(chunks);
    return this.#enqueueStore(() => parseVerified(chunks, this.maxChunkSize, digests), copy);
  }

  /** The putVerified that [storeReceived] stands for: a subclass overriding putVerified gets received batches through its own (received.ts). @internal */
  get [receivedAsPutVerified](): ChunkStore['putVerified'] {
    return BackedChunkStore.prototype.putVerified;
  }

  /**
   * A downloader's verified reply, as columns (received.ts): putVerified's rules, outcomes as one
   * status a chunk. Batches not handed over are copied when the call is made.
   * @internal
   */
  [storeReceived](batch: ReceivedBatch): Promise<ReceivedOutcome> {
    if (this.#closed) return Promise.reject(closedError());
    const own = !batch.handedOver || this.#backend.keepsChunkBytes === true ? copyReceived(batch) : batch;
    return this.#writes.receive(own);
  }

  get(address: Address): Uint8Array | undefined {
    return this.#chunk(address, false);
  }

  getShared(address: Address): Uint8Array | undefined {
    return this.#chunk(address, true);
  }

  #chunk(address: Address, shared: boolean): Uint8Array | undefined {
    this.#checkOpen();
    const key = addressKey(address);
    if (key === undefined || !this.#isAnnouncedIfStored(key)) return undefined;
    const backend = this.#backend;
    if (this.#damaged.has(key)) return undefined;
    return shared && backend.sharedChunk !== undefined ? backend.sharedChunk(key) : backend.chunk(key);
  }

  has(address: Address): boolean {
    this.#checkOpen();
    const key = addressKey(address);
    return key !== undefined && this.#isAnnouncedIfStored(key) && this.#backend.hasChunk(key) && !this.#damaged.has(key);
  }

  /**
   * False when `key` is not announced, for a key whose chunk may be stored. Every stored chunk is
   * announced unless a truncation dropped its address or the store opened with such chunks (a
   * chunk log kept when its LMDB environment was lost): while the counters say no stored chunk is
   * unannounced, and no cut is being committed, the answer is true without probing the address
   * index. That probe was a tenth of a serving peer's CPU (a keyed hash, the table's probe and
   * the address read back from the sequence for each chunk asked, where the backend's own lookup
   * confirms the chunk anyway).
   */
  #isAnnouncedIfStored(key: Buffer): boolean {
    return (this.#stored === this.#count && !this.#countsInDoubt) || this.#index.has(key);
  }

  chunkCount(): number {
    this.#checkOpen();
    return this.#count;
  }

  chunkBytes(): number {
    this.#checkOpen();
    return this.#bytes;
  }

  /**
   * The bytes are read and hashed again inside the write queue: an intact chunk is never removed.
   * A removal the backend fails still clears the chunk's bits and counts, and the store stops
   * serving it (a bit says true iff the store can serve the chunk); it then rejects with the
   * removal's typed error (STORE_IO with the errno; `details.positions`: the bits cleared).
   */
  discard(address: Address): Promise<DiscardOutcome> {
    return this.#writes.run(async () => {
      const keyBytes = addressKey(address);
      if (keyBytes === undefined) return { discarded: false, positions: [] };
      const data = this.#backend.rereadChunk(keyBytes);
      if (data === undefined || hashesTo(data, keyBytes)) return { discarded: false, positions: [] };
      const counted = !this.#damaged.has(keyBytes);
      const failure = await this.#damaged.remove(keyBytes, () => this.#backend.removeChunk(keyBytes), 'the store');
      // Counted as stored until now (not a record whose earlier removal failed): gone from the counts and bits, removed or not.
      const positions = counted ? this.#index.positionsOf(keyBytes) : [];
      if (counted) {
        this.#stored--;
        if (positions.length > 0) {
          for (const position of positions) this.inventory.remove(position);
          this.#count--;
          this.#bytes -= data.byteLength;
        }
      }
      if (failure !== undefined) throw removalFailed(failure, positions);
      return { discarded: true, positions };
    });
  }

  /** Waits for every queued write, then closes the backend. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#writes.idle();
      await this.#backend.close();
    })();
    return this.#closing;
  }

  async #append(batch: PackedAppend): Promise<void> {
    const start = this.#length;
    checkAppendStart(batch, start);
    if (batch.count === 0) return;
    const plan = this.#digest.planAppend(batch.keys);
    this.#index.reserve(batch.count);
    // Read before the commit: a read that fails (a damaged log) then fails the append whole,
    // where after it, it would leave the sequence longer than the index and counters know.
    const sizes = this.#chunkSizes(batch.count, (i) => batch.keys.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES));
    await this.#backend.append(start, batch.keys, plan.checkpoints);
    this.#length = plan.length;
    this.#backend.expectChunks?.(plan.length);
    this.#digest.commitAppend(plan);
    this.inventory.setLength(plan.length);
    const held: number[] = [];
    for (let i = 0; i < batch.count; i++) {
      const key = batch.keys.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
      const wasAnnounced = this.#index.add(key, start + i);
      const size = sizes?.[i];
      if (size === undefined) continue;
      held.push(start + i);
      if (!wasAnnounced) {
        this.#count++;
        this.#bytes += size;
      }
    }
    if (held.length > 0) this.inventory.addMany(held);
  }

  async #truncate(length: number): Promise<void> {
    validateTruncate(length);
    const old = this.#length;
    if (length >= old) return;
    const dropped = new Map<Address, Buffer>();
    for (const bytes of this.#backend.addressRange(length, old)) {
      const address = hexOfAddress(bytes) as Address;
      if (!dropped.has(address)) dropped.set(address, Buffer.from(address, 'hex'));
    }
    const keys = [...dropped.values()];
    const plan = this.#index.planTruncate(length, keys);
    // The sizes of the chunks the cut leaves unannounced are read before the commit, so nothing
    // that can fail runs between it and the counters (#isAnnouncedIfStored trusts them).
    const sizes = this.#chunkSizes(keys.length, (i) => keys[i] as Buffer, (i) => plan.entries[i]?.stays === true);
    // The backend may hold the cut sequence before the counters follow. Cleared only once they
    // have: if the commit or anything after it throws, reads ask the index until the store reopens.
    this.#countsInDoubt = true;
    await this.#backend.truncate(length, old, SequenceDigest.firstDroppedCheckpoint(length));
    this.#index.applyTruncate(plan);
    for (let i = 0; i < keys.length; i++) {
      const size = sizes?.[i];
      if (size === undefined) continue;
      this.#count--;
      this.#bytes -= size;
    }
    this.#length = length;
    this.#backend.expectChunks?.(length);
    this.inventory.setLength(length);
    this.#digest.truncate(length);
    this.#countsInDoubt = false;
  }

  /** The stored size of each of `count` keys (undefined: not stored, or skipped); undefined while nothing is stored. */
  #chunkSizes(count: number, keyAt: (i: number) => Buffer, skip?: (i: number) => boolean): (number | undefined)[] | undefined {
    if (this.#stored === 0) return undefined;
    const sizes = new Array<number | undefined>(count);
    for (let i = 0; i < count; i++) sizes[i] = skip?.(i) === true ? undefined : this.#chunkSize(keyAt(i));
    return sizes;
  }

  #enqueueStore(precheck: () => AdmissionResult[], copy = true): Promise<PutOutcome[]> {
    if (this.#closed) return Promise.reject(closedError());
    let prepared: AdmissionResult[];
    try {
      prepared = copy ? copyAdmitted(precheck()) : precheck();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writes.put(prepared);
  }

  /** Stores the admitted chunks in one backend transaction; "already stored" (a repeat within the batch too) is the backend's answer. */
  async #store(prepared: AdmissionResult[]): Promise<PutOutcome[]> {
    const batch = admitBatch(prepared, this.#positionsNear);
    const written = batch.writes.count > 0 ? await this.#storeChunks(batch.writes) : [];
    const settled = settleBatch(batch, written);
    this.#stored += settled.added;
    this.#count += settled.added;
    this.#bytes += settled.addedBytes;
    if (settled.bits.length > 0) this.inventory.addMany(settled.bits);
    return settled.outcomes;
  }

  /** Writes received batches and counts what they added; each part's outcome is filled in (the write queue answers the parts). */
  async #storeReceipts(parts: ReceiptPart[]): Promise<void> {
    // Counted here as #store counts its own: one method for both (given two shapes of result)
    // made putVerified into LMDB about a tenth slower (170 B chunks, lower in ten of ten alternated runs).
    const written = await writeReceived(parts, this.maxChunkSize, this.#positionsNear, (writes) => this.#storeChunks(writes));
    this.#stored += written.added;
    this.#count += written.added;
    this.#bytes += written.addedBytes;
    if (written.bits.length > 0) this.inventory.addMany(written.bits);
  }

  /** A chunk's stored size; undefined for a damaged record not removed (counted as not stored). */
  #chunkSize(key: Buffer): number | undefined {
    return this.#damaged.has(key) ? undefined : this.#backend.chunkSize(key);
  }

  /**
   * The backend's storeChunks, after removing any damaged record among the keys (the backend would
   * answer "already stored" for it and keep the damaged bytes). A chunk whose damaged record still
   * cannot be removed is not written and is answered with that failure, the chunk's alone: the
   * rest of the batch is written (quarantine.ts).
   */
  #storeChunks(writes: ChunkWrites): Promise<readonly ChunkWriteAnswer[]> {
    if (this.#damaged.size === 0) return this.#backend.storeChunks(writes);
    return this.#damaged.write(writes, (kept) => this.#backend.storeChunks(kept), (key) => this.#backend.removeChunk(key), 'the store');
  }

  /** A hint past the sequence (it was cut since the chunk was asked) is no hint: nothing is read for it. */
  readonly #positionsNear: PositionsNear = (key, hint, keyAt) => this.#index.positionsNear(key, hint !== undefined && hint < this.#length ? hint : undefined, keyAt);

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }
}
