import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InventoryLog } from '../../src/inventory/index.js';

const sortedUnique = (values: readonly number[]) => [...new Set(values)].sort((a, b) => a - b);

describe('InventoryLog', () => {
  it('counts recorded positions as the version and answers since() ascending without duplicates', () => {
    const log = new InventoryLog({ maxEntries: 100, epoch: 'e1' });
    expect(log.version).toBe(0);
    expect(log.epoch).toBe('e1');
    expect(Array.from(log.since(0) ?? [-1])).toEqual([]);
    log.record([9, 3]);
    log.record(Uint32Array.of(7));
    log.record([]);
    log.record([3, 1]);
    expect(log.version).toBe(5);
    expect(log.current()).toEqual({ epoch: 'e1', version: 5 });
    expect(Array.from(log.since(0) ?? [])).toEqual([1, 3, 7, 9]);
    expect(Array.from(log.since(2) ?? [])).toEqual([1, 3, 7]);
    expect(Array.from(log.since(3) ?? [])).toEqual([1, 3]);
    expect(Array.from(log.since(5) ?? [-1])).toEqual([]);
  });

  it('answers undefined for a future version, a fractional one, or another epoch', () => {
    const log = new InventoryLog({ maxEntries: 10, epoch: 'now' });
    log.record([1, 2, 3]);
    expect(log.since(4)).toBeUndefined();
    expect(log.since(-1)).toBeUndefined();
    expect(log.since(1.5)).toBeUndefined();
    expect(log.since({ epoch: 'before', version: 1 })).toBeUndefined();
    expect(Array.from(log.since({ epoch: 'now', version: 1 }) ?? [])).toEqual([2, 3]);
  });

  it('forgets changes older than maxEntries positions', () => {
    const log = new InventoryLog({ maxEntries: 4, epoch: 'e' });
    log.record([10, 11, 12]);
    log.record([13, 14, 15]);
    expect(log.version).toBe(6);
    expect(log.oldestVersion).toBe(2);
    expect(log.since(1)).toBeUndefined();
    expect(Array.from(log.since(2) ?? [])).toEqual([12, 13, 14, 15]);
    // One record larger than the whole log keeps only its tail.
    log.record([20, 21, 22, 23, 24, 25]);
    expect(log.version).toBe(12);
    expect(log.since(7)).toBeUndefined();
    expect(Array.from(log.since(8) ?? [])).toEqual([22, 23, 24, 25]);
  });

  it('answers undefined when more than maxCount positions changed', () => {
    const log = new InventoryLog({ maxEntries: 100, epoch: 'e' });
    log.record([1, 2, 3, 4, 5]);
    expect(log.since(0, { maxCount: 4 })).toBeUndefined();
    expect(Array.from(log.since(1, { maxCount: 4 }) ?? [])).toEqual([2, 3, 4, 5]);
  });

  it('reset starts a new epoch at version 0 and forgets the old changes', () => {
    const log = new InventoryLog({ maxEntries: 10, epoch: 'a' });
    log.record([1, 2]);
    log.reset('b');
    expect(log.current()).toEqual({ epoch: 'b', version: 0 });
    expect(log.since({ epoch: 'a', version: 0 })).toBeUndefined();
    expect(log.since(1)).toBeUndefined();
    log.record([7]);
    expect(Array.from(log.since(0) ?? [])).toEqual([7]);
  });

  it('refuses bad options and positions', () => {
    expect(() => new InventoryLog({ maxEntries: 0, epoch: 'e' })).toThrow(RangeError);
    expect(() => new InventoryLog({ maxEntries: 1.5, epoch: 'e' })).toThrow(RangeError);
    const log = new InventoryLog({ maxEntries: 10, epoch: 'e' });
    expect(() => log.record([1, -1])).toThrow(RangeError);
    expect(() => log.record([2 ** 32])).toThrow(RangeError);
    expect(log.version).toBe(0);
  });

  it('matches a naive unbounded list for random records, across buffer growth and wrap-around', () => {
    const recordArb = fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 700 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(recordArb, { maxLength: 25 }), fc.nat(), (maxEntries, records, pick) => {
        const log = new InventoryLog({ maxEntries, epoch: 'e' });
        const all: number[] = [];
        for (const record of records) {
          log.record(record);
          all.push(...record);
          expect(log.version).toBe(all.length);
          const oldest = Math.max(0, all.length - maxEntries);
          expect(log.oldestVersion).toBe(oldest);
          const since = oldest + (all.length === oldest ? 0 : pick % (all.length - oldest + 1));
          expect(Array.from(log.since(since) ?? [-1])).toEqual(sortedUnique(all.slice(since)));
          expect(Array.from(log.since(oldest) ?? [-1])).toEqual(sortedUnique(all.slice(oldest)));
          if (oldest > 0) expect(log.since(oldest - 1)).toBeUndefined();
        }
      }),
      { numRuns: 200 },
    );
  });
});
