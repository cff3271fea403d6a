import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitMaskOf, byteIndexOf, byteLengthOf, decodeRange, encodeRange, encodeRangeInto } from '../../src/inventory/index.js';
import { naiveDecode, naivePositions } from './reference.js';

describe('SPEC §4 codec', () => {
  it('locates bit i in byte i >> 3 under mask 0x80 >> (i & 7)', () => {
    expect([0, 7, 8, 15, 16].map(byteIndexOf)).toEqual([0, 0, 1, 1, 2]);
    expect([0, 1, 7, 8, 9].map(bitMaskOf)).toEqual([0x80, 0x40, 0x01, 0x80, 0x40]);
    expect([0, 1, 8, 9, 25].map(byteLengthOf)).toEqual([0, 1, 1, 2, 4]);
  });

  it('encodes a range of the vector, ignoring positions outside it', () => {
    expect(Array.from(encodeRange([0, 2, 3, 7], 0, 1))).toEqual([0b10110001]);
    expect(Array.from(encodeRange([3, 8, 17, 23, 24], 1, 2))).toEqual([0x80, 0b01000001]);
    expect(Array.from(encodeRangeInto(Uint8Array.of(0x01), [8], 1))).toEqual([0x81]);
  });

  it('decodes with a byte offset and ignores bits at or past the limit', () => {
    expect(Array.from(decodeRange(Uint8Array.of(0b10110001), 0))).toEqual([0, 2, 3, 7]);
    expect(Array.from(decodeRange(Uint8Array.of(0b10110001, 0xff), 2))).toEqual([16, 18, 19, 23, 24, 25, 26, 27, 28, 29, 30, 31]);
    expect(Array.from(decodeRange(Uint8Array.of(0xff, 0xff), 0, 11))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(Array.from(decodeRange(Uint8Array.of(0xff), 1, 8))).toEqual([]);
    expect(Array.from(decodeRange(new Uint8Array(0), 0))).toEqual([]);
  });

  it('decode and encode agree with the naive reference (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(100), fc.nat(3000), (bytes, byteOffset, limitPastStart) => {
        const bitLimit = byteOffset * 8 + limitPastStart;
        const expected = naivePositions(naiveDecode(bytes, bytes.length * 8))
          .map((p) => p + byteOffset * 8)
          .filter((p) => p < bitLimit);
        const positions = decodeRange(bytes, byteOffset, bitLimit);
        expect(Array.from(positions)).toEqual(expected);
        const full = decodeRange(bytes, byteOffset);
        expect(encodeRange(full, byteOffset, bytes.length)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
