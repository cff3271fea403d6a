/** The bounded, least-recently-used keeping of chunk-log records (store/recent-records.ts). */
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, MAX_KEPT_RECORD_BYTES, RecentRecords } from '../../src/store/recent-records.js';

const record = (size: number, fill: number) => new Uint8Array(size).fill(fill);

describe('RecentRecords', () => {
  it('keeps a copy in memory of its own (no slice of a shared pool), answered only for the size it was read at', () => {
    const recent = new RecentRecords(1 << 20);
    const source = record(200, 1);
    recent.keep(4_096, source);
    source.fill(9);
    const kept = recent.get(4_096, 200)!;
    expect(kept.equals(Buffer.from(record(200, 1)))).toBe(true);
    expect(kept.buffer.byteLength).toBe(200);
    expect(recent.get(4_096, 199)).toBeUndefined();
    expect(recent.get(8_192, 200)).toBeUndefined();
    expect(recent.bytes).toBe(200 + ENTRY_OVERHEAD_BYTES);
  });

  it('counts each record with its overhead, drops the least recently used past the bound, and forgets on request', () => {
    const cost = 100 + ENTRY_OVERHEAD_BYTES;
    const recent = new RecentRecords(3 * cost);
    for (const offset of [1, 2, 3]) recent.keep(offset, record(100, offset));
    recent.get(1, 100); // 2 is now the least recently used
    recent.keep(4, record(100, 4));
    expect([1, 2, 3, 4].map((offset) => recent.get(offset, 100) !== undefined)).toEqual([true, false, true, true]);
    expect(recent.bytes).toBe(3 * cost);
    recent.forget(3);
    recent.forget(3);
    expect([recent.size, recent.bytes]).toEqual([2, 2 * cost]);
    recent.keep(1, record(100, 7)); // kept again: replaced, counted once
    expect([recent.size, recent.bytes]).toEqual([2, 2 * cost]);
    expect(recent.get(1, 100)![0]).toBe(7);
  });

  it('keeps no record larger than MAX_KEPT_RECORD_BYTES, nor one its bound could not hold', () => {
    const recent = new RecentRecords(MAX_KEPT_RECORD_BYTES + ENTRY_OVERHEAD_BYTES);
    recent.keep(1, record(MAX_KEPT_RECORD_BYTES + 1, 1));
    expect(recent.size).toBe(0);
    recent.keep(2, record(MAX_KEPT_RECORD_BYTES, 1));
    expect(recent.size).toBe(1);
    const tiny = new RecentRecords(ENTRY_OVERHEAD_BYTES + 10);
    tiny.keep(1, record(11, 1));
    expect(tiny.size).toBe(0);
  });
});
