/**
 * The sequence digest of the consensus check (SPEC §6): d_0 = 20 zero bytes,
 * d_{i+1} = hash160(d_i || address_i), where address_i is the 20-byte address at position i.
 * Two peers with the same digest at a common length hold the same sequence prefix.
 *
 * A chain is inherently sequential, so a digest of an arbitrary prefix is made cheap by keeping a
 * checkpoint every DIGEST_CHECKPOINT_INTERVAL positions (checkpoint k = d_{k * interval}) and
 * hashing forward from the nearest one: at most interval - 1 hashes of 40 bytes per query.
 * The LMDB store persists the checkpoints in the same transaction as the positions they cover,
 * so reopening a store rehashes one interval of the sequence to check the last checkpoint, not
 * the whole sequence (restore).
 *
 * Runs of steps go to the hash backend in one call each (hash160Chain: one native call for up to
 * an interval of positions), so neither an append nor a digest query makes a call and a buffer
 * per position.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { hash160, hash160Chain } from '../hash/index.js';

export const DIGEST_BYTES = 20;
export const DIGEST_CHECKPOINT_INTERVAL = 1024;
export const ZERO_DIGEST: Uint8Array = new Uint8Array(DIGEST_BYTES);

/** Yields the 20-byte addresses of positions [from, to), in order. */
export type AddressRangeReader = (from: number, to: number) => Iterable<Uint8Array>;

/** A checkpoint: `digest` = d_{index * DIGEST_CHECKPOINT_INTERVAL}. */
export interface DigestCheckpoint {
  index: number;
  digest: Uint8Array;
}

/** The effect of an append on the digest state, computed before the append is committed. */
export interface DigestAppendPlan {
  readonly fromLength: number;
  readonly length: number;
  readonly tip: Uint8Array;
  /** Checkpoints the append creates; the LMDB store persists them with the positions. */
  readonly checkpoints: readonly DigestCheckpoint[];
}

const scratch = new Uint8Array(2 * DIGEST_BYTES);

/** One step of the digest chain: hash160(previous || address). For tests and tools (the class chains runs of steps). */
export function digestStep(previous: Uint8Array, address: Uint8Array): Uint8Array {
  if (address.length !== DIGEST_BYTES) throw new AtlasError(ErrorCodes.INTERNAL, `digest step needs a 20-byte address, got ${address.length}`);
  scratch.set(previous, 0);
  scratch.set(address, DIGEST_BYTES);
  return hash160(scratch);
}

/** The digest of a whole list of addresses, from d_0 (or from `start`). For tests and tools. */
export function digestOf(addresses: Iterable<Uint8Array>, start: Uint8Array = ZERO_DIGEST): Uint8Array {
  let digest = start;
  for (const address of addresses) digest = digestStep(digest, address);
  return digest;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export class SequenceDigest {
  readonly #read: AddressRangeReader;
  /** #checkpoints[k] = d_{k * interval}; always holds floor(length / interval) + 1 entries. */
  readonly #checkpoints: Uint8Array[];
  #length: number;
  /** d_length, kept so appends hash only the new positions. */
  #tip: Uint8Array;
  #cached: { length: number; hex: string } | undefined;

  private constructor(read: AddressRangeReader, checkpoints: Uint8Array[], length: number, tip: Uint8Array) {
    this.#read = read;
    this.#checkpoints = checkpoints;
    this.#length = length;
    this.#tip = tip;
  }

  /** An empty sequence. */
  static empty(read: AddressRangeReader): SequenceDigest {
    return new SequenceDigest(read, [ZERO_DIGEST], 0, ZERO_DIGEST);
  }

  /**
   * Restores the state of a sequence of `length` positions from persisted checkpoints (index k at
   * k). Missing or extra checkpoints are tolerated: extra ones are ignored, missing ones are
   * rebuilt by hashing and returned in `rebuilt` so the caller can persist them.
   *
   * The last persisted checkpoint kept is checked against the one before it and the sequence
   * (one interval hashed, under a millisecond): the digest of the whole sequence hashes forward
   * from it, so damage to either is caught. When that link does not hold, every checkpoint is
   * hashed again from d_0, and those that differ from the persisted ones are returned in
   * `rebuilt` with the missing ones. Damage to an older checkpoint alone is not looked for at
   * open (that costs hashing the whole sequence); `atlas check` finds it.
   */
  static restore(read: AddressRangeReader, length: number, persisted: readonly (Uint8Array | undefined)[]): { digest: SequenceDigest; rebuilt: DigestCheckpoint[] } {
    const wanted = Math.floor(length / DIGEST_CHECKPOINT_INTERVAL) + 1;
    let checkpoints: Uint8Array[] = [ZERO_DIGEST];
    for (let k = 1; k < wanted; k++) {
      const known = persisted[k];
      if (known === undefined || known.length !== DIGEST_BYTES) break;
      checkpoints.push(known);
    }
    if (!lastLinkHolds(read, checkpoints)) checkpoints = [ZERO_DIGEST];
    const rebuilt: DigestCheckpoint[] = [];
    const from = (checkpoints.length - 1) * DIGEST_CHECKPOINT_INTERVAL;
    const { digest, position } = chainRead(read, checkpoints[checkpoints.length - 1] as Uint8Array, from, length, (index, checkpoint) => {
      checkpoints.push(checkpoint);
      const known = persisted[index];
      if (known === undefined || !Buffer.from(known.buffer, known.byteOffset, known.byteLength).equals(checkpoint)) rebuilt.push({ index, digest: checkpoint });
    });
    if (position !== length) {
      throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the sequence has a hole: expected ${length} positions, read ${position}`);
    }
    return { digest: new SequenceDigest(read, checkpoints, length, digest), rebuilt };
  }

  get length(): number {
    return this.#length;
  }

  /** Checkpoint k (d_{k * interval}), or undefined past the sequence. */
  checkpoint(index: number): Uint8Array | undefined {
    return this.#checkpoints[index];
  }

  get checkpointCount(): number {
    return this.#checkpoints.length;
  }

  /** Computes the effect of appending `packed` (20-byte addresses end to end) without changing anything. */
  planAppend(packed: Uint8Array): DigestAppendPlan {
    const checkpoints: DigestCheckpoint[] = [];
    if (packed.length % DIGEST_BYTES !== 0) throw new AtlasError(ErrorCodes.INTERNAL, `a packed append must be 20-byte addresses, got ${packed.length} bytes`);
    const tip = chainPacked(this.#tip, this.#length, packed, (index, digest) => checkpoints.push({ index, digest }));
    return { fromLength: this.#length, length: this.#length + packed.length / DIGEST_BYTES, tip, checkpoints };
  }

  /** Applies a plan made by planAppend on this very state. */
  commitAppend(plan: DigestAppendPlan): void {
    if (plan.fromLength !== this.#length) {
      throw new AtlasError(ErrorCodes.INTERNAL, `stale digest plan: made at length ${plan.fromLength}, state is at ${this.#length}`);
    }
    for (const checkpoint of plan.checkpoints) this.#checkpoints[checkpoint.index] = checkpoint.digest;
    this.#length = plan.length;
    this.#tip = plan.tip;
  }

  /** Index of the first checkpoint that a truncation to `length` drops. */
  static firstDroppedCheckpoint(length: number): number {
    return Math.floor(length / DIGEST_CHECKPOINT_INTERVAL) + 1;
  }

  /** Drops every position >= length (and the checkpoints past it). Call after the positions are gone. */
  truncate(length: number): void {
    if (length >= this.#length) return;
    this.#checkpoints.length = SequenceDigest.firstDroppedCheckpoint(length);
    this.#length = length;
    this.#tip = this.#forward(length);
    this.#cached = undefined;
  }

  /** d_length as bytes; `length` defaults to the whole sequence and must not exceed it. */
  digest(length: number = this.#length): Uint8Array {
    checkDigestLength(length, this.#length);
    if (length === this.#length) return this.#tip;
    return this.#forward(length);
  }

  /** d_length as 40 hex characters (the form of ChunkStore.sequenceDigest). */
  digestHex(length: number = this.#length): string {
    checkDigestLength(length, this.#length);
    const cached = this.#cached;
    if (cached !== undefined && cached.length === length) return cached.hex;
    const hex = toHex(this.digest(length));
    this.#cached = { length, hex };
    return hex;
  }

  #forward(length: number): Uint8Array {
    const index = Math.floor(length / DIGEST_CHECKPOINT_INTERVAL);
    const start = index * DIGEST_CHECKPOINT_INTERVAL;
    const checkpoint = this.#checkpoints[index] as Uint8Array;
    if (start === length) return checkpoint;
    const { digest, position } = chainRead(this.#read, checkpoint, start, length);
    if (position !== length) {
      throw new AtlasError(ErrorCodes.STORE_CORRUPT, `the sequence has a hole: expected positions up to ${length}, read up to ${position}`);
    }
    return digest;
  }
}

/** Reports the checkpoint a chain reaches: checkpoint `index` is d_{index * DIGEST_CHECKPOINT_INTERVAL}. */
type OnCheckpoint = (index: number, digest: Uint8Array) => void;

/**
 * The digest chain over `packed` (20-byte addresses end to end, the first at `position`), from
 * `digest`: one backend call a run, each run ending at a checkpoint boundary, reported to
 * `onCheckpoint`.
 */
function chainPacked(digest: Uint8Array, position: number, packed: Uint8Array, onCheckpoint?: OnCheckpoint): Uint8Array {
  const count = packed.length / DIGEST_BYTES;
  for (let i = 0; i < count; ) {
    const run = Math.min(count - i, DIGEST_CHECKPOINT_INTERVAL - (position % DIGEST_CHECKPOINT_INTERVAL));
    digest = hash160Chain(digest, packed.subarray(i * DIGEST_BYTES, (i + run) * DIGEST_BYTES));
    i += run;
    position += run;
    if (position % DIGEST_CHECKPOINT_INTERVAL === 0) onCheckpoint?.(position / DIGEST_CHECKPOINT_INTERVAL, digest);
  }
  return digest;
}

/**
 * chainPacked over the addresses `read` yields for [from, to), gathered an interval at a time;
 * stops early where the read does (`position` says where).
 */
function chainRead(read: AddressRangeReader, digest: Uint8Array, from: number, to: number, onCheckpoint?: OnCheckpoint): { digest: Uint8Array; position: number } {
  const run = Buffer.allocUnsafe(Math.max(0, Math.min(to - from, DIGEST_CHECKPOINT_INTERVAL)) * DIGEST_BYTES);
  let filled = 0;
  let position = from;
  const flush = (): void => {
    digest = chainPacked(digest, position - filled / DIGEST_BYTES, run.subarray(0, filled), onCheckpoint);
    filled = 0;
  };
  for (const address of read(from, to)) {
    if (address.length !== DIGEST_BYTES) throw new AtlasError(ErrorCodes.INTERNAL, `digest step needs a 20-byte address, got ${address.length}`);
    run.set(address, filled);
    filled += DIGEST_BYTES;
    position++;
    if (filled === run.length) flush();
  }
  if (filled > 0) flush();
  return { digest, position };
}

/** Whether the last of `checkpoints` (k > 0) is what hashing its interval of the sequence from checkpoint k - 1 gives. */
function lastLinkHolds(read: AddressRangeReader, checkpoints: readonly Uint8Array[]): boolean {
  const last = checkpoints.length - 1;
  if (last === 0) return true;
  const to = last * DIGEST_CHECKPOINT_INTERVAL;
  const { digest, position } = chainRead(read, checkpoints[last - 1] as Uint8Array, to - DIGEST_CHECKPOINT_INTERVAL, to);
  const stored = checkpoints[last] as Uint8Array;
  return position === to && Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).equals(stored);
}

function checkDigestLength(length: number, sequenceLength: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > sequenceLength) {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `digest length must be an integer in [0, ${sequenceLength}], got ${length}`, { length, sequenceLength });
  }
}
