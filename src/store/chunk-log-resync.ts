/**
 * Finding the chunk log's next intact record after damage, for the open-time scan
 * (chunk-log-scan.ts): a plausible length (1 byte to the store's maxChunkSize) and bytes that
 * hash to the address beside them, starting within RESYNC_WINDOW bytes after where the records
 * stopped making sense (`after`), or anywhere up to the end of the file (`beforeEnd`: what tells
 * a torn end, which holds no intact record, from damage in the middle, which must not be cut).
 *
 * Bounded work, whatever the damage and whatever bytes the chunks hold (their publishers choose
 * them):
 * - `after`: every offset of the log is searched at most once per open: a search remembers the
 *   range it covered and what it found, and a search that starts inside that range reuses it. A
 *   run of damaged records then costs one search, not one each (which made a run of k records
 *   cost k times its length);
 * - a search hashes at most RESYNC_HASH_BUDGET bytes, or twice the longest record when that is
 *   more (data crafted to look like long records at every offset would otherwise cost a hash of up
 *   to a record's size per offset), then gives up: the scan goes on as the length fields say, as
 *   before any search. Lengths are bounded by the store's maxChunkSize, so random bytes
 *   (addresses are hashes) look like a record about once in 100,000 offsets at the default
 *   40 KiB, and an honest search rarely hashes more than its window;
 * - `beforeEnd` first hashes only candidates followed by the end of the file or by another
 *   plausible length, as an intact record in a log is: incompressible chunks of several MiB look
 *   like records about once every thousand offsets, and hashing each (up to a record) made a
 *   crash-torn tail of a few MiB cost more than a GiB of hashing. Only when none is found does it
 *   hash every candidate, within TEAR_SEARCH_HASH_BUDGET;
 * - it reads from its first offset, 64 KiB first and the whole reach (1 MiB + a record) only when
 *   a candidate needs it.
 */
import { readSync } from 'node:fs';
import { hash160 } from '../hash/index.js';
import { MAX_RECORD_DATA, RECORD_HEADER } from './chunk-log-format.js';

/** How far past damage `after` looks for the next intact record. */
export const RESYNC_WINDOW = 1024 * 1024;
/** The most bytes one search hashes before it gives up (twice the longest record, when that is more). */
export const RESYNC_HASH_BUDGET = 16 * 1024 * 1024;
/**
 * The most bytes `beforeEnd` hashes in each of its two passes; past it the pass ends with what it
 * found. Reached only by data made to look like records (the first pass) or by intact records
 * each followed by more damage (the second), whose chunks are then fetched again.
 */
export const TEAR_SEARCH_HASH_BUDGET = 64 * 1024 * 1024;
/** The longest record looked for when the store names no maxChunkSize. */
const DEFAULT_MAX_RECORD = 1024 * 1024;
/** Zeros passed at once by a search. */
const ZERO_BLOCK = 4096;
const ZEROS = Buffer.alloc(ZERO_BLOCK);
/** The first, short read of a search. */
const FIRST_READ = 64 * 1024;

export class IntactRecordFinder {
  readonly #fd: number;
  /** The longest record looked for. */
  readonly #maxRecord: number;
  readonly #hashBudget: number;
  /** The offsets [first, last) searched last, and the intact record found there (undefined: none). */
  #searched: { first: number; last: number; found: number | undefined } | undefined;
  /** The memory searches read into, kept between them: fresh memory for each would cost a page fault every 4 KiB. */
  #buffer: Buffer | undefined;
  /** Bytes hashed, over every search (for tests and diagnostics). */
  hashedBytes = 0;
  /** Offsets looked at as a record's start, over every search (for tests and diagnostics). */
  examined = 0;

  /**
   * `maxRecord`: the longest record to look for, the store's maxChunkSize (a log admits records
   * up to MAX_RECORD_DATA; a store admitting chunks of several MiB must find them after damage too).
   */
  constructor(fd: number, maxRecord: number = DEFAULT_MAX_RECORD) {
    this.#fd = fd;
    this.#maxRecord = Math.max(1, Math.min(MAX_RECORD_DATA, maxRecord));
    this.#hashBudget = Math.max(RESYNC_HASH_BUDGET, 2 * this.#maxRecord);
  }

  /**
   * Where the first intact record after `from` and before `size` is, or 'none': the windows from
   * `from` to the end of the file, each offset looked at once a pass, a window whose hash budget
   * ran out going on where it stopped with a new one. The first pass hashes only candidates that
   * lead to the end of the file or to another plausible length; the second hashes every
   * candidate (an intact record followed by more damage), up to what the first found or, when it
   * found nothing, to the end: an intact record between two damaged length fields was passed
   * over when intact records followed the second. Each pass ends once it has hashed
   * TEAR_SEARCH_HASH_BUDGET bytes.
   */
  beforeEnd(from: number, size: number): number | 'none' {
    const leading = this.#walk(from, size, true);
    return this.#walk(from, leading ?? size, false) ?? leading ?? 'none';
  }

  #walk(from: number, size: number, leading: boolean): number | undefined {
    const hashedBefore = this.hashedBytes;
    for (let first = from + 1; first < size; ) {
      const last = Math.min(first + RESYNC_WINDOW - 1, size);
      const { found, end } = this.#search(first, last, size, leading);
      if (found !== undefined) return found;
      if (this.hashedBytes - hashedBefore > TEAR_SEARCH_HASH_BUDGET) return undefined;
      first = Math.max(first + 1, end);
    }
    return undefined;
  }

  /**
   * Where the first intact record starting in (from, from + RESYNC_WINDOW) is, or undefined (none
   * there, or the search's hash budget ran out first: a later search from inside goes on from
   * where it stopped).
   */
  after(from: number, size: number): number | undefined {
    const first = from + 1;
    const last = Math.min(from + RESYNC_WINDOW, size);
    const searched = this.#searched;
    if (searched !== undefined && searched.first <= first && first <= searched.last) {
      // Nothing intact lies in [searched.first, found) or, when nothing was found, in [first, searched.last).
      if (searched.found !== undefined) {
        // A file that shrank under the scan no longer holds what was found past its new end.
        if (searched.found >= first) return searched.found < size ? searched.found : undefined;
      } else {
        if (searched.last >= last) return undefined;
        const { found, end } = this.#search(searched.last, last, size);
        searched.found = found;
        searched.last = end;
        return found;
      }
    }
    const { found, end } = this.#search(first, last, size);
    this.#searched = { first, last: end, found };
    return found;
  }

  /**
   * Whether what follows a candidate ending at `next` (an index into `bytes`, read from `first`)
   * is what follows an intact record in a log: the end of the file, a length field the file ends
   * inside (a torn next record), or a plausible length.
   */
  #leadsOn(bytes: Buffer, got: number, first: number, next: number, size: number): boolean {
    if (first + next > size - 4) return first + next <= size;
    if (next + 4 > got) return true; // past what was read: not judged
    const length = bytes.readUInt32LE(next);
    return length !== 0 && length <= this.#maxRecord;
  }

  /** `bytes` bytes of the kept memory (grown when too small). */
  #room(bytes: number): Buffer {
    if (this.#buffer === undefined || this.#buffer.length < bytes) this.#buffer = Buffer.allocUnsafe(bytes);
    return this.#buffer.subarray(0, bytes);
  }

  /**
   * The first intact record starting at an offset in [first, last), and `end`, the first offset
   * not looked at: `last` when every one was, earlier when the hash budget ran out.
   */
  #search(first: number, last: number, size: number, leading = false): { found: number | undefined; end: number } {
    // A candidate's reach, and the length field after it (for `leading`).
    const whole = Math.min(size - first, last - first + RECORD_HEADER + this.#maxRecord + 4);
    if (whole <= 0) return { found: undefined, end: last };
    let budget = this.#hashBudget;
    let at = 0;
    for (const span of [Math.min(whole, FIRST_READ), whole]) {
      const bytes = this.#room(span);
      const got = readSync(this.#fd, bytes, 0, span, first);
      const complete = got === whole;
      for (; at + RECORD_HEADER <= got && first + at < last; at++) {
        this.examined++;
        const length = bytes.readUInt32LE(at);
        if (length === 0) {
          // Zeros (what a crash leaves where a write had extended the file) are passed a block at
          // a time: no record's length field lies wholly inside a block of zeros.
          if (at + ZERO_BLOCK <= got && bytes.compare(ZEROS, 0, ZERO_BLOCK, at, at + ZERO_BLOCK) === 0) at += ZERO_BLOCK - 4;
          continue;
        }
        if (length > this.#maxRecord) continue;
        if (at + RECORD_HEADER + length > got) {
          if (complete) continue;
          break; // this candidate needs the longer read
        }
        if (leading && !this.#leadsOn(bytes, got, first, at + RECORD_HEADER + length, size)) continue;
        budget -= length;
        if (budget < 0) return { found: undefined, end: first + at };
        this.hashedBytes += length;
        const digest = hash160(bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
        if (bytes.subarray(at + 4, at + RECORD_HEADER).equals(digest)) return { found: first + at, end: first + at };
      }
      if (complete || first + at >= last) return { found: undefined, end: last };
    }
    return { found: undefined, end: last };
  }
}
