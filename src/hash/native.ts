/**
 * The native backend: the addon built from native/hash160.cc, which hashes with the OpenSSL
 * exported by the running node binary. node-gyp-build finds it at the package root: a source
 * build in build/Release/ first, else the binary prebuilt for this platform in prebuilds/
 * (shipped in the package, so no compiler or install script is needed). Optional: when it is
 * missing or broken, `loadNativeHash` says why and the caller falls back.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chainOf } from './per-item.js';
import { badInput, requireBytes, requireChain, requireChunkArray, splitDigests } from './validate.js';
import { EMPTY_HASH160, HASH160_BYTES, type Hash160Impl } from './types.js';

interface NativeAddon {
  hash160(data: Uint8Array): Buffer;
  hash160Batch(chunks: readonly Uint8Array[]): Buffer;
  hash160Packed(data: Uint8Array, offsets: Uint32Array): Buffer;
  /** Absent from an addon built before it was added (a stale build/Release): chained in JS then. */
  hash160Chain?(previous: Uint8Array, addresses: Uint8Array): Buffer;
  openssl: string;
  /** Absent from an addon built before it hashed RIPEMD-160 itself (all of it was OpenSSL's then). */
  ripemd160?: string;
}

/**
 * The RIPEMD-160 the addon runs over each SHA-256 digest: its 8-lane AVX2 one, its portable one,
 * or OpenSSL's (chosen at load, see native/hash160.cc; ATLAS_RIPEMD160 picks one to compare).
 */
export type NativeRipemd160 = 'avx2' | 'portable' | 'openssl';

export type NativeLoad = { impl: Hash160Impl; openssl: string; ripemd160: NativeRipemd160 } | { impl: undefined; reason: string };

// Same relative path from src/hash/ (vitest, tsx) and from dist/hash/ (compiled).
const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Where a source build puts the addon. */
export const NATIVE_ADDON_PATH = fileURLToPath(new URL('../../build/Release/atlas_native.node', import.meta.url));

const require = createRequire(import.meta.url);

/** The addon file node-gyp-build picks under `root`, or why there is none. */
export function findNativeAddon(root: string = PACKAGE_ROOT): { path: string } | { path: undefined; reason: string } {
  try {
    return { path: (require('node-gyp-build') as { path(dir: string): string }).path(root) };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] as string;
    return { path: undefined, reason: `no native hash addon built or prebuilt for ${process.platform}-${process.arch} (${message})` };
  }
}

/** Loads the addon at `path` (default: the one node-gyp-build finds) and checks it hashes right. */
export function loadNativeHash(path?: string): NativeLoad {
  if (path === undefined) {
    const found = findNativeAddon();
    if (found.path === undefined) return { impl: undefined, reason: found.reason };
    path = found.path;
  }
  if (!existsSync(path)) return { impl: undefined, reason: `${path} not built` };
  let addon: NativeAddon;
  try {
    addon = require(path) as NativeAddon;
  } catch (error) {
    return { impl: undefined, reason: `cannot load ${path}: ${(error as Error).message}` };
  }
  if (typeof addon.hash160 !== 'function' || addon.hash160(new Uint8Array(0)).toString('hex') !== EMPTY_HASH160) {
    return { impl: undefined, reason: `${path} failed its self-test` };
  }
  const ripemd160 = addon.ripemd160 === 'avx2' || addon.ripemd160 === 'portable' ? addon.ripemd160 : 'openssl';
  return { impl: nativeImpl(addon), openssl: addon.openssl, ripemd160 };
}

function nativeImpl(addon: NativeAddon): Hash160Impl {
  // The addon throws TypeError/RangeError on bad arguments; they become BAD_REQUEST like the
  // other backends' (try/catch costs nothing on the path that does not throw).
  const translate = (error: unknown): never => {
    if (error instanceof TypeError || error instanceof RangeError) throw badInput(error.message, error);
    throw error;
  };
  const hash160Digests = (chunks: readonly Uint8Array[]): Buffer => {
    requireChunkArray(chunks, 'hash160Batch');
    try {
      return addon.hash160Batch(chunks);
    } catch (error) {
      return translate(error);
    }
  };
  return {
    name: 'native',
    hash160(data) {
      requireBytes(data, 'hash160');
      return addon.hash160(data);
    },
    hash160Batch(chunks) {
      const packed = hash160Digests(chunks);
      return splitDigests(packed, packed.length / HASH160_BYTES);
    },
    hash160Digests,
    hash160Packed(data, offsets) {
      try {
        return addon.hash160Packed(data, offsets);
      } catch (error) {
        return translate(error);
      }
    },
    hash160Chain(previous, addresses) {
      requireChain(previous, addresses, 'hash160Chain');
      return addon.hash160Chain === undefined ? chainOf(addon.hash160, previous, addresses) : addon.hash160Chain(previous, addresses);
    },
  };
}
