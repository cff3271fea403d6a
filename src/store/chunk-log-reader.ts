/**
 * Reads chunk-log records with one `pread` of at least a page each, and serves the records that
 * follow from what was read: a read that misses the window reads 4 KiB from its record on, and
 * one that continues a run (its record starts where the one read before it ended, or a little
 * after) reads 8 KiB.
 *
 * Why: a read call costs far more than the bytes of a small chunk (2-7 µs against 170 bytes on a
 * virtual machine whose system calls are dear), and it was half of what serving a catch-up cost.
 * Peers ask for tied positions in runs of neighbours (rarest.ts, TIE_RUN), and a log written in
 * sequence order holds a run's records side by side, so a run of small chunks costs one read
 * per 8 KiB. A read that jumps about costs one call, as a read of exactly its record would: the kernel
 * copies a page instead of a record.
 *
 * Only bytes below the log's end (every record there whole and on disk) are ever held: records
 * are never rewritten in place, so a window cannot go stale. `read` copies each answer out of the
 * window: a caller that changes a chunk's bytes changes no other answer. `view` answers the
 * window itself, for a getChunks reply over a transport that reads each answer once
 * (`Transport.readsRepliesOnce`): it is hashed and encoded, never changed. A discard re-reads the
 * file itself (`readExact`), so bytes gone bad in memory never remove a chunk intact on disk.
 *
 * What a peer can make it do: choose addresses whose records are each a little after the one
 * before, so that every read call reads 8 KiB instead of one record. That is at most 8 KiB a
 * requested address (8 MiB for a request of 1,000), copied once by the kernel, with no more read
 * calls than one a record. Through `read` nothing of it is held past the next window; through
 * `view` a reply holds the windows its chunks lie in until it is encoded, in the same turn of the
 * event loop (at most those 8 MiB for a request of 1,000), except those of records of 16 KiB or
 * more, which HTTP writes from the window itself: held until the socket has taken them, within the
 * server's bounds on unsent reply bytes.
 *
 * A record read at random places (not along a run) again and again may also be kept
 * (recent-records.ts: the second read keeps it), so that reading it costs no call. Along a run
 * the window already answers, and a catch-up's records would only push the others out: a record
 * kept and then continued by the next read (it began a run) is forgotten again.
 */
import { readSync } from 'node:fs';
import { RecentRecords } from './recent-records.js';

/** Bytes read ahead along a run: a run of 8 chunks of up to about 1 KiB each. */
export const READ_AHEAD_BYTES = 8 * 1024;
/** Bytes read from a record that starts no run: one page, a run of 8 chunks of up to about 500 bytes. */
export const FIRST_READ_BYTES = 4 * 1024;
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
  /** Records read at random places, kept (undefined: none are). */
  readonly recent: RecentRecords | undefined;
  /** The offset of the record the last read kept, while no other read came after it (-1: none). */
  #lastKept = -1;

  /** `cacheBytes`: the most memory records read again at random places are kept in (default 0: none). */
  constructor(pread: PositionalRead, options: { cacheBytes?: number } = {}) {
    this.#pread = pread;
    this.recent = options.cacheBytes ? new RecentRecords(options.cacheBytes) : undefined;
  }

  /** A reader of the open file `fd`. */
  static of(fd: number, options: { cacheBytes?: number } = {}): RecordReader {
    return new RecordReader((buffer, position) => readSync(fd, buffer, 0, buffer.length, position), options);
  }

  /**
   * The `size` bytes at `offset`, in memory of their own (no two answers share bytes, and none
   * shares the window), reading at most up to `end`; fewer when the file is shorter than the
   * log's end says (the caller refuses a short read).
   */
  read(offset: number, size: number, end: number): Buffer {
    return Buffer.from(this.view(offset, size, end));
  }

  /**
   * As read(), without the copy: a view of the window it was read into, which nothing writes to
   * again (a window is read once and replaced, never refilled). Other answers may share its
   * memory, so the caller must not change it: a reader that only hashes and sends what it reads.
   */
  view(offset: number, size: number, end: number): Buffer {
    const window = this.#window;
    const onRun = this.#lastEnd >= 0 && offset >= this.#lastEnd && offset - this.#lastEnd <= RUN_GAP_BYTES;
    this.#lastEnd = offset + size;
    // The record kept last began this run: it was read in order, not at a random place.
    if (onRun && this.#lastKept >= 0) this.recent?.forget(this.#lastKept);
    this.#lastKept = -1;
    if (window !== undefined && offset >= window.start && offset + size <= window.start + window.bytes.length) {
      const at = offset - window.start;
      return window.bytes.subarray(at, at + size);
    }
    const recent = onRun ? undefined : this.recent;
    const kept = recent?.get(offset, size);
    if (kept !== undefined) return kept;
    const bytes = Buffer.allocUnsafe(Math.max(size, Math.min(onRun ? READ_AHEAD_BYTES : FIRST_READ_BYTES, end - offset)));
    const read = this.#pread(bytes, offset);
    this.#window = { start: offset, bytes: bytes.subarray(0, read) };
    if (recent !== undefined && read >= size) {
      recent.keep(offset, bytes.subarray(0, size));
      this.#lastKept = offset;
    }
    return bytes.subarray(0, Math.min(read, size));
  }

  /** The `size` bytes at `offset` read from the file now, past the window and what is kept (which forgets the record: it is in doubt). */
  readExact(offset: number, size: number): Buffer {
    this.recent?.forget(offset);
    const bytes = Buffer.allocUnsafe(size);
    return bytes.subarray(0, this.#pread(bytes, offset));
  }
}
