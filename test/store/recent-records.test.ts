/** The bounded, least-recently-used keeping of chunk-log records read again (store/recent-records.ts). */
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, MAX_KEPT_RECORD_BYTES, RecentRecords, firstReadSlots } from '../../src/store/recent-records.js';

const record = (size: number, fill: number) => new Uint8Array(size).fill(fill);
/** Reads a record twice, as a reader that misses it twice would: the second read keeps it. */
const readTwice = (recent: RecentRecords, offset: number, bytes: Uint8Array) => {
  recent.keep(offset, bytes);
  recent.keep(offset, bytes);
};

describe('RecentRecords', () => {
  it('keeps a record the second time it is read, not the first', () => {
    const recent = new RecentRecords(1 << 20);
    recent.keep(4_096, record(200, 1));
    expect(recent.get(4_096, 200)).toBeUndefined();
    recent.keep(4_096, record(200, 1));
    expect(recent.get(4_096, 200)?.equals(Buffer.from(record(200, 1)))).toBe(true);
  });

  it('keeps a copy in memory of its own (no slice of a shared pool), answered only for the size it was read at', () => {
    const recent = new RecentRecords(1 << 20);
    const source = record(200, 1);
    readTwice(recent, 4_096, source);
    source.fill(9);
    const kept = recent.get(4_096, 200)!;
    expect(kept.equals(Buffer.from(record(200, 1)))).toBe(true);
    expect(kept.buffer.byteLength).toBe(200);
    expect(recent.get(4_096, 199)).toBeUndefined();
    expect(recent.get(8_192, 200)).toBeUndefined();
    expect(recent.bytes).toBe(firstReadSlots(1 << 20) * 8 + 200 + ENTRY_OVERHEAD_BYTES);
  });

  it('counts its table and each record with its overhead, drops the least recently used past the bound, and forgets on request', () => {
    const cost = 100 + ENTRY_OVERHEAD_BYTES;
    const table = firstReadSlots(3 * cost) * 8;
    const recent = new RecentRecords(table + 3 * cost);
    for (const offset of [1, 2, 3]) readTwice(recent, offset, record(100, offset));
    recent.get(1, 100); // 2 is now the least recently used
    readTwice(recent, 4, record(100, 4));
    expect([1, 2, 3, 4].map((offset) => recent.get(offset, 100) !== undefined)).toEqual([true, false, true, true]);
    expect(recent.bytes).toBe(table + 3 * cost);
    recent.forget(3);
    recent.forget(3);
    expect([recent.size, recent.bytes]).toEqual([2, table + 2 * cost]);
    readTwice(recent, 1, record(100, 7)); // kept again: replaced, counted once
    expect([recent.size, recent.bytes]).toEqual([2, table + 2 * cost]);
    expect(recent.get(1, 100)![0]).toBe(7);
    recent.clear();
    expect([recent.size, recent.bytes]).toEqual([0, table]);
    recent.keep(4, record(100, 4)); // the table was cleared too: a first read again
    expect(recent.size).toBe(0);
  });

  it('keeps no record larger than MAX_KEPT_RECORD_BYTES, nor one its bound could not hold beside its table', () => {
    const table = firstReadSlots(MAX_KEPT_RECORD_BYTES) * 8;
    const recent = new RecentRecords(table + MAX_KEPT_RECORD_BYTES + ENTRY_OVERHEAD_BYTES);
    readTwice(recent, 1, record(MAX_KEPT_RECORD_BYTES + 1, 1));
    expect(recent.size).toBe(0);
    readTwice(recent, 2, record(MAX_KEPT_RECORD_BYTES, 1));
    expect(recent.size).toBe(1);
    const tiny = new RecentRecords(firstReadSlots(0) * 8 + ENTRY_OVERHEAD_BYTES + 10);
    readTwice(tiny, 1, record(11, 1));
    expect(tiny.size).toBe(0);
    readTwice(tiny, 1, record(10, 1));
    expect(tiny.size).toBe(1);
  });

  it('stays within a bound smaller than its smallest table: it then holds no table, and keeps nothing (no record fits)', () => {
    for (const bound of [1, 100, firstReadSlots(0) * 8 - 1]) {
      const recent = new RecentRecords(bound);
      readTwice(recent, 1, record(1, 1));
      expect([recent.size, recent.bytes <= bound]).toEqual([0, true]);
    }
    expect(new RecentRecords(firstReadSlots(0) * 8).bytes).toBe(firstReadSlots(0) * 8);
  });

  it('sizes its table with its bound: a power of two of slots, at least 16, one per KiB', () => {
    expect([0, 16 * 1024, 32 * 1024 - 1, 32 * 1024, 8 * 1024 * 1024].map(firstReadSlots)).toEqual([16, 16, 16, 32, 8_192]);
  });
});
