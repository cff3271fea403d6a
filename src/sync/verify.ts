import { digestIs, type Address } from '../address.js';
import { hash160Batch } from '../hash/index.js';

export interface ReceivedChunk {
  address: Address;
  data: Uint8Array;
}

/** Splits chunks from a peer into those that hash to their address and those that do not (one batch hash). */
export function verifyReceived<T extends ReceivedChunk>(chunks: readonly T[]): { verified: T[]; corrupt: T[] } {
  const hashes = hash160Batch(chunks.map((c) => c.data));
  const verified: T[] = [];
  const corrupt: T[] = [];
  chunks.forEach((chunk, i) => {
    (digestIs(hashes[i] as Uint8Array, chunk.address) ? verified : corrupt).push(chunk);
  });
  return { verified, corrupt };
}
