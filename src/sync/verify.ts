import { ADDRESS_BYTES, digestAtIs, type Address } from '../address.js';
import { hash160Digests } from '../hash/index.js';

export interface ReceivedChunk {
  address: Address;
  data: Uint8Array;
}

/** What verifyReceived found. */
export interface ReceivedCheck<T> {
  verified: T[];
  corrupt: T[];
  /** Each verified chunk's hash160, the bytes of its address (digests[i] is verified[i]'s). */
  digests: Buffer[];
}

/** Splits chunks from a peer into those that hash to their address and those that do not (one batch hash). */
export function verifyReceived<T extends ReceivedChunk>(chunks: readonly T[]): ReceivedCheck<T> {
  const hashes = hash160Digests(chunks.map((c) => c.data));
  const bytes = Buffer.from(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const verified: T[] = [];
  const corrupt: T[] = [];
  const digests: Buffer[] = [];
  for (let i = 0, at = 0; i < chunks.length; i++, at += ADDRESS_BYTES) {
    const chunk = chunks[i] as T;
    if (digestAtIs(hashes, at, chunk.address)) {
      verified.push(chunk);
      digests.push(bytes.subarray(at, at + ADDRESS_BYTES));
    } else corrupt.push(chunk);
  }
  return { verified, corrupt, digests };
}
