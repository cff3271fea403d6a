/**
 * The two bitmap backends. Each loader returns the backend or why it cannot run; neither throws.
 * Both libraries are CommonJS and load synchronously (roaring-wasm compiles its module
 * synchronously under Node), so the choice is made at load without an async step.
 */
import { createRequire } from 'node:module';
import type { Bitmap, BitmapBackend, BitmapBackendName, ReadonlyBitmap } from './bitmap-types.js';

/** The statics both RoaringBitmap32 classes share. */
interface RoaringClass {
  new (values?: readonly number[] | Uint32Array): Bitmap;
  fromRange(start: number, end: number): Bitmap;
  deserialize(bytes: Uint8Array, format: 'portable'): Bitmap;
  and(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap;
  or(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap;
  andNot(a: ReadonlyBitmap, b: ReadonlyBitmap): Bitmap;
  orMany(bitmaps: readonly ReadonlyBitmap[]): Bitmap;
}

export type BitmapLoad = { backend: BitmapBackend } | { backend: undefined; reason: string };

const require = createRequire(import.meta.url);

function loadClass(moduleName: string): RoaringClass {
  return (require(moduleName) as { RoaringBitmap32: RoaringClass }).RoaringBitmap32;
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] as string;
}

/** Shared by both: everything but ranges and release has the same name and meaning in both. */
function backendOf(
  name: BitmapBackendName,
  Roaring: RoaringClass,
  valuesInRange: BitmapBackend['valuesInRange'],
  release: BitmapBackend['release'],
): BitmapBackend {
  return {
    name,
    create: (values) => (values === undefined ? new Roaring() : new Roaring(values)),
    fromRange: (start, end) => Roaring.fromRange(start, end),
    deserializePortable: (bytes) => Roaring.deserialize(bytes, 'portable'),
    and: (a, b) => Roaring.and(a, b),
    or: (a, b) => Roaring.or(a, b),
    andNot: (a, b) => Roaring.andNot(a, b),
    orMany: (bitmaps) => Roaring.orMany(bitmaps),
    isBitmap: (value): value is Bitmap => value instanceof Roaring,
    valuesInRange,
    release,
  };
}

/** A backend must compute a small case right before it is trusted. */
function selfTest(backend: BitmapBackend): string | undefined {
  const a = backend.create([1, 5, 70_000]);
  const b = backend.fromRange(4, 80_000);
  const both = backend.and(a, b);
  const values = Array.from(backend.valuesInRange(both, 0, 100_000));
  for (const bitmap of [a, b, both]) backend.release(bitmap);
  return values.join() === '5,70000' ? undefined : `failed its self-test (got ${values.join()})`;
}

function checked(load: () => BitmapBackend): BitmapLoad {
  let backend: BitmapBackend;
  try {
    backend = load();
  } catch (error) {
    return { backend: undefined, reason: message(error) };
  }
  const failure = selfTest(backend);
  return failure === undefined ? { backend } : { backend: undefined, reason: failure };
}

/** roaring: CRoaring as a native addon; released temporaries are freed at once, the rest by the garbage collector. */
export function loadNativeBitmaps(): BitmapLoad {
  return checked(() => {
    const Roaring = loadClass('roaring');
    // Its rangeUint32Array(offset, limit) pages by rank, not by value.
    const valuesInRange: BitmapBackend['valuesInRange'] = (bitmap, start, end) => {
      const count = end <= start ? 0 : bitmap.rangeCardinality(start, end);
      if (count === 0) return new Uint32Array(0);
      const skip = start === 0 ? 0 : bitmap.rangeCardinality(0, start);
      return (bitmap as unknown as { rangeUint32Array(offset: number, limit: number): Uint32Array }).rangeUint32Array(skip, count);
    };
    // Disposing frees the containers now: left to the garbage collector, the temporaries of 80
    // peers' refreshes pile up in the malloc heap before a collection runs their finalisers.
    const release: BitmapBackend['release'] = (bitmap) => {
      (bitmap as unknown as { dispose(): unknown } | undefined)?.dispose();
    };
    return backendOf('native', Roaring, valuesInRange, release);
  });
}

interface WasmModule {
  RoaringBitmap32: RoaringClass;
  roaringLibraryIsReady(): boolean;
}

/** roaring-wasm: CRoaring in WebAssembly memory, which is released explicitly. */
export function loadWasmBitmaps(): BitmapLoad {
  return checked(() => {
    const wasm = require('roaring-wasm') as WasmModule;
    if (!wasm.roaringLibraryIsReady()) throw new Error('roaring-wasm did not initialise synchronously');
    // rangeUint32Array(minimum, maximum) takes values; its end is exclusive.
    const valuesInRange: BitmapBackend['valuesInRange'] = (bitmap, start, end) =>
      end <= start ? new Uint32Array(0) : (bitmap as unknown as { rangeUint32Array(min: number, max: number): Uint32Array }).rangeUint32Array(start, end);
    const release: BitmapBackend['release'] = (bitmap) => {
      (bitmap as unknown as { dispose(): unknown } | undefined)?.dispose();
    };
    return backendOf('wasm', wasm.RoaringBitmap32, valuesInRange, release);
  });
}
