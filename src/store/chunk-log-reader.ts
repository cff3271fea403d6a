/**
 * Reads chunk-log records with one `pread` of at least a page each, and serves the records that
 * follow from what was read: a read that misses the window reads 4 KiB from its record on, and
 * one that continues a run (its record starts where the one read before it ended, or a little
 * after) reads 8 KiB, or twice what the last read did when this run walked through at least half
 * of it, up to 64 KiB (16, 32, 64).
 *
 * Why: a read call costs far more than the bytes of a small chunk (2-7 µs against 170 bytes on a
 * virtual machine whose system calls are dear), and it was half of what serving a catch-up cost.
 * Peers ask for tied positions in runs of neighbours (rarest.ts, TIE_RUN), and a log written in
 * sequence order holds a run's records side by side, so a run of small chunks costs one read
 * per 64 KiB once it is under way. A read that jumps about costs one call, as a read of exactly
 * its record would: the kernel copies a page instead of a record.
 *
 * Only bytes below the log's end (every record there whole and on disk) are ever held: records
 * are never rewritten in place, so a window cannot go stale. `read` copies each answer out of the
 * window: a caller that changes a chunk's bytes changes no other answer. `view` answers the
 * window itself, for a getChunks reply over a transport that reads each answer once
 * (`Transport.readsRepliesOnce`): it is hashed and encoded, never changed. A discard re-reads the
 * file itself (`readExact`), so bytes gone bad in memory never remove a chunk intact on disk.
 *
 * What a peer can make it do: no more read calls than one a requested address; a read that does
 * not grow reads at most 8 KiB (or its record whole); and a read grows only after the run it
 * continues, from where that run began, walked through half of the read before it, through
 * records the peer asked for and gaps of at most 1 KiB between them (a record served from memory
 * at a random place begins a run of its own: it walks nothing of the window it lies in). So a
 * request reads at most 8 KiB an address (or the record) plus four times the span its runs walk,
 * which is at most its records' bytes and 1 KiB an address. Through `read` nothing of it is held
 * past the next window; through `view` a reply holds the windows its chunks lie in until it is
 * encoded, in the same turn of the event loop, except those of records of 16 KiB or more, which
 * HTTP writes from the window itself: held until the socket has taken them, within the server's
 * bounds on unsent reply bytes.
 *
 * A record read at random places (not along a run) again and again may also be kept
 * (recent-records.ts: the second read keeps it), so that reading it costs no call. Along a run
 * the window already answers, and a catch-up's records would only push the others out: a record
 * kept and then continued by the next read (it began a run) is forgotten again.
 */
import { readSync } from 'node:fs';
import { RecentRecords } from './recent-records.js';

/** Bytes read from a record that starts no run: one page, a run of 8 chunks of up to about 500 bytes. */
export const FIRST_READ_BYTES = 4 * 1024;
/** Bytes read by the first read continuing a run (twice the first); each later one may double. */
export const READ_AHEAD_BYTES = 2 * FIRST_READ_BYTES;
/** The largest read along a run. */
export const MAX_READ_AHEAD_BYTES = 64 * 1024;
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
  /** What the last read asked for (it grows along a run). */
  #lastReadBytes = FIRST_READ_BYTES;
  /** Where the current run began: the last record asked that continued no run. */
  #runFrom = 0;
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
    const lastEnd = this.#lastEnd;
    const onRun = lastEnd >= 0 && offset >= lastEnd && offset - lastEnd <= RUN_GAP_BYTES;
    this.#lastEnd = offset + size;
    if (!onRun) this.#runFrom = offset;
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
    const ahead = onRun ? runReadBytes(this.#lastReadBytes, window, this.#runFrom, lastEnd) : FIRST_READ_BYTES;
    this.#lastReadBytes = ahead;
    const bytes = Buffer.allocUnsafe(Math.max(size, Math.min(ahead, end - offset)));
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

/**
 * What a read continuing a run asks for: twice the last read when the run (from `runFrom`) walked
 * through at least half of the window it leaves (up to MAX_READ_AHEAD_BYTES), else READ_AHEAD_BYTES.
 */
function runReadBytes(last: number, window: { start: number; bytes: Buffer } | undefined, runFrom: number, lastEnd: number): number {
  const walked = window !== undefined && lastEnd - Math.max(window.start, runFrom) >= window.bytes.length / 2;
  return walked ? Math.min(MAX_READ_AHEAD_BYTES, Math.max(READ_AHEAD_BYTES, last * 2)) : READ_AHEAD_BYTES;
}
