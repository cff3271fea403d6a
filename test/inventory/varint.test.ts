import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isAtlasError } from '../../src/errors.js';
import { decodePositions, encodePositions } from '../../src/inventory/index.js';

const NO_LIMIT = { maxCount: Number.MAX_SAFE_INTEGER };

function expectBadReply(bytes: number[], maxCount = 1000): void {
  let caught: unknown;
  try {
    decodePositions(Uint8Array.from(bytes), { maxCount });
  } catch (error) {
    caught = error;
  }
  expect(isAtlasError(caught, ErrorCodes.BAD_REPLY), `bytes ${bytes.join(',')} should be refused: ${String(caught)}`).toBe(true);
}

describe('delta-varint positions', () => {
  it('writes the first position, then the gaps, as LEB128', () => {
    expect(Array.from(encodePositions([]))).toEqual([]);
    expect(Array.from(encodePositions([0, 1, 2]))).toEqual([0, 1, 1]);
    expect(Array.from(encodePositions([127, 128]))).toEqual([0x7f, 0x01]);
    expect(Array.from(encodePositions([300]))).toEqual([0xac, 0x02]);
    expect(Array.from(encodePositions([5, 5 + 16_384]))).toEqual([5, 0x80, 0x80, 0x01]);
    expect(Array.from(encodePositions(Uint32Array.of(0xffff_ffff)))).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('costs one byte per position for dense changes', () => {
    const dense = Array.from({ length: 10_000 }, (_, i) => 50_000 + i * 3);
    expect(encodePositions(dense).length).toBe(10_000 + 2);
  });

  it('round-trips any strictly ascending list of 32-bit positions', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffff_ffff }), { maxLength: 300 }), (values) => {
        const positions = Uint32Array.from(values).sort();
        const bytes = encodePositions(positions);
        expect(decodePositions(bytes, NO_LIMIT)).toEqual(positions);
        expect(decodePositions(bytes, { maxCount: positions.length })).toEqual(positions);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses to encode unsorted, repeated or out-of-range positions', () => {
    expect(() => encodePositions([3, 2])).toThrow(RangeError);
    expect(() => encodePositions([3, 3])).toThrow(RangeError);
    expect(() => encodePositions([-1])).toThrow(RangeError);
    expect(() => encodePositions([1.5])).toThrow(RangeError);
    expect(() => encodePositions([2 ** 32])).toThrow(RangeError);
  });

  it('refuses malformed input with BAD_REPLY', () => {
    expectBadReply([0x80]); // truncated
    expectBadReply([5, 0x81]); // truncated after a good number
    expectBadReply([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]); // longer than 5 bytes
    expectBadReply([0xff, 0xff, 0xff, 0xff, 0x1f]); // past 32 bits
    expectBadReply([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]); // 0xffffffff then +1 overflows
    expectBadReply([0x80, 0x00]); // overlong zero
    expectBadReply([5, 0]); // a zero gap: not strictly ascending
    expectBadReply([1, 2, 0, 4]);
  });

  it('refuses any truncation of a valid encoding, or parses a shorter valid prefix', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 50 }), fc.nat(), (values, cut) => {
        const positions = Uint32Array.from(values).sort();
        const bytes = encodePositions(positions);
        const truncated = bytes.subarray(0, cut % bytes.length);
        let decoded: Uint32Array | undefined;
        try {
          decoded = decodePositions(truncated, NO_LIMIT);
        } catch (error) {
          expect(isAtlasError(error, ErrorCodes.BAD_REPLY)).toBe(true);
          return;
        }
        // A cut on a number boundary is a valid shorter list: it must be a prefix.
        expect(Array.from(decoded)).toEqual(Array.from(positions.subarray(0, decoded.length)));
        expect(decoded.length).toBeLessThan(positions.length);
      }),
      { numRuns: 300 },
    );
  });

  it('respects maxCount before decoding', () => {
    const bytes = encodePositions(Array.from({ length: 11 }, (_, i) => i * 1000));
    expect(decodePositions(bytes, { maxCount: 11 })).toHaveLength(11);
    expectBadReply(Array.from(bytes), 10);
    expectBadReply([1], 0);
    expect(decodePositions(new Uint8Array(0), { maxCount: 0 })).toHaveLength(0);
  });
});
