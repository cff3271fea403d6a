/** Record reads of the chunk log, with read-ahead along runs (store/chunk-log-reader.ts). */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { READ_AHEAD_BYTES, RecordReader } from '../../src/store/chunk-log-reader.js';
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
  it('reads exactly each record when the reads jump about, and answers the file’s bytes', () => {
    const { file, calls, reader } = fileOf(1_000_000);
    const random = seededRandom(3);
    const asked: { position: number; length: number }[] = [];
    for (let i = 0; i < 200; i++) {
      const offset = Math.floor(random() * 990_000);
      const size = 24 + Math.floor(random() * 500);
      asked.push({ position: offset, length: size });
      expect(reader.read(offset, size, file.length).equals(file.subarray(offset, offset + size))).toBe(true);
    }
    expect(calls).toEqual(asked);
  });

  it('reads a run of neighbouring records with two calls: the first record, then a window ahead', () => {
    const { file, calls, reader } = fileOf(100_000);
    const sizes = [194, 194, 194, 194, 194, 194, 194, 194];
    let offset = 50_000;
    for (const size of sizes) {
      expect(reader.read(offset, size, file.length).equals(file.subarray(offset, offset + size))).toBe(true);
      offset += size;
    }
    expect(calls).toEqual([
      { position: 50_000, length: 194 },
      { position: 50_194, length: READ_AHEAD_BYTES },
    ]);
    // A record a little past the last one still continues the run; one far away does not.
    reader.read(offset + 100, 194, file.length);
    expect(calls).toHaveLength(2);
    reader.read(90_000, 194, file.length);
    expect(calls[2]).toEqual({ position: 90_000, length: 194 });
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
    reader.read(9_000, 100, 9_800);
    const run = reader.read(9_100, 100, 9_800); // on a run: a window, but only up to the end
    expect(run.equals(file.subarray(9_100, 9_200))).toBe(true);
    expect(calls[1]).toEqual({ position: 9_100, length: 700 });
    // The file is shorter than the log says (cut while open): the caller sees fewer bytes.
    const cut = fileOf(10_000, 9_150);
    cut.reader.read(9_000, 100, 10_000);
    expect(cut.reader.read(9_100, 100, 10_000).length).toBe(50);
  });
});
