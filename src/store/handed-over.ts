/**
 * Chunk lists whose bytes the caller hands over to the store with `putVerified`.
 *
 * The store copies the bytes of every put when the call is made: a caller may reuse its buffers
 * as soon as the call returns, and the bytes checked must be the bytes written. A downloader's
 * chunks are views of a reply just decoded, which nothing else holds or will change when the
 * transport says so (`Transport.handsOverReplies`); copying them cost a catch-up a memory copy and
 * two objects a chunk. A list handed over is kept as it is until written (and copied all the same
 * for a backend that keeps what it is given: `keepsChunkBytes`).
 *
 * Only code inside the library can hand a list over: the functions are not part of the package's
 * exports, so a store's callers keep the copy they rely on.
 */
import type { VerifiedChunk } from './types.js';

/** Each list handed over, with the digests it came with (undefined: none). */
const handedOver = new WeakMap<readonly VerifiedChunk[], readonly Buffer[] | undefined>();

/**
 * Marks `chunks` as handed over: the caller will neither change nor reuse their bytes. With
 * `digests`: digests[i] is chunks[i]'s hash160, which the caller found to be exactly its address
 * (verifyReceived); the store then takes it as the address's bytes instead of parsing the hex.
 */
export function handOverChunks<T extends readonly VerifiedChunk[]>(chunks: T, digests?: readonly Buffer[]): T {
  // Both frozen (the library made them for this call), so that a store wrapping ours cannot
  // reorder the list away from its digests.
  Object.freeze(chunks);
  handedOver.set(chunks, digests !== undefined && digests.length === chunks.length ? Object.freeze(digests) : undefined);
  return chunks;
}

/** Whether `chunks` was handed over (handOverChunks). */
export function isHandedOver(chunks: readonly VerifiedChunk[]): boolean {
  return handedOver.has(chunks);
}

/** The digests `chunks` was handed over with, if any. */
export function handedOverDigests(chunks: readonly VerifiedChunk[]): readonly Buffer[] | undefined {
  return handedOver.get(chunks);
}
