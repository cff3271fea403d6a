/**
 * The hash-wasm backend, for a node whose OpenSSL lacks RIPEMD-160. hash-wasm instantiates its
 * WebAssembly asynchronously, so this backend is created by a promise; once created it hashes
 * synchronously like the others.
 */
import { createRIPEMD160, createSHA256 } from 'hash-wasm';
import { perItemImpl } from './per-item.js';
import type { Hash160Impl } from './types.js';

export async function createWasmHash(): Promise<Hash160Impl> {
  const [sha256, ripemd160] = await Promise.all([createSHA256(), createRIPEMD160()]);
  return perItemImpl('wasm', (data) => ripemd160.init().update(sha256.init().update(data).digest('binary')).digest('binary'));
}
