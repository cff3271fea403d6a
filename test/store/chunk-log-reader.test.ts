/** Record reads of the chunk log, with read-ahead along runs (store/chunk-log-reader.ts). */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FIRST_READ_BYTES, READ_AHEAD_BYTES, RecordReader } from '../../src/store/chunk-log-reader.js';
import { seededRandom } from '../../src/runtime.js';

/** A "file" of `size` random bytes, and a reader over it that records every read call's position and length. */
function fileOf(size: number, visible = size) {
  const file = randomBytes(size);
  const calls: { position: number; length: number }[] = [];
  const reader = new RecordReader((buffer, position) => {
    calls.push({ position, length: buffer.length });
    const end = Math.min(visible, position + buffer.length);
    return end <= position ? 0 : file.copy(buffer, 0, position, end);
  });
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
