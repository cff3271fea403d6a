/**
 * The one ChunkStore: every rule of the store over a StoreBackend that only keeps records
 * (backend.ts). LmdbChunkStore and MemoryChunkStore are this class over their backends.
 *
 * Crash safety. Nothing about the inventory is stored: at open, the inventory, the chunk count
 * and the byte count are DERIVED from the chunks and the positions index (bit i is set iff the
 * chunk whose address is at position i is stored). A put writes chunk records only; an append or
 * a truncation writes sequence, positions and checkpoints in one backend transaction. So after a
 * kill at any instant the stored chunks and the sequence are each a committed state, and the bits
 * computed from them can never disagree with them.
 *
 * Writes are serialised through one queue, so each one validates against the committed state it
 * will change; the in-memory state (inventory, counters, digest) changes only after its commit.
 * Puts waiting behind the same write share one transaction (group commit).
 *
 * Reads answer for the current sequence: get/has/chunkCount/chunkBytes see a chunk only while
 * its address is announced. A truncation keeps the bytes, so a chunk announced again is present
 * again at once, without being fetched.
 */
import { ADDRESS_BYTES, addressKey, hexOfAddress, type Address } from '../address.js';
import type { Announcement } from '../chain/types.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { Inventory } from '../inventory/inventory.js';
import { SerialQueue, silentLogger, type Logger } from '../runtime.js';
import { checkMaxChunkSize, hashChunks, parseVerified, throwIfRefused, type AdmissionResult } from './admission.js';
import { checkAppendStart, packAppend, validateTruncate, type PackedAppend } from './announcements.js';
import { AddressIndex } from './address-index.js';
import { copyAdmitted, joined } from './admitted.js';
import type { StoreBackend } from './backend.js';
import { handedOverDigests, isHandedOver } from './handed-over.js';
import { admitBatch, settleBatch, type PositionsNear } from './put-batch.js';
import { discardChunk } from './quarantine.js';
import { receivedAsPutVerified, storeReceived, type ReceivedBatch, type ReceivedOutcome } from './received.js';
import { copyReceived, pendingOutcome, writeReceived, type ReceiptPart } from './received-batch.js';
import { WriteGroup } from './write-group.js';
import { SequenceDigest } from './sequence-digest.js';
import type { ChunkStore, DiscardOutcome, PutOutcome, VerifiedChunk } from './types.js';

/** Bits set per inventory call while deriving the inventory at open. */
const DERIVE_BATCH = 65_536;

/** Options common to every ChunkStore. */
export interface ChunkStoreOptions {
  /** Largest chunk admitted, in bytes (default 40,960). */
  maxChunkSize?: number;
  logger?: Logger;
  /** Added to the details of STORE_CORRUPT errors and to warnings (the LMDB store adds its path). */
  details?: Readonly<Record<string, unknown>>;
}

/** A put waiting for its write. */
interface PutPart {
  prepared: AdmissionResult[];
  resolve: (outcomes: PutOutcome[]) => void;
  reject: (error: unknown) => void;
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
  readonly #queue = new SerialQueue();
  readonly #puts = new WriteGroup<PutPart>(
    (task) => this.#enqueue(task),
    (parts) => this.#storeParts(parts),
  );
  readonly #receipts = new WriteGroup<ReceiptPart>(
    (task) => this.#enqueue(task),
    (parts) => this.#storeReceipts(parts),
  );
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #details: Readonly<Record<string, unknown>>;

  /** Derives the inventory and counters from the backend's records; throws STORE_CORRUPT when they disagree. */
  constructor(backend: StoreBackend, options: ChunkStoreOptions = {}) {
    this.maxChunkSize = checkMaxChunkSize(options.maxChunkSize);
    this.#backend = backend;
    this.#details = options.details ?? {};
    this.#length = backend.readLength();
    // Told when the length changes, not on every write: V8 inlined that call into the write path
    // without type feedback (it had run too few times), and reaching it threw the optimised code away.
    backend.expectChunks?.(this.#length);
    this.#index = new AddressIndex((position, key, keyAt) => backend.isAddressAt(position, key, keyAt), { expected: this.#length });
    let position = 0;
    for (const key of backend.addressRange(0, this.#length)) this.#index.add(key, position++);
    if (position !== this.#length) {
      throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the sequence has a hole: expected ${this.#length} positions, read ${position}`, this.#details);
    }
    const { digest, rebuilt } = SequenceDigest.restore((from, to) => backend.addressRange(from, to), this.#length, backend.readCheckpoints());
    this.#digest = digest;
    if (rebuilt.length > 0) {
      (options.logger ?? silentLogger).warn('sequence digest checkpoints were missing and have been rebuilt', { ...this.#details, rebuilt: rebuilt.length });
      backend.writeCheckpoints(rebuilt);
    }
    const derived = this.#deriveInventory();
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
    return this.#enqueue(() => this.#append(batch));
  }

  truncate(length: number): Promise<void> {
    return this.#enqueue(() => this.#truncate(length));
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
    return new Promise((resolve, reject) => this.#receipts.join({ batch: own, outcome: pendingOutcome(own), resolve, reject }));
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
    return shared && backend.sharedChunk !== undefined ? backend.sharedChunk(key) : backend.chunk(key);
  }

  has(address: Address): boolean {
    this.#checkOpen();
    const key = addressKey(address);
    return key !== undefined && this.#isAnnouncedIfStored(key) && this.#backend.hasChunk(key);
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

  /** The bytes are read and hashed again inside the write queue: an intact chunk is never removed. */
  discard(address: Address): Promise<DiscardOutcome> {
    return this.#enqueue(async () => {
      const keyBytes = addressKey(address);
      if (keyBytes === undefined) return { discarded: false, positions: [] };
      const removed = await discardChunk(keyBytes, { read: () => this.#backend.rereadChunk(keyBytes), remove: () => this.#backend.removeChunk(keyBytes) });
      if (removed === undefined) return { discarded: false, positions: [] };
      this.#stored--;
      const positions = this.#index.positionsOf(keyBytes);
      if (positions.length > 0) {
        for (const position of positions) this.inventory.remove(position);
        this.#count--;
        this.#bytes -= removed;
      }
      return { discarded: true, positions };
    });
  }

  /** Waits for every queued write, then closes the backend. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      await this.#queue.idle();
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
    for (let i = 0; i < count; i++) sizes[i] = skip?.(i) === true ? undefined : this.#backend.chunkSize(keyAt(i));
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
    return new Promise((resolve, reject) => this.#puts.join({ prepared, resolve, reject }));
  }

  /** Stores every part's admitted chunks in one backend transaction (write-group.ts). */
  async #storeParts(parts: PutPart[]): Promise<void> {
    try {
      const outcomes = await this.#store(joined(parts.map((part) => part.prepared)));
      let offset = 0;
      for (const part of parts) {
        part.resolve(outcomes.slice(offset, offset + part.prepared.length));
        offset += part.prepared.length;
      }
    } catch (error) {
      for (const part of parts) part.reject(error);
    }
  }

  /** Stores the admitted chunks in one backend transaction; "already stored" (a repeat within the batch too) is the backend's answer. */
  async #store(prepared: AdmissionResult[]): Promise<PutOutcome[]> {
    const batch = admitBatch(prepared, this.#positionsNear);
    const written = batch.writes.count > 0 ? await this.#backend.storeChunks(batch.writes) : [];
    const settled = settleBatch(batch, written);
    this.#stored += settled.added;
    this.#count += settled.added;
    this.#bytes += settled.addedBytes;
    if (settled.bits.length > 0) this.inventory.addMany(settled.bits);
    return settled.outcomes;
  }

  /** Stores every received batch's admitted chunks in one backend transaction (write-group.ts). */
  async #storeReceipts(parts: ReceiptPart[]): Promise<void> {
    try {
      // Counted here as #store counts its own: one method for both (given two shapes of result)
      // made putVerified into LMDB about a tenth slower (170 B chunks, lower in ten of ten alternated runs).
      const written = await writeReceived(parts, this.maxChunkSize, this.#positionsNear, (writes) => this.#backend.storeChunks(writes));
      this.#stored += written.added;
      this.#count += written.added;
      this.#bytes += written.addedBytes;
      if (written.bits.length > 0) this.inventory.addMany(written.bits);
    } catch (error) {
      for (const part of parts) part.reject(error);
      return;
    }
    for (const part of parts) part.resolve(part.outcome);
  }

  /** A hint past the sequence (it was cut since the chunk was asked) is no hint: nothing is read for it. */
  readonly #positionsNear: PositionsNear = (key, hint, keyAt) => this.#index.positionsNear(key, hint !== undefined && hint < this.#length ? hint : undefined, keyAt);

  /** Runs write tasks one at a time, in call order. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    // puts made after this task must not overtake it
    this.#puts.close();
    this.#receipts.close();
    return this.#queue.run(task);
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** The inventory, chunk count and byte count, from the stored chunks and the positions index. */
  #deriveInventory(): { inventory: Inventory; count: number; bytes: number; stored: number } {
    const inventory = new Inventory(this.#length);
    let count = 0;
    let bytes = 0;
    let stored = 0;
    const bits: number[] = [];
    for (const { key, size } of this.#backend.chunkSizes()) {
      stored++;
      const positions = this.#index.positionsOf(key);
      if (positions.length === 0) continue;
      if ((positions[positions.length - 1] as number) >= this.#length) {
        throw new AtlasError(ErrorCodes.STORE_CORRUPT, `chunk ${key.toString('hex')} is indexed at positions past the sequence`, this.#details);
      }
      for (const position of positions) bits.push(position);
      if (bits.length >= DERIVE_BATCH) inventory.addMany(bits.splice(0));
      count++;
      bytes += size;
    }
    inventory.addMany(bits);
    return { inventory, count, bytes, stored };
  }
}

function closedError(): AtlasError {
  return new AtlasError(ErrorCodes.CLOSED, 'the chunk store is closed');
}
