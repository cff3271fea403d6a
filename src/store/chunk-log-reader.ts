/**
 * Reads chunk-log records, one `pread` each, except along a run: when a record starts where the
 * one read before it ended (or a little after), the reader reads ahead a window and serves the
 * next records of the run from memory.
 *
 * Why: a read call costs far more than the bytes of a small chunk (2-7 µs against 170 bytes on a
 * virtual machine whose system calls are dear), and it was half of what serving a catch-up cost.
 * Peers ask for tied positions in runs of neighbours (rarest.ts, TIE_RUN), and a log written in
 * sequence order holds a run's records side by side, so a run costs two reads instead of eight.
 * Reads that jump about never trigger the window, so random access reads exactly what it did.
 *
 * Only bytes below the log's end (every record there whole and on disk) are ever held: records
 * are never rewritten in place, so a window cannot go stale.
 */
import { readSync } from 'node:fs';

/** Bytes read ahead along a run: a run of 8 chunks of up to about 1 KiB each. */
export const READ_AHEAD_BYTES = 8 * 1024;
/** A record starting at most this far past the end of the previous read continues its run. */
const RUN_GAP_BYTES = 1024;

/** Reads into `buffer` the file's bytes from `position`; answers how many it read (a `pread`). */
export type PositionalRead = (buffer: Buffer, position: number) => number;

export class RecordReader {
  readonly #pread: PositionalRead;
  /** What was read ahead: file bytes from `start`. */
  #window: { start: number; bytes: Buffer } | undefined;
  /** Where the last record read ended (-1: none yet). */
  #lastEnd = -1;

  constructor(pread: PositionalRead) {
    this.#pread = pread;
  }

  /** A reader of the open file `fd`. */
  static of(fd: number): RecordReader {
    return new RecordReader((buffer, position) => readSync(fd, buffer, 0, buffer.length, position));
  }

  /**
   * The `size` bytes at `offset` (a view the caller may keep), reading at most up to `end`; fewer
   * when the file is shorter than the log's end says (the caller refuses a short read).
   */
  read(offset: number, size: number, end: number): Buffer {
    const window = this.#window;
    const onRun = this.#lastEnd >= 0 && offset >= this.#lastEnd && offset - this.#lastEnd <= RUN_GAP_BYTES;
    this.#lastEnd = offset + size;
    if (window !== undefined && offset >= window.start && offset + size <= window.start + window.bytes.length) {
      const at = offset - window.start;
      return window.bytes.subarray(at, at + size);
    }
    const want = onRun ? Math.max(size, Math.min(READ_AHEAD_BYTES, end - offset)) : size;
    const bytes = Buffer.allocUnsafe(want);
    const read = this.#pread(bytes, offset);
    if (want > size) this.#window = { start: offset, bytes: bytes.subarray(0, read) };
    return bytes.subarray(0, Math.min(read, size));
  }
}
