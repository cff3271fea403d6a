/**
 * The one rule for removing a stored chunk (quarantine): only bytes that no longer hash to their
 * address are removed. A caller that saw corrupt bytes asks for the removal; the bytes are read
 * and hashed again inside the write queue, so a chunk that is intact (a false alarm, or a chunk
 * already re-fetched) can never be lost this way.
 */
import { hash160 } from '../hash/index.js';

export { type DiscardOutcome } from './types.js';

export interface StoredRecord {
  read(): Uint8Array | undefined;
  remove(): unknown;
}

/** Removes the record when its bytes do not hash to `key`; returns the removed byte count. */
export async function discardChunk(key: Uint8Array, record: StoredRecord): Promise<number | undefined> {
  const data = record.read();
  if (data === undefined || hashesTo(data, key)) return undefined;
  await record.remove();
  return data.byteLength;
}

export function hashesTo(data: Uint8Array, key: Uint8Array): boolean {
  return Buffer.from(hash160(data)).equals(key);
}
