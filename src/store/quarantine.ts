/**
 * The one rule for removing a stored chunk (quarantine): only bytes that no longer hash to their
 * address are removed. A caller that saw corrupt bytes asks for the removal; the bytes are read
 * and hashed again inside the write queue, so a chunk that is intact (a false alarm, or a chunk
 * already re-fetched) can never be lost this way.
 *
 * A removal the backend fails (an I/O error from LMDB) leaves the damaged record on the medium.
 * The store can no more serve it than if it were gone, so it counts it as gone all the same (its
 * inventory bits cleared, get/has answering none) and keeps its key here: a put of the chunk's
 * good bytes removes the record first (the backend answers "already stored" for a key it holds).
 * While that removal still fails, that chunk alone is left out of the write and answered with the
 * removal's error (a put's `ok: false` outcome, a received chunk REFUSED); the other chunks of
 * the batch are written as ever. What is here lasts until the store closes; reopened, the store
 * counts the record as held again until a verified read finds it damaged once more.
 */
import { ADDRESS_BYTES } from '../address.js';
import { hash160 } from '../hash/index.js';
import { AtlasError, isAtlasError } from '../errors.js';
import type { ChunkWrites } from './backend.js';
import { storeFileError } from './file-error.js';

export { type DiscardOutcome } from './types.js';

/** Whether `data` hashes to the 20-byte `key`. */
export function hashesTo(data: Uint8Array, key: Uint8Array): boolean {
  return Buffer.from(hash160(data)).equals(key);
}

/** Keys of damaged records the backend failed to remove: counted as not stored, never served. */
export class DamagedRecords {
  readonly #keys = new Set<string>();

  get size(): number {
    return this.#keys.size;
  }

  has(key: Buffer): boolean {
    return this.#keys.size > 0 && this.#keys.has(key.toString('latin1'));
  }

  /**
   * Removes the damaged record of `key` with `remove`: undefined when it is gone (and the key is
   * forgotten), else the failure as a typed AtlasError (STORE_IO or STORE_PERMISSION with the
   * errno, its cause the backend's error), the key kept.
   */
  async remove(key: Buffer, remove: () => Promise<void>, where: string): Promise<AtlasError | undefined> {
    const id = key.toString('latin1');
    try {
      await remove();
    } catch (error) {
      this.#keys.add(id);
      return isAtlasError(error) ? error : storeFileError(where, `cannot remove the damaged chunk ${key.toString('hex')}`, error);
    }
    this.#keys.delete(id);
    return undefined;
  }

  /**
   * Writes `writes` with `store` (the backend's storeChunks), after removing each damaged record
   * among their keys with `remove`. A key whose removal still fails is left out of the write and
   * answered with that failure (every write of it, a key repeated in the batch too); the others are
   * answered as `store` answers them (true: added). Without a damaged record among them, `store`'s
   * own answer is returned as it is.
   */
  async write(writes: ChunkWrites, store: (writes: ChunkWrites) => Promise<boolean[]>, remove: (key: Buffer) => Promise<void>, where: string): Promise<readonly ChunkWriteAnswer[]> {
    if (this.#keys.size === 0) return store(writes);
    const packed = Buffer.from(writes.keys.buffer, writes.keys.byteOffset, writes.keys.byteLength);
    const idAt = (i: number): string => packed.toString('latin1', i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
    // Key (as `#keys` holds it) -> the failure of its removal: one try a key, however often the batch repeats it.
    let failed: Map<string, AtlasError> | undefined;
    for (let i = 0; i < writes.count; i++) {
      const id = idAt(i);
      if (!this.#keys.has(id) || failed?.has(id) === true) continue;
      const key = packed.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
      const failure = await this.remove(key, () => remove(key), where);
      if (failure !== undefined) (failed ??= new Map()).set(id, failure);
    }
    if (failed === undefined) return store(writes);
    const keys: Uint8Array[] = [];
    const data: Uint8Array[] = [];
    for (let i = 0; i < writes.count; i++) {
      if (failed.has(idAt(i))) continue;
      keys.push(packed.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES));
      data.push(writes.data[i] as Uint8Array);
    }
    const written = data.length > 0 ? await store({ count: data.length, keys: Buffer.concat(keys), data }) : [];
    const answers = new Array<ChunkWriteAnswer>(writes.count);
    let next = 0;
    for (let i = 0; i < writes.count; i++) answers[i] = failed.get(idAt(i)) ?? written[next++] === true;
    return answers;
  }
}

/**
 * What became of one chunk of a write: true when it was added, false when it was stored already,
 * or the typed error (STORE_IO or STORE_PERMISSION) of a damaged record of it that could not be
 * removed first (the chunk was not written; the rest of the batch was).
 */
export type ChunkWriteAnswer = boolean | AtlasError;

/**
 * Whether `error` is what discard() rejects with when the removal failed (removalFailed): the store
 * has then stopped serving the chunk (`details.positions`: the bits it cleared).
 */
export function stoppedServing(error: unknown): boolean {
  return isAtlasError(error) && Array.isArray((error.details as { positions?: unknown } | undefined)?.positions);
}

/** The error discard() rejects with when the removal failed: the removal's own code and details, with the positions whose bits were cleared. */
export function removalFailed(failure: AtlasError, positions: readonly number[]): AtlasError {
  const details = { ...((failure.details as Record<string, unknown> | undefined) ?? {}), positions };
  return new AtlasError(failure.code, `${failure.message}: it is no longer served or counted, and its bits are cleared`, details, { cause: failure });
}
