/** Record reads of the chunk log, with read-ahead along runs (store/chunk-log-reader.ts). */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FIRST_READ_BYTES, MAX_READ_AHEAD_BYTES, READ_AHEAD_BYTES, RecordReader } from '../../src/store/chunk-log-reader.js';
import { ENTRY_OVERHEAD_BYTES, MAX_KEPT_RECORD_BYTES, firstReadSlots } from '../../src/store/recent-records.js';
import { seededRandom } from '../../src/runtime.js';

/** A "file" of `size` random bytes, and a reader over it that records every read call's position and length. */
function fileOf(size: number, visible = size, options: { cacheBytes?: number } = {}) {
  const file = randomBytes(size);
  const calls: { position: number; length: number }[] = [];
  const reader = new RecordReader((buffer, position) => {
    calls.push({ position, length: buffer.length });
    const end = Math.min(visible, position + buffer.length);
    return end <= position ? 0 : file.copy(buffer, 0, position, end);
  }, options);
  return { file, calls, reader };
}

describe('RecordReader', () => {
  it('reads one page from each record when the reads jump about (one call each, a larger record whole), and answers the file’s bytes', () => {
    const { file, calls, reader } = fileOf(1_000_000);
    const random = seededRandom(3);
    const asked: { position: number; length: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const offset = Math.floor(random() * 990_000);
      const size = i % 10 === 0 ? 5_000 : 24 + Math.floor(random() * 500);
      asked.push({ position: offset, length: Math.max(size, FIRST_READ_BYTES) });
      expect(reader.read(offset, size, file.length).equals(file.subarray(offset, offset + size))).toBe(true);
    }
    expect(calls).toEqual(asked);
  });

  it('reads a run of eight small neighbouring records with one call, and a longer run with a window ahead', () => {
    const { file, calls, reader } = fileOf(100_000);
    let offset = 50_000;
    for (let i = 0; i < 8; i++) {
      expect(reader.read(offset, 194, file.length).equals(file.subarray(offset, offset + 194))).toBe(true);
      offset += 194;
    }
    expect(calls).toEqual([{ position: 50_000, length: FIRST_READ_BYTES }]);
    // A record a little past the last one is still in the page; one far away is not.
    expect(reader.read(offset + 100, 194, file.length).equals(file.subarray(offset + 100, offset + 294))).toBe(true);
    expect(calls).toHaveLength(1);
    reader.read(90_000, 194, file.length);
    expect(calls[1]).toEqual({ position: 90_000, length: FIRST_READ_BYTES });
    // Records of 900 bytes: the page holds four whole; the fifth continues the run, and reads 8 KiB.
    offset = 10_000;
    for (let i = 0; i < 8; i++) {
      expect(reader.read(offset, 900, file.length).equals(file.subarray(offset, offset + 900))).toBe(true);
      offset += 900;
    }
    expect(calls.slice(2)).toEqual([
      { position: 10_000, length: FIRST_READ_BYTES },
      { position: 13_600, length: READ_AHEAD_BYTES },
    ]);
  });

  it('answers every record in memory of its own: changing one answer changes no other, nor a later read', () => {
    const { file, reader } = fileOf(20_000);
    const first = reader.read(1_000, 100, file.length);
    const second = reader.read(1_100, 100, file.length); // reads the window
    const third = reader.read(1_200, 100, file.length); // served from the window
    second.fill(0xee);
    third.fill(0xdd);
    expect(first.equals(file.subarray(1_000, 1_100))).toBe(true);
    expect(reader.read(1_200, 100, file.length).equals(file.subarray(1_200, 1_300))).toBe(true);
    expect(reader.read(1_100, 100, file.length).equals(file.subarray(1_100, 1_200))).toBe(true);
  });

  it('answers views of the window when asked for them: the file’s bytes, read as read() reads them, sharing the window’s memory', () => {
    const { file, calls, reader } = fileOf(20_000);
    const first = reader.view(1_000, 100, file.length);
    const second = reader.view(1_100, 100, file.length);
    expect(first.equals(file.subarray(1_000, 1_100)) && second.equals(file.subarray(1_100, 1_200))).toBe(true);
    expect(calls).toEqual([{ position: 1_000, length: FIRST_READ_BYTES }]);
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + 100);
    // read() of the same record still answers memory of its own.
    const copy = reader.read(1_100, 100, file.length);
    expect(copy.equals(second)).toBe(true);
    expect(copy.buffer === second.buffer && copy.byteOffset === second.byteOffset).toBe(false);
  });

  it('re-reads the file itself when asked, past the window', () => {
    const { file, calls, reader } = fileOf(20_000);
    reader.read(1_000, 100, file.length);
    reader.read(1_100, 100, file.length); // the window now holds 1,100 .. 9,292
    const original = Buffer.from(file.subarray(1_200, 1_300));
    file.fill(7, 1_200, 1_300); // (a record never changes on disk: this only shows where the bytes come from)
    expect(reader.read(1_200, 100, file.length).equals(original)).toBe(true);
    const before = calls.length;
    expect(reader.readExact(1_200, 100).equals(Buffer.alloc(100, 7))).toBe(true);
    expect(calls.slice(before)).toEqual([{ position: 1_200, length: 100 }]);
  });

  it('never reads ahead past the log’s end, and returns a short read as short', () => {
    const { file, calls, reader } = fileOf(10_000);
    const first = reader.read(9_000, 100, 9_800); // a page, but only up to the end
    expect(first.equals(file.subarray(9_000, 9_100))).toBe(true);
    expect(calls).toEqual([{ position: 9_000, length: 800 }]);
    const run = reader.read(9_100, 100, 9_800); // from what was read
    expect(run.equals(file.subarray(9_100, 9_200))).toBe(true);
    expect(calls).toHaveLength(1);
    // Along a run too: the read ahead stops at the log's end.
    const along = fileOf(10_000);
    along.reader.read(5_000, 4_000, 9_500); // reads a page: [5,000, 9,096)
    expect(along.reader.read(9_050, 200, 9_500).equals(along.file.subarray(9_050, 9_250))).toBe(true);
    expect(along.calls).toEqual([
      { position: 5_000, length: FIRST_READ_BYTES },
      { position: 9_050, length: 450 },
    ]);
    // The file is shorter than the log says (cut while open): the caller sees fewer bytes.
    const cut = fileOf(10_000, 9_150);
    const short = cut.reader.read(9_100, 100, 10_000);
    expect(short.length).toBe(50);
    expect(short.equals(cut.file.subarray(9_100, 9_150))).toBe(true);
  });

  it.each([
    [1_024, READ_AHEAD_BYTES],
    [1_025, FIRST_READ_BYTES],
  ])('continues a run for a record starting up to 1 KiB past the last read (%i bytes past: a read of %i)', (gap, length) => {
    const { file, calls, reader } = fileOf(100_000);
    reader.read(10_000, 3_500, file.length); // past the first page: the next record is not in it
    expect(reader.read(13_500 + gap, 700, file.length).equals(file.subarray(13_500 + gap, 14_200 + gap))).toBe(true);
    expect(calls.at(-1)).toEqual({ position: 13_500 + gap, length });
  });
});

describe('RecordReader keeping records read again at random places', () => {
  const far = [10_000, 30_000, 50_000, 70_000, 90_000];
  const table = (bound: number) => firstReadSlots(bound) * 8;

  it('keeps a record the second time it is read at a random place: later reads cost no call and answer the same bytes', () => {
    const { file, calls, reader } = fileOf(100_000, 100_000, { cacheBytes: 1 << 20 });
    for (const offset of far) reader.read(offset, 200, file.length);
    expect(reader.recent?.size).toBe(0); // read once: remembered, not kept
    for (const offset of far) reader.read(offset, 200, file.length);
    expect(calls).toHaveLength(10);
    for (let round = 0; round < 3; round++) {
      for (const offset of far) expect(reader.read(offset, 200, file.length).equals(file.subarray(offset, offset + 200))).toBe(true);
    }
    expect(calls).toHaveLength(10);
    expect(reader.recent?.size).toBe(5);
    expect(reader.recent?.bytes).toBe(table(1 << 20) + 5 * (200 + ENTRY_OVERHEAD_BYTES));
  });

  it('answers read() in memory of its own: changing an answer changes neither what is kept nor a later answer', () => {
    const { file, reader } = fileOf(100_000, 100_000, { cacheBytes: 1 << 20 });
    for (const offset of [far[0]!, far[1]!, far[0]!, far[1]!]) reader.read(offset, 200, file.length);
    const answer = reader.read(far[0]!, 200, file.length);
    answer.fill(0xee);
    expect(reader.read(far[0]!, 200, file.length).equals(file.subarray(far[0]!, far[0]! + 200))).toBe(true);
  });

  it('keeps nothing by default', () => {
    const { file, calls, reader } = fileOf(100_000);
    for (const offset of [...far, ...far, ...far]) reader.read(offset, 200, file.length);
    expect(calls).toHaveLength(15);
    expect(reader.recent).toBeUndefined();
  });

  it('keeps within its bound, dropping the least recently used first', () => {
    const cost = 200 + ENTRY_OVERHEAD_BYTES;
    const bound = table(3 * cost) + 3 * cost;
    const { file, calls, reader } = fileOf(100_000, 100_000, { cacheBytes: bound });
    const [a, b, c, d, e] = far as [number, number, number, number, number];
    for (const offset of [a, b, c, a, b, c]) reader.read(offset, 200, file.length);
    reader.read(a, 200, file.length); // a is now the most recently used: b goes next
    reader.read(d, 200, file.length);
    reader.read(e, 200, file.length); // (moves the window off d)
    reader.read(d, 200, file.length); // kept: b is dropped
    expect(reader.recent?.bytes).toBe(bound);
    const before = calls.length;
    for (const offset of [a, c, d]) reader.read(offset, 200, file.length);
    expect(calls.length).toBe(before);
    reader.read(b, 200, file.length);
    expect(calls.length).toBe(before + 1);
    expect(reader.recent?.bytes).toBeLessThanOrEqual(bound);
  });

  it('does not keep the records of a run, the one that began it included, nor records over the size kept', () => {
    const { file, calls, reader } = fileOf(200_000, 200_000, { cacheBytes: 1 << 20 });
    for (const offset of [50_000, 100_000, 50_000]) reader.read(offset, 194, file.length);
    expect(reader.recent?.size).toBe(1); // 50,000, read twice at random places: kept, for now
    for (let i = 1, at = 50_194; i < 8; i++, at += 194) reader.read(at, 194, file.length);
    expect(reader.recent?.size).toBe(0); // the run went on: its first record was not a random read
    for (let round = 0; round < 2; round++) {
      reader.read(150_000, MAX_KEPT_RECORD_BYTES + 1, file.length);
      reader.read(50_000 + 3 * 194, 194, file.length);
    }
    expect(reader.recent?.size).toBe(1); // the run's fourth record, read twice at random places; not the large one
    const before = calls.length;
    reader.read(50_000 + 3 * 194, 194, file.length); // kept
    reader.read(150_000, MAX_KEPT_RECORD_BYTES + 1, file.length); // too large: read again
    reader.read(50_000, 194, file.length); // the run's first record: read again
    expect(calls.length).toBe(before + 2);
  });

  it('keeps no record read short (the file is shorter than the log says)', () => {
    const { file, calls, reader } = fileOf(100_000, 60_000, { cacheBytes: 1 << 20 });
    for (let round = 0; round < 3; round++) {
      expect(reader.read(59_950, 200, file.length).length).toBe(50);
      reader.read(10_000, 200, file.length);
    }
    expect(calls.filter((call) => call.position === 59_950)).toHaveLength(3);
  });

  it('answers a kept record to view() as the kept memory itself, and to read() as a copy', () => {
    const { file, reader } = fileOf(100_000, 100_000, { cacheBytes: 1 << 20 });
    for (const offset of [far[0]!, far[1]!, far[0]!, far[1]!]) reader.view(offset, 200, file.length);
    const first = reader.view(far[0]!, 200, file.length);
    reader.view(far[1]!, 200, file.length);
    const second = reader.view(far[0]!, 200, file.length);
    expect(second.buffer).toBe(first.buffer);
    expect(second.equals(file.subarray(far[0]!, far[0]! + 200))).toBe(true);
    const copy = reader.read(far[0]!, 200, file.length);
    expect(copy.buffer).not.toBe(first.buffer);
    expect(copy.equals(first)).toBe(true);
  });

  it('forgets a record re-read from the file itself (the store re-reads a record it doubts)', () => {
    const { file, calls, reader } = fileOf(100_000, 100_000, { cacheBytes: 1 << 20 });
    for (const offset of [far[0]!, far[1]!, far[0]!, far[1]!]) reader.read(offset, 200, file.length);
    expect(reader.recent?.size).toBe(2);
    reader.readExact(far[0]!, 200);
    expect(reader.recent?.size).toBe(1);
    const before = calls.length;
    reader.read(far[0]!, 200, file.length);
    expect(calls.length).toBe(before + 1);
  });

  it('stays within its bound under a long run of random reads of records of every size, answering the file’s bytes', () => {
    const bound = 64 * 1024;
    const { file, reader } = fileOf(2_000_000, 2_000_000, { cacheBytes: bound });
    const random = seededRandom(11);
    // A few hundred records read again and again, among many read once: both kinds, bounded.
    const hot = Array.from({ length: 300 }, () => ({ offset: Math.floor(random() * 1_900_000), size: 24 + Math.floor(random() * 600) }));
    for (let i = 0; i < 20_000; i++) {
      const record = random() < 0.5 ? hot[Math.floor(random() * hot.length)]! : { offset: Math.floor(random() * 1_900_000), size: 24 + Math.floor(random() * 8_000) };
      expect(reader.read(record.offset, record.size, file.length).equals(file.subarray(record.offset, record.offset + record.size))).toBe(true);
      expect(reader.recent!.bytes).toBeLessThanOrEqual(bound);
    }
    expect(reader.recent!.size).toBeGreaterThan(0);
  });
});

describe('RecordReader growing its reads along a run', () => {
  it('doubles each read that continues a run up to 64 KiB, answering the file’s bytes, and starts again at a page when the run breaks', () => {
    const { file, calls, reader } = fileOf(2_000_000);
    let offset = 100_000;
    for (let i = 0; i < 2_000; i++) {
      expect(reader.view(offset, 200, file.length).equals(file.subarray(offset, offset + 200))).toBe(true);
      offset += 200;
    }
    const lengths = calls.map((call) => call.length);
    expect(lengths.slice(0, 6)).toEqual([FIRST_READ_BYTES, READ_AHEAD_BYTES, 16 * 1024, 32 * 1024, MAX_READ_AHEAD_BYTES, MAX_READ_AHEAD_BYTES]);
    expect(Math.max(...lengths)).toBe(MAX_READ_AHEAD_BYTES);
    // 400,000 bytes of records: 4 + 8 + 16 + 32 KiB, then 64 KiB a read.
    expect(calls.length).toBe(4 + Math.ceil((400_000 - 60 * 1024) / MAX_READ_AHEAD_BYTES));
    reader.read(1_500_000, 3_900, file.length);
    reader.read(1_504_000, 200, file.length); // past the page: continues the run, which walked most of it
    reader.read(1_800_000, 200, file.length);
    expect(calls.slice(-3).map((call) => call.length)).toEqual([FIRST_READ_BYTES, READ_AHEAD_BYTES, FIRST_READ_BYTES]);
  });

  it('does not grow for a peer that jumps to the end of each window and steps across it: 8 KiB a read at most', () => {
    const { file, calls, reader } = fileOf(8_000_000);
    // Records of 150 bytes; each round asks the last whole record of the window (served from
    // memory, at a random place) and the one after it, which crosses the window's end.
    let windowStart = 10_000;
    reader.view(windowStart, 150, file.length);
    let addresses = 1;
    for (let round = 0; round < 500; round++) {
      const window = calls.at(-1)!;
      const last = windowStart + window.length - 150 - 10;
      expect(reader.view(last, 150, file.length).equals(file.subarray(last, last + 150))).toBe(true);
      const across = last + 150;
      expect(reader.view(across, 150, file.length).equals(file.subarray(across, across + 150))).toBe(true);
      windowStart = across;
      addresses += 2;
    }
    const read = calls.reduce((sum, call) => sum + call.length, 0);
    expect(Math.max(...calls.map((call) => call.length))).toBe(READ_AHEAD_BYTES);
    expect(read).toBeLessThanOrEqual(8 * 1024 * addresses);
  });

  it('reads at most 8 KiB an address plus four times the span its runs walk, whatever their sizes and gaps', () => {
    const random = seededRandom(5);
    for (let trial = 0; trial < 20; trial++) {
      const { file, calls, reader } = fileOf(4_000_000);
      const start = 1_000;
      let offset = start;
      let asked = 0;
      while (offset < 3_000_000 && asked < 2_000) {
        const size = 25 + Math.floor(random() * (random() < 0.1 ? 40_000 : 600));
        expect(reader.view(offset, size, file.length).equals(file.subarray(offset, offset + size))).toBe(true);
        asked++;
        offset += size + Math.floor(random() * 1_025);
      }
      const read = calls.reduce((sum, call) => sum + call.length, 0);
      expect(calls.length).toBeLessThanOrEqual(asked);
      expect(read).toBeLessThanOrEqual(8 * 1024 * asked + 4 * (offset - start));
    }
  });
});
