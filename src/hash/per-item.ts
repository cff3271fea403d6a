import { requireBytes, requireChain, requireChunkArray, requirePacked } from './validate.js';
import { HASH160_BYTES, type Hash160Impl } from './types.js';

/**
 * A backend built from a one-chunk function: the JS backends (node:crypto, hash-wasm) have no
 * batch entry point of their own, so batch and packed calls loop over `one`.
 */
export function perItemImpl(name: Hash160Impl['name'], one: (data: Uint8Array) => Uint8Array): Hash160Impl {
  const hash160Batch = (chunks: readonly Uint8Array[]): Uint8Array[] => {
    requireChunkArray(chunks, 'hash160Batch');
    const results = new Array<Uint8Array>(chunks.length);
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i];
      requireBytes(chunk, 'hash160Batch item');
      results[i] = one(chunk);
    }
    return results;
  };
  return {
    name,
    hash160(data) {
      requireBytes(data, 'hash160');
      return one(data);
    },
    hash160Batch,
    hash160Digests(chunks) {
      const digests = hash160Batch(chunks);
      const out = new Uint8Array(digests.length * HASH160_BYTES);
      for (let i = 0; i < digests.length; i++) out.set(digests[i] as Uint8Array, i * HASH160_BYTES);
      return out;
    },
    hash160Packed(data, offsets) {
      requirePacked(data, offsets, 'hash160Packed');
      const out = new Uint8Array((offsets.length - 1) * HASH160_BYTES);
      for (let i = 0; i + 1 < offsets.length; i++) out.set(one(data.subarray(offsets[i], offsets[i + 1])), i * HASH160_BYTES);
      return out;
    },
    hash160Chain(previous, addresses) {
      requireChain(previous, addresses, 'hash160Chain');
      return chainOf(one, previous, addresses);
    },
  };
}

/**
 * hash160Chain from a one-digest function (these backends, and an addon built before it had its
 * own): each step hashes previous || address in one scratch buffer.
 */
export function chainOf(one: (data: Uint8Array) => Uint8Array, previous: Uint8Array, addresses: Uint8Array): Uint8Array {
  const step = new Uint8Array(2 * HASH160_BYTES);
  let digest = previous;
  for (let at = 0; at < addresses.length; at += HASH160_BYTES) {
    step.set(digest, 0);
    step.set(addresses.subarray(at, at + HASH160_BYTES), HASH160_BYTES);
    digest = one(step);
  }
  return digest === previous ? Uint8Array.from(previous) : digest;
}
