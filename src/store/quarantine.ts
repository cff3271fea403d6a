/**
 * The one rule for removing a stored chunk (quarantine): only bytes that no longer hash to their
 * address are removed. A caller that saw corrupt bytes asks for the removal; the bytes are read
 * and hashed again inside the write queue, so a chunk that is intact (a false alarm, or a chunk
 * already re-fetched) can never be lost this way.
 *
 * A removal the backend fails (an I/O error from LMDB) leaves the damaged record on the medium.
 * The store can no more serve it than if it were gone, so it counts it as gone all the same (its
 * inventory bits cleared, get/has answering none) and keeps its key here: a put of the chunk's
 * good bytes removes the record first (the backend answers "already stored" for a key it holds),
 * and fails with the removal's error while that still fails. What is here lasts until the store
 * closes; reopened, the store counts the record as held again until a verified read finds it
 * damaged once more.
 */
import { ADDRESS_BYTES } from '../address.js';
import { hash160 } from '../hash/index.js';
import { AtlasError, isAtlasError } from '../errors.js';
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
   * Before `keys` (count × ADDRESS_BYTES, as a batch of chunk writes holds them) are written: removes
   * each damaged record among them; throws the first removal that still fails.
   */
  async clear(keys: Uint8Array, count: number, remove: (key: Buffer) => Promise<void>, where: string): Promise<void> {
    if (this.#keys.size === 0) return;
    const packed = Buffer.from(keys.buffer, keys.byteOffset, keys.byteLength);
    for (let i = 0; i < count; i++) {
      const key = packed.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
      if (!this.has(key)) continue;
      const failure = await this.remove(key, () => remove(key), where);
      if (failure !== undefined) throw failure;
    }
  }
}

/** The error discard() rejects with when the removal failed: the removal's own code and details, with the positions whose bits were cleared. */
export function removalFailed(failure: AtlasError, positions: readonly number[]): AtlasError {
  const details = { ...((failure.details as Record<string, unknown> | undefined) ?? {}), positions };
  return new AtlasError(failure.code, `${failure.message}: it is no longer served or counted, and its bits are cleared`, details, { cause: failure });
}
