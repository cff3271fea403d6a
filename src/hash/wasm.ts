/**
 * The hash-wasm backend, for a node whose OpenSSL lacks RIPEMD-160. hash-wasm instantiates its
 * WebAssembly asynchronously, so this backend is created by a promise; once created it hashes
 * synchronously like the others.
 *
 * hash-wasm is imported only here, when the backend is created: Node loads its 280 KB CommonJS
 * build and scans it for exports on import, which cost every process 30-50 ms at start and V8
 * about 160 ms of optimising compilation on its other threads (the scanner ran hot), competing
 * with a node's first seconds of work, for a backend that a node with the addon or node:crypto
 * never runs.
 */
import { perItemImpl } from './per-item.js';
import type { Hash160Impl } from './types.js';

export async function createWasmHash(): Promise<Hash160Impl> {
  const { createRIPEMD160, createSHA256 } = await import('hash-wasm');
  const [sha256, ripemd160] = await Promise.all([createSHA256(), createRIPEMD160()]);
  return perItemImpl('wasm', (data) => ripemd160.init().update(sha256.init().update(data).digest('binary')).digest('binary'));
}
