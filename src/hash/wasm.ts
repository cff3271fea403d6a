/**
 * The hash-wasm backend, for a node whose OpenSSL lacks RIPEMD-160. hash-wasm instantiates its
 * WebAssembly asynchronously, so this backend is created by a promise; once created it hashes
 * synchronously like the others.
 */
import { createRIPEMD160, createSHA256 } from 'hash-wasm';
import { requireBytes, requireChunkArray, requirePacked } from './validate.js';
import { HASH160_BYTES, type Hash160Impl } from './types.js';

export async function createWasmHash(): Promise<Hash160Impl> {
  const [sha256, ripemd160] = await Promise.all([createSHA256(), createRIPEMD160()]);
  const into = (data: Uint8Array, out: Uint8Array, at: number): void => {
    const inner = sha256.init().update(data).digest('binary');
    out.set(ripemd160.init().update(inner).digest('binary'), at);
  };
  const one = (data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(HASH160_BYTES);
    into(data, out, 0);
    return out;
  };
  return {
    name: 'wasm',
    hash160(data) {
      requireBytes(data, 'hash160');
      return one(data);
    },
    hash160Batch(chunks) {
      requireChunkArray(chunks, 'hash160Batch');
      const results = new Array<Uint8Array>(chunks.length);
      for (let i = 0; i < chunks.length; i++) {
        const chunk = chunks[i];
        requireBytes(chunk, 'hash160Batch item');
        results[i] = one(chunk);
      }
      return results;
    },
    hash160Packed(data, offsets) {
      requirePacked(data, offsets, 'hash160Packed');
      const out = new Uint8Array((offsets.length - 1) * HASH160_BYTES);
      for (let i = 0; i + 1 < offsets.length; i++) into(data.subarray(offsets[i], offsets[i + 1]), out, i * HASH160_BYTES);
      return out;
    },
  };
}
