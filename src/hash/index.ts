/**
 * hash160 = RIPEMD160(SHA256(data)), the chunk address, with three backends picked once at load:
 * the native addon (batch calls into OpenSSL) > node:crypto > hash-wasm.
 * `ATLAS_HASH=native|node|wasm` forces one; forcing one that cannot run is an error at load.
 * An unrequested fallback prints one notice line at the first hash (see native-fallback.ts).
 *
 * The API is synchronous. hash-wasm can only be instantiated asynchronously, so when the wasm
 * backend is the one in use (forced, or this node's OpenSSL lacks RIPEMD-160 and the addon is
 * absent) callers must `await hashReady()` before hashing; `AtlasNode.open` does. A top-level
 * await would avoid that, but it would make the whole package an async module graph, which
 * `require()` of ESM (Node >= 20.17) refuses for every user, wasm or not.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { backendChosenBy, nativeSkipped, noticeOnFirstCall, recordFallback } from '../native-fallback.js';
import { loadNativeHash, type NativeRipemd160 } from './native.js';
import { loadNodeHash } from './node-crypto.js';
import { HASH_BACKEND_NAMES, type Hash160Impl, type HashBackendName } from './types.js';
import { createWasmHash } from './wasm.js';

export { HASH160_BYTES, HASH_BACKEND_NAMES, type Hash160Impl, type HashBackendName } from './types.js';
export { NATIVE_ADDON_PATH, type NativeRipemd160 } from './native.js';

export const HASH_BACKEND_ENV = 'ATLAS_HASH';
export { SKIP_NATIVE_ENV } from '../native-fallback.js';

/** What hashBackendInfo() reports. */
export interface HashBackendInfo {
  backend: HashBackendName;
  /** True when ATLAS_HASH chose the backend. */
  forced: boolean;
  /** Why the native addon is not in use, when it is not available. */
  nativeUnavailable?: string;
  /** The OpenSSL version the native addon links against (its SHA-256), when it loaded. */
  openssl?: string;
  /** The native addon's RIPEMD-160 (native.ts), when it loaded. */
  ripemd160?: NativeRipemd160;
}

const native = loadNativeHash();
const node = loadNodeHash();
let wasmPromise: Promise<Hash160Impl> | undefined;

function loadWasm(): Promise<Hash160Impl> {
  wasmPromise ??= createWasmHash();
  return wasmPromise;
}

function configError(message: string): AtlasError {
  return new AtlasError(ErrorCodes.INTERNAL, message, { env: HASH_BACKEND_ENV });
}

/** Stands in for the wasm backend until it is instantiated. */
const wasmLoading: Hash160Impl = {
  name: 'wasm',
  hash160: notReady,
  hash160Batch: notReady,
  hash160Digests: notReady,
  hash160Packed: notReady,
  hash160Chain: notReady,
};

function notReady(): never {
  throw new AtlasError(ErrorCodes.NOT_STARTED, 'the wasm hash backend is still loading: await hashReady() before hashing');
}

function pick(): { impl: Hash160Impl; forced: boolean; ready: Promise<void> } {
  const requested = backendChosenBy(HASH_BACKEND_ENV, HASH_BACKEND_NAMES, configError);
  const ready = Promise.resolve();
  if (requested === 'native') {
    if (!native.impl) {
      throw configError(
        `${HASH_BACKEND_ENV}=native, but the native hash addon is unavailable: ${native.reason}. Build it with \`npm rebuild atlasnet\` (in a checkout: \`npm run build:native\`).`,
      );
    }
    return { impl: native.impl, forced: true, ready };
  }
  if (requested === 'node') {
    if (!node.impl) throw configError(`${HASH_BACKEND_ENV}=node, but ${node.reason}`);
    return { impl: node.impl, forced: true, ready };
  }
  if (requested === 'wasm') return { impl: wasmLoading, forced: true, ready: useWasm() };
  if (native.impl) return { impl: native.impl, forced: false, ready };
  const quiet = nativeSkipped();
  if (node.impl) {
    if (!quiet) recordFallback({ component: 'hashing', running: 'node:crypto', silence: `${HASH_BACKEND_ENV}=node`, rebuild: 'atlasnet' });
    return { impl: quiet ? node.impl : noticing(node.impl), forced: false, ready };
  }
  if (!quiet) recordFallback({ component: 'hashing', running: 'hash-wasm', silence: `${HASH_BACKEND_ENV}=wasm`, rebuild: 'atlasnet' });
  return { impl: wasmLoading, forced: false, ready: useWasm(!quiet) };
}

/** `impl` behind a stand-in that prints the fallback notice at the first hash. */
function noticing(impl: Hash160Impl): Hash160Impl {
  return noticeOnFirstCall(impl, (real) => {
    active = real;
  });
}

function useWasm(notice = false): Promise<void> {
  return loadWasm().then((impl) => {
    active = notice ? noticing(impl) : impl;
  });
}

const picked = pick();
let active: Hash160Impl = picked.impl;
// Rejection is reported to whoever awaits hashReady(); keep an unobserved one from crashing.
picked.ready.catch(() => {});

/** RIPEMD160(SHA256(data)), 20 bytes. */
export function hash160(data: Uint8Array): Uint8Array {
  return active.hash160(data);
}

/** hash160 as 40 lower-case hex characters: the address of `data`. */
export function hash160Hex(data: Uint8Array): string {
  const digest = active.hash160(data);
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');
}

/** One digest per chunk, in order, in one call (one native call with the addon). */
export function hash160Batch(chunks: readonly Uint8Array[]): Uint8Array[] {
  return active.hash160Batch(chunks);
}

/**
 * One digest per chunk, end to end: digest i is bytes [20i, 20i + 20). For a caller that reads
 * them in place (no view a digest); not part of the package's exports.
 */
export function hash160Digests(chunks: readonly Uint8Array[]): Uint8Array {
  return active.hash160Digests(chunks);
}

/** Chunks laid end to end: chunk i is data[offsets[i], offsets[i + 1]). Returns 20 * n bytes. */
export function hash160Packed(data: Uint8Array, offsets: Uint32Array): Uint8Array {
  return active.hash160Packed(data, offsets);
}

/** The sequence digest chain: d = hash160(d || address) over 20-byte addresses end to end, from `previous`. */
export function hash160Chain(previous: Uint8Array, addresses: Uint8Array): Uint8Array {
  return active.hash160Chain(previous, addresses);
}

/** The backend in use, picked once at load. */
export function hashBackend(): HashBackendName {
  return active.name;
}

/** The backend in use, whether ATLAS_HASH chose it, why the addon is not in use, its OpenSSL. */
export function hashBackendInfo(): HashBackendInfo {
  const info: HashBackendInfo = { backend: active.name, forced: picked.forced };
  if (native.impl) {
    info.openssl = native.openssl;
    info.ripemd160 = native.ripemd160;
  }
  else info.nativeUnavailable = native.reason;
  return info;
}

/** Resolves once the backend in use can hash (at once unless it is wasm). */
export function hashReady(): Promise<void> {
  return picked.ready;
}

/** Every backend this process can run, for tests and benchmarks that compare them. */
export async function hashBackends(): Promise<Record<HashBackendName, Hash160Impl | undefined>> {
  const wasm = await loadWasm().catch(() => undefined);
  return { native: native.impl, node: node.impl, wasm };
}
