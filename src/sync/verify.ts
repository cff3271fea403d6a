import { digestIs, type Address } from '../address.js';
import { hash160Batch } from '../hash/index.js';

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
  const hashes = hash160Batch(chunks.map((c) => c.data));
  const verified: T[] = [];
  const corrupt: T[] = [];
  const digests: Buffer[] = [];
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i] as T;
    const digest = hashes[i] as Uint8Array;
    if (digestIs(digest, chunk.address)) {
      verified.push(chunk);
      digests.push(Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength));
    } else corrupt.push(chunk);
  }
  return { verified, corrupt, digests };
}
