// Inventory: the byte codec, ranges, algebra; run by bitmaps-native.test.ts and bitmaps-wasm.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bitmaps } from '../../src/inventory/bitmap.js';
import { Inventory } from '../../src/inventory/index.js';
import { seededRandom, shuffle } from '../../src/runtime.js';
import { bitsFromPositions, naiveDecode, naiveEncode, naivePositions, naiveRange } from './reference.js';
import { INVENTORY_RANGES } from '../../src/sim/scenarios/spec.js';

/** A vector of random length with byte-level structure: empty bytes, full bytes and noise. */
const vectorArb = fc
  .integer({ min: 0, max: 5000 })
  .chain((length) =>
    fc.record({
      length: fc.constant(length),
      bytes: fc.uint8Array({ minLength: Math.ceil(length / 8), maxLength: Math.ceil(length / 8) }).chain((noise) =>
        fc.array(fc.constantFrom('zero', 'full', 'noise'), { minLength: noise.length, maxLength: noise.length }).map((kinds) =>
          noise.map((byte, i) => (kinds[i] === 'zero' ? 0 : kinds[i] === 'full' ? 0xff : byte)),
        ),
      ),
    }),
  )
  .map(({ length, bytes }) => naiveDecode(bytes, length));

describe('SPEC §4 worked case: 25 announcements', () => {
  const RANGES = INVENTORY_RANGES; // SPEC §4's (offset, length) pairs, shared with the sim scenario

  // 25 announcements of 21 distinct chunks: four chunks are announced twice, so storing one of
  // them sets two positions at once (SPEC §1).
  const addresses = Array.from({ length: 21 }, (_, i) => `chunk-${i}`);
  const sequence = [...addresses, 'chunk-3', 'chunk-0', 'chunk-17', 'chunk-9'];
  const positionsOf = (address: string) => sequence.flatMap((a, i) => (a === address ? [i] : []));

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`every byte range matches the expected vector after each store (order seed ${seed})`, () => {
      expect(sequence).toHaveLength(25);
      const inventory = new Inventory(sequence.length);
      expect(inventory.byteLength()).toBe(4);
      const stored = new Set<string>();
      const order = shuffle([...addresses], seededRandom(seed));
      for (const address of order) {
        inventory.addMany(positionsOf(address));
        stored.add(address);
        const expected = naiveEncode(sequence.map((a) => stored.has(a)));
        for (const [offset, length] of RANGES) {
          expect(inventory.toBytes(offset, length), `after ${stored.size} stores, range (${offset},${length})`).toEqual(
            expected.slice(offset, offset + length),
          );
        }
      }
      expect(inventory.count).toBe(25);
      expect(inventory.toBytes()).toEqual(Uint8Array.from([0xff, 0xff, 0xff, 0x80]));
    });
  }
});

describe('byte layout', () => {
  it('puts bit 0 in the most significant bit of byte 0 (the byte 10110001 means 0, 2, 3, 7)', () => {
    const inventory = Inventory.fromPositions([0, 2, 3, 7], 8);
    expect(Array.from(inventory.toBytes())).toEqual([0b10110001]);
    expect(Array.from(Inventory.fromBytes(Uint8Array.of(0b10110001)).positions())).toEqual([0, 2, 3, 7]);
  });

  it('pads the last byte with zero bits and has ceil(n/8) bytes', () => {
    for (const length of [0, 1, 7, 8, 9, 15, 16, 17]) {
      const all = Array.from({ length }, (_, i) => i);
      const inventory = Inventory.fromPositions(all, length);
      expect(inventory.byteLength()).toBe(Math.ceil(length / 8));
      expect(inventory.toBytes()).toEqual(naiveEncode(new Array<boolean>(length).fill(true)));
    }
  });

  it('returns empty bytes when the offset is at or past the end, and clamps the length', () => {
    const inventory = Inventory.fromPositions([1, 20], 21);
    expect(inventory.toBytes(3, 10)).toEqual(new Uint8Array(0));
    expect(inventory.toBytes(100, 1)).toEqual(new Uint8Array(0));
    expect(inventory.toBytes(2, 10)).toEqual(Uint8Array.of(0b00001000));
    expect(inventory.toBytes(0, 0)).toEqual(new Uint8Array(0));
    expect(new Inventory(0).toBytes()).toEqual(new Uint8Array(0));
  });

  it('refuses negative or fractional offsets', () => {
    const inventory = new Inventory(100);
    expect(() => inventory.toBytes(-1, 1)).toThrow(RangeError);
    expect(() => inventory.toBytes(1.5, 1)).toThrow(RangeError);
    expect(() => inventory.applyBytes(-8, Uint8Array.of(1))).toThrow(RangeError);
  });
});

describe('against the naive reference (property)', () => {
  it('toBytes(offset, length) equals the naive vector sliced the same way', () => {
    fc.assert(
      fc.property(vectorArb, fc.nat(700), fc.nat(700), (bits, offset, length) => {
        const inventory = Inventory.fromPositions(naivePositions(bits), bits.length);
        const vector = naiveEncode(bits);
        expect(inventory.toBytes(offset, length)).toEqual(naiveRange(vector, offset, length));
        expect(inventory.toBytes(offset)).toEqual(naiveRange(vector, offset, vector.length));
        expect(inventory.toBytes()).toEqual(vector);
      }),
      { numRuns: 300 },
    );
  });

  it('answers every read after any change as a fresh copy would: the whole vector kept between reads is dropped by each change', () => {
    const change = fc.oneof(
      fc.record({ op: fc.constant('add' as const), at: fc.nat(599) }),
      fc.record({ op: fc.constant('addMany' as const), at: fc.nat(599) }),
      fc.record({ op: fc.constant('remove' as const), at: fc.nat(599) }),
      fc.record({ op: fc.constant('removeAll' as const), at: fc.nat(599) }),
      fc.record({ op: fc.constant('clear' as const), at: fc.nat(599) }),
      fc.record({ op: fc.constant('setLength' as const), at: fc.nat(700) }),
      fc.record({ op: fc.constant('applyBytes' as const), at: fc.nat(80) }),
      fc.record({ op: fc.constant('read' as const), at: fc.nat(90) }),
    );
    fc.assert(
      fc.property(fc.array(change, { maxLength: 40 }), (changes) => {
        const inventory = new Inventory(600);
        for (const { op, at } of changes) {
          const length = inventory.length;
          if (op === 'add' && at < length) inventory.add(at);
          else if (op === 'addMany' && at + 3 < length) inventory.addMany([at, at + 1, at + 3]);
          else if (op === 'remove') inventory.remove(at);
          else if (op === 'removeAll') inventory.removeAll(bitmaps.fromRange(at, at + 50));
          else if (op === 'clear' && at % 7 === 0) inventory.clear();
          else if (op === 'setLength') inventory.setLength(at);
          else if (op === 'applyBytes') inventory.applyBytes(at, Uint8Array.of(0xa5, 0xff), at % 2 === 0 ? 'replace' : 'or');
          else if (op === 'read') {
            // What a caller does with what it gets is its own: the kept bytes do not change.
            const got = inventory.toBytes();
            got.fill(0x5a);
          }
          const fresh = Inventory.fromPositions(Array.from(inventory.positions()), inventory.length);
          expect(inventory.toBytes()).toEqual(fresh.toBytes());
          expect(inventory.toBytes(at % 40, 13)).toEqual(fresh.toBytes(at % 40, 13));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('fromBytes reads exactly the bits below its length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.integer({ min: -16, max: 16 }), (bytes, delta) => {
        const length = Math.max(0, bytes.length * 8 + delta);
        const inventory = Inventory.fromBytes(bytes, length);
        expect(inventory.length).toBe(length);
        expect(Array.from(inventory.positions())).toEqual(naivePositions(naiveDecode(bytes, length)));
        expect(Inventory.fromBytes(bytes).equals(Inventory.fromBytes(bytes, bytes.length * 8))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('toBytes then fromBytes round-trips', () => {
    fc.assert(
      fc.property(vectorArb, (bits) => {
        const inventory = Inventory.fromPositions(naivePositions(bits), bits.length);
        expect(Inventory.fromBytes(inventory.toBytes(), bits.length).equals(inventory)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('applyBytes replace and or match the naive model, ignoring bits past the length', () => {
    fc.assert(
      fc.property(vectorArb, fc.nat(700), fc.uint8Array({ maxLength: 80 }), fc.constantFrom('replace' as const, 'or' as const), (bits, byteOffset, bytes, mode) => {
        const inventory = Inventory.fromPositions(naivePositions(bits), bits.length);
        inventory.applyBytes(byteOffset, bytes, mode);
        const expected = [...bits];
        for (let i = 0; i < bytes.length * 8; i++) {
          const position = byteOffset * 8 + i;
          if (position >= bits.length) break;
          const bit = ((bytes[i >> 3] as number) & (0x80 >> (i & 7))) !== 0;
          expected[position] = mode === 'replace' ? bit : (expected[position] as boolean) || bit;
        }
        expect(Array.from(inventory.positions())).toEqual(naivePositions(expected));
        expect(inventory.length).toBe(bits.length);
      }),
      { numRuns: 300 },
    );
  });

  it('positions(from, to) and missingFrom match the naive model', () => {
    fc.assert(
      fc.property(vectorArb, vectorArb, fc.integer({ min: -10, max: 5100 }), fc.integer({ min: -10, max: 5100 }), (a, b, from, to) => {
        const mine = Inventory.fromPositions(naivePositions(a), a.length);
        const theirs = Inventory.fromPositions(naivePositions(b), b.length);
        expect(Array.from(mine.positions(from, to))).toEqual(naivePositions(a).filter((p) => p >= from && p < to));
        const expectedMissing = naivePositions(b).filter((p) => p < a.length && !a[p]);
        expect(Array.from(mine.missingFrom(theirs))).toEqual(expectedMissing);
      }),
      { numRuns: 200 },
    );
  });
});

describe('length', () => {
  it('shrinking drops the bits at or past the new length, growing adds zero bits', () => {
    const inventory = Inventory.fromPositions([0, 5, 9, 10, 15, 16, 23], 24);
    inventory.setLength(10);
    expect(Array.from(inventory.positions())).toEqual([0, 5, 9]);
    expect(inventory.count).toBe(3);
    expect(inventory.byteLength()).toBe(2);
    expect(Array.from(inventory.toBytes())).toEqual([0b10000100, 0b01000000]);
    expect(inventory.has(10)).toBe(false);

    inventory.setLength(30);
    expect(inventory.length).toBe(30);
    expect(inventory.count).toBe(3);
    expect(Array.from(inventory.toBytes())).toEqual([0b10000100, 0b01000000, 0, 0]);
    expect(inventory.has(15)).toBe(false);
    expect(inventory.add(29)).toBe(true);
    expect(Array.from(inventory.positions(10))).toEqual([29]);

    inventory.setLength(0);
    expect(inventory.count).toBe(0);
    expect(inventory.toBytes()).toEqual(new Uint8Array(0));
  });

  it('shrink then grow matches a naive truncate-and-pad for random vectors', () => {
    fc.assert(
      fc.property(vectorArb, fc.nat(5000), fc.nat(5000), (bits, shrinkTo, growTo) => {
        const inventory = Inventory.fromPositions(naivePositions(bits), bits.length);
        const cut = Math.min(shrinkTo, bits.length);
        inventory.setLength(cut);
        inventory.setLength(cut + growTo);
        const expected = [...bits.slice(0, cut), ...new Array<boolean>(growTo).fill(false)];
        expect(inventory.toBytes()).toEqual(naiveEncode(expected));
      }),
      { numRuns: 150 },
    );
  });

  it('refuses invalid lengths', () => {
    expect(() => new Inventory(-1)).toThrow(RangeError);
    expect(() => new Inventory(2.5)).toThrow(RangeError);
    expect(() => new Inventory(2 ** 32)).toThrow(RangeError);
    expect(() => new Inventory(10).setLength(Number.NaN)).toThrow(RangeError);
  });
});

describe('bits', () => {
  it('add, has, remove and clear report what changed', () => {
    const inventory = new Inventory(100);
    expect(inventory.add(42)).toBe(true);
    expect(inventory.add(42)).toBe(false);
    expect(inventory.has(42)).toBe(true);
    expect(inventory.has(43)).toBe(false);
    expect(inventory.has(1000)).toBe(false);
    expect(inventory.has(-1)).toBe(false);
    expect(inventory.addMany([1, 2, 42])).toBe(2);
    expect(inventory.addMany(Uint32Array.of(2, 3, 99))).toBe(2);
    expect(inventory.count).toBe(5);
    expect(inventory.remove(2)).toBe(true);
    expect(inventory.remove(2)).toBe(false);
    expect(inventory.remove(500)).toBe(false);
    expect(Array.from(inventory.positions())).toEqual([1, 3, 42, 99]);
    inventory.clear();
    expect(inventory.count).toBe(0);
    expect(inventory.length).toBe(100);
  });

  it('throws a RangeError for positions outside the vector and changes nothing', () => {
    const inventory = Inventory.fromPositions([1], 10);
    expect(() => inventory.add(10)).toThrow(RangeError);
    expect(() => inventory.add(-1)).toThrow(RangeError);
    expect(() => inventory.add(0.5)).toThrow(RangeError);
    expect(() => inventory.addMany([2, 3, 10])).toThrow(RangeError);
    expect(() => inventory.addMany(Uint32Array.of(2, 3, 10))).toThrow(RangeError);
    expect(() => Inventory.fromPositions([10], 10)).toThrow(RangeError);
    expect(Array.from(inventory.positions())).toEqual([1]);
  });

  it('fromPositions accepts any iterable', () => {
    const inventory = Inventory.fromPositions(new Set([7, 3, 5]), 8);
    expect(Array.from(inventory.positions())).toEqual([3, 5, 7]);
  });

  it('fromBitmap copies and drops positions at or past the length', () => {
    const bitmap = bitmaps.create([1, 5, 9, 12]);
    const inventory = Inventory.fromBitmap(bitmap, 10);
    expect(Array.from(inventory.positions())).toEqual([1, 5, 9]);
    bitmap.add(2);
    expect(inventory.has(2)).toBe(false);
    expect(bitmap.has(12)).toBe(true);
  });

  it('clone is independent and equals compares length and bits', () => {
    const inventory = Inventory.fromPositions([1, 2, 3], 16);
    const copy = inventory.clone();
    expect(copy.equals(inventory)).toBe(true);
    copy.add(4);
    expect(copy.equals(inventory)).toBe(false);
    expect(inventory.has(4)).toBe(false);
    const longer = inventory.clone();
    longer.setLength(17);
    expect(longer.equals(inventory)).toBe(false);
  });

  it('exposes its bitmap for set algebra', () => {
    const a = Inventory.fromPositions([1, 2, 3], 10);
    const b = Inventory.fromPositions([2, 3, 4], 10);
    expect(Array.from(bitmaps.and(a.bitmap, b.bitmap).toUint32Array())).toEqual([2, 3]);
    expect(a.bitmap.size).toBe(a.count);
  });

  it('handles a large sparse vector with bits near the 32-bit end', () => {
    const length = 2 ** 32 - 1;
    const inventory = Inventory.fromPositions([0, 2 ** 31, length - 1], length);
    expect(inventory.byteLength()).toBe(2 ** 29);
    const tail = inventory.toBytes(2 ** 29 - 2);
    expect(Array.from(tail)).toEqual([0, 0b00000010]);
    expect(Array.from(inventory.toBytes(2 ** 28, 1))).toEqual([0x80]);
    inventory.applyBytes(2 ** 29 - 1, Uint8Array.of(0xff));
    expect(Array.from(inventory.positions(length - 10))).toEqual([length - 7, length - 6, length - 5, length - 4, length - 3, length - 2, length - 1]);
  });
});

describe('a million positions', () => {
  it('toBytes and fromBytes of a dense random vector agree with a per-byte check', () => {
    const length = 1_000_003;
    const random = seededRandom(11);
    const positions: number[] = [];
    for (let i = 0; i < length; i++) if (random() < 0.7) positions.push(i);
    const inventory = Inventory.fromPositions(Uint32Array.from(positions), length);
    const bytes = inventory.toBytes();
    expect(bytes.length).toBe(Math.ceil(length / 8));
    const expected = naiveEncode(bitsFromPositions(positions, length));
    expect(Buffer.from(bytes).equals(Buffer.from(expected))).toBe(true);
    expect(Inventory.fromBytes(bytes, length).equals(inventory)).toBe(true);
    const middle = inventory.toBytes(60_000, 5_000);
    expect(Buffer.from(middle).equals(Buffer.from(expected.subarray(60_000, 65_000)))).toBe(true);
  });
});
