/**
 * Which roaring implementation runs, picked once at load: the native addon (`roaring`) when its
 * binary loads, else `roaring-wasm`. `ATLAS_BITMAP=native|wasm` forces one; forcing one that
 * cannot run is an error at load. `roaring` is an optional dependency, so an install where it
 * cannot be built still succeeds and runs on WebAssembly.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { backendChosenBy, isNotInstalled, nativeSkipped, noticeOnFirstCall, recordFallback } from '../native-fallback.js';
import { loadNativeBitmaps, loadWasmBitmaps } from './bitmap-backends.js';
import { BITMAP_BACKEND_NAMES, type BitmapBackend, type BitmapBackendName } from './bitmap-types.js';

export { BITMAP_BACKEND_NAMES, END_OF_RANGE, type Bitmap, type BitmapBackend, type BitmapBackendName, type ReadonlyBitmap } from './bitmap-types.js';

export const BITMAP_BACKEND_ENV = 'ATLAS_BITMAP';

/** What bitmapBackendInfo() reports. */
export interface BitmapBackendInfo {
  backend: BitmapBackendName;
  /** True when ATLAS_BITMAP chose the backend. */
  forced: boolean;
  /** Why the native backend is not in use, when it did not load (or was not tried). */
  nativeUnavailable?: string;
}

function configError(message: string): AtlasError {
  return new AtlasError(ErrorCodes.INTERNAL, message, { env: BITMAP_BACKEND_ENV });
}

function pick(): { backend: BitmapBackend; info: BitmapBackendInfo; notice?: boolean } {
  const requested = backendChosenBy(BITMAP_BACKEND_ENV, BITMAP_BACKEND_NAMES, configError);
  if (requested === 'wasm') {
    const wasm = loadWasmBitmaps();
    if (!wasm.backend) throw configError(`${BITMAP_BACKEND_ENV}=wasm, but roaring-wasm cannot run: ${wasm.reason}`);
    return { backend: wasm.backend, info: { backend: 'wasm', forced: true, nativeUnavailable: 'not tried: ATLAS_BITMAP=wasm' } };
  }
  const native = loadNativeBitmaps();
  if (native.backend) return { backend: native.backend, info: { backend: 'native', forced: requested === 'native' } };
  if (requested === 'native') {
    throw configError(`${BITMAP_BACKEND_ENV}=native, but the roaring addon cannot load: ${native.reason}. ${isNotInstalled(native.reason) ? 'Install it with `npm install roaring`, with a C++ toolchain present' : 'Rebuild it with `npm rebuild roaring`'}.`);
  }
  const wasm = loadWasmBitmaps();
  if (!wasm.backend) throw configError(`no bitmap backend can run: roaring (${native.reason}), roaring-wasm (${wasm.reason})`);
  const quiet = nativeSkipped();
  if (!quiet) recordFallback({ component: 'bitmaps', running: 'roaring-wasm', silence: `${BITMAP_BACKEND_ENV}=wasm`, rebuild: 'roaring', missing: isNotInstalled(native.reason) });
  return { backend: wasm.backend, info: { backend: 'wasm', forced: false, nativeUnavailable: native.reason }, notice: !quiet };
}

const picked = pick();

/**
 * The bitmap implementation in use. After an unrequested fallback its first call prints the
 * one-line fallback notice, then this binding becomes the backend itself.
 */
export let bitmaps: BitmapBackend = picked.notice
  ? noticeOnFirstCall(picked.backend, (backend) => {
      bitmaps = backend;
    })
  : picked.backend;

/** The roaring implementation in use, picked once at load: `native` or `wasm`. */
export function bitmapBackend(): BitmapBackendName {
  return picked.info.backend;
}

/** The bitmap backend in use, whether ATLAS_BITMAP chose it, and why native is not in use. */
export function bitmapBackendInfo(): BitmapBackendInfo {
  return { ...picked.info };
}
