/**
 * Runs the inventory suites on one bitmap backend. The backend is picked once, when
 * src/inventory/bitmap.ts loads, so each runner file sets ATLAS_BITMAP and only then imports
 * the suites (vitest gives every test file its own module graph).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { Bitmap, BitmapBackendName } from '../../src/inventory/bitmap.js';

/** The extra roaring methods some tests use to build bitmaps; both libraries have them. */
export type TestBitmap = Bitmap & {
  addRange(start: number, end: number): unknown;
  removeMany(values: readonly number[]): unknown;
  runOptimize(): unknown;
};

/** Why the native roaring addon cannot load here, or undefined when it can. */
export function nativeRoaringMissing(): string | undefined {
  try {
    createRequire(import.meta.url)('roaring');
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

/** Imports the suites with ATLAS_BITMAP=backend; skips, saying why, when the backend cannot run. */
export async function runSuitesOn(backend: BitmapBackendName, suites: () => Promise<unknown>): Promise<void> {
  const missing = backend === 'native' ? nativeRoaringMissing() : undefined;
  if (missing !== undefined) {
    console.warn(`native roaring unavailable (${missing}); the inventory suites run on wasm only`);
    describe.skip(`inventory suites on ${backend} bitmaps`, () => it('needs the roaring addon', () => {}));
    return;
  }
  process.env.ATLAS_BITMAP = backend;
  const { bitmapBackend, bitmapBackendInfo } = await import('../../src/inventory/bitmap.js');
  describe(`bitmap backend ${backend}`, () => {
    it('is the one the suites run on, forced by ATLAS_BITMAP', () => {
      expect(bitmapBackend()).toBe(backend);
      expect(bitmapBackendInfo()).toMatchObject({ backend, forced: true });
    });
  });
  await suites();
}
