// Roaring containers <-> vector bytes; run by bitmaps-native.test.ts and bitmaps-wasm.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitmaps } from '../../src/inventory/bitmap.js';
import { bitmapFromBytes, bitmapToBytesInto } from '../../src/inventory/roaring-bytes.js';
import type { TestBitmap } from './backend.js';

/** Per-position reference: the bytes [byteOffset, byteOffset + length) of a set of positions. */
function naiveBytes(positions: Iterable<number>, byteOffset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (const position of positions) {
    const index = Math.floor(position / 8) - byteOffset;
    if (index >= 0 && index < length) out[index] = (out[index] as number) | (0x80 >> position % 8);
  }
  return out;
}

/** Per-bit reference: positions set in `bytes` read from vector byte `byteOffset`, below `bitLimit`. */
function naivePositions(bytes: Uint8Array, byteOffset: number, bitLimit: number): number[] {
  const positions: number[] = [];
  for (let i = 0; i < bytes.length * 8; i++) {
    const position = byteOffset * 8 + i;
    if (position >= bitLimit) break;
    if (((bytes[Math.floor(i / 8)] as number) & (0x80 >> i % 8)) !== 0) positions.push(position);
  }
  return positions;
}

const SPAN = 4 * 65_536 + 1000;

/** Bitmaps over several containers mixing every container kind: arrays, bitsets and runs. */
const bitmapArb = fc
  .record({
    base: fc.constantFrom(0, 65_536 * 3 - 5000, 2 ** 32 - SPAN),
    ranges: fc.array(fc.tuple(fc.nat(SPAN - 1), fc.nat(20_000)), { maxLength: 8 }),
    points: fc.array(fc.nat(SPAN - 1), { maxLength: 3000 }),
    denseBlock: fc.option(fc.tuple(fc.nat(SPAN - 70_000), fc.integer({ min: 1, max: 9 })), { nil: undefined }),
    optimize: fc.boolean(),
  })
  .map(({ base, ranges, points, denseBlock, optimize }) => {
    const bitmap = bitmaps.create() as TestBitmap;
    for (const [start, length] of ranges) bitmap.addRange(base + start, Math.min(base + start + length, base + SPAN));
    bitmap.addMany(points.map((p) => base + p));
    if (denseBlock) {
      // Every k-th position over 70,000: more than 4,096 in a container, so a bitset container.
      const [start, step] = denseBlock;
      for (let p = start; p < start + 70_000; p += step) bitmap.add(base + p);
    }
    if (optimize) bitmap.runOptimize();
    return { base, bitmap };
  });

describe('roaring containers <-> SPEC §4 bytes', () => {
  it('bitmapToBytesInto matches a per-position encoding for any byte window', () => {
    fc.assert(
      fc.property(bitmapArb, fc.integer({ min: -1000, max: SPAN / 8 + 1000 }), fc.nat(SPAN / 8 + 2000), ({ base, bitmap }, from, length) => {
        const byteOffset = Math.max(0, Math.floor(base / 8) + from);
        const out = bitmapToBytesInto(new Uint8Array(length), bitmap, byteOffset);
        expect(Buffer.from(out).equals(Buffer.from(naiveBytes(bitmap.toUint32Array(), byteOffset, length)))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('bitmapToBytesInto ORs into what is already there', () => {
    const out = Uint8Array.of(0x01, 0x00);
    bitmapToBytesInto(out, bitmaps.create([8, 9, 16]), 0);
    expect(Array.from(out)).toEqual([0x01, 0xc0]);
  });

  it('bitmapFromBytes matches a per-bit decoding at any offset and limit', () => {
    const bytesArb = fc.integer({ min: 0, max: 40_000 }).chain((length) =>
      fc.tuple(fc.uint8Array({ minLength: length, maxLength: length }), fc.constantFrom('noise', 'sparse', 'full', 'mixed')).map(([noise, kind]) =>
        noise.map((byte, i) => {
          if (kind === 'full') return i % 5000 === 17 ? 0 : 0xff;
          if (kind === 'sparse') return byte < 8 ? byte : 0;
          if (kind === 'mixed') return Math.floor(i / 9000) % 2 === 0 ? byte : byte < 3 ? 0x10 : 0;
          return byte;
        }),
      ),
    );
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 0, max: 3 * 8192 + 100 }), fc.option(fc.nat(400_000), { nil: undefined }), (bytes, byteOffset, limitPastStart) => {
        const bitLimit = limitPastStart === undefined ? Number.POSITIVE_INFINITY : byteOffset * 8 + limitPastStart;
        const bitmap = bitmapFromBytes(bytes, byteOffset, bitLimit);
        expect(Array.from(bitmap.toUint32Array())).toEqual(naivePositions(bytes, byteOffset, bitLimit));
      }),
      { numRuns: 60 },
    );
  });

  it('round-trips bytes near the end of the 32-bit space', () => {
    const byteOffset = 2 ** 29 - 3;
    const bytes = Uint8Array.of(0x81, 0xff, 0x01);
    const bitmap = bitmapFromBytes(bytes, byteOffset);
    expect(bitmap.size).toBe(2 + 8 + 1);
    expect(bitmap.maximum()).toBe(2 ** 32 - 1);
    expect(Array.from(bitmapToBytesInto(new Uint8Array(3), bitmap, byteOffset))).toEqual([0x81, 0xff, 0x01]);
  });
});
