import { describe, expect, it } from 'vitest';
import { bitmaps } from '../../src/inventory/bitmap.js';
import { PositionBits } from '../../src/inventory/position-bits.js';
import { seededRandom } from '../../src/runtime.js';

describe('PositionBits', () => {
  it('agrees with a Set through random adds and removes, growing past its first size', () => {
    const random = seededRandom(3);
    const bits = new PositionBits();
    const model = new Set<number>();
    for (let step = 0; step < 20_000; step++) {
      // Mostly small positions, some far out (growth), the top bit of a word often (31, 63, ...).
      const roll = random();
      const position = roll < 0.1 ? 32 * Math.floor(random() * 200) + 31 : roll < 0.15 ? Math.floor(random() * 5_000_000) : Math.floor(random() * 4_000);
      if (random() < 0.6) {
        bits.add(position);
        model.add(position);
      } else {
        bits.remove(position);
        model.delete(position);
      }
      expect(bits.has(position)).toBe(model.has(position));
      expect(bits.size).toBe(model.size);
    }
    const bitmap = bits.toBitmap();
    try {
      expect([...bitmap.toUint32Array()]).toEqual([...model].sort((a, b) => a - b));
    } finally {
      bitmaps.release(bitmap);
    }
  });

  it('answers false and removes nothing beyond what it ever held, and refuses what is not a position', () => {
    const bits = new PositionBits();
    expect(bits.has(10_000_000)).toBe(false);
    bits.remove(10_000_000);
    expect(bits.size).toBe(0);
    bits.add(0);
    bits.add(0);
    expect(bits.size).toBe(1);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32]) expect(() => bits.add(bad)).toThrow(RangeError);
    expect(bits.size).toBe(1);
    const bitmap = bits.toBitmap();
    expect([...bitmap.toUint32Array()]).toEqual([0]);
    bitmaps.release(bitmap);
  });
});
