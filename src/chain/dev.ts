/**
 * A local, file-backed chain for the CLI and the demo.
 *
 * File format: JSON lines, UTF-8, one announcement per line, in position order, each line ended
 * by "\n":
 *
 *   {"position":0,"address":"<40 hex>","key":"alice.id","height":1,"txid":"..."}
 *
 * `position` must equal the line's index; `address` is required; `key`, `height` and `txid` are
 * optional. Appending is one write of whole lines at the end of the file, so a crash can only
 * leave a torn LAST line: the start of a line as this class writes it, without its newline.
 * open() never destroys a file it did not write:
 * - a torn last line (a prefix of a valid chain line, tail.ts) is cut, with a warning naming the
 *   bytes dropped: it announced nothing;
 * - a valid last line without its newline is kept, and the newline is added;
 * - anything else (a complete invalid line anywhere, a tail that is not the start of a chain
 *   line, e.g. a file of some other use) refuses the file with BAD_ANNOUNCEMENT and leaves it as
 *   it is. rollback() rewrites the file atomically (a temporary file, fsync, rename).
 *
 * Other processes may append (refresh() reads their new lines, and notices a file rewritten by
 * another's rollback). One writes at a time: an append, a rollback or open()'s repair holds the
 * file's write lock (`<file>.lock`, write-lock.ts), and waits up to WRITE_LOCK_WAIT_MS for
 * another's to end.
 */
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { appendFile, open, readFile, rename, rm, stat, truncate } from 'node:fs/promises';
import { makeDirectories } from '../durable-file.js';
import { dirname } from 'node:path';
import { AtlasError, ErrorCodes, InvalidOptionError, isAtlasError } from '../errors.js';
import { pushAll, SerialQueue, silentLogger, type Logger } from '../runtime.js';
import { checkOptionNames } from '../options-overlay.js';
import { pathError, requiredPath } from './open-errors.js';
import { checkAnnouncement, checkMaxReadLimit, checkRollback, checkSignal, readPage, toAnnouncements, type AnnounceInput } from './announcement.js';
import { ChainListeners } from './listeners.js';
import { withWriteLock } from './write-lock.js';
import { parseFinalLine, isTornChainLine } from './tail.js';
import type { Announcement, ChainAdapter, ChainListener } from './types.js';

/** Longest line accepted, in bytes: a longer one is not an announcement. */
export const DEFAULT_MAX_LINE_BYTES = 4_096;
const NEWLINE = 0x0a;

/** Options of `DevChain`, the chain kept in a JSON-lines file. */
export interface DevChainOptions {
  /** Most announcements one read returns (default 10,000). */
  maxReadLimit?: number;
  maxLineBytes?: number;
  /** Receives the warning about a repaired torn line, and listener errors. */
  logger?: Logger;
}

/** Every option of DevChainOptions: a misspelt one is refused. */
const DEV_CHAIN_OPTION_NAMES: Record<keyof DevChainOptions, true> = { maxReadLimit: true, maxLineBytes: true, logger: true };

/** What open() did about a torn last line, if there was one. */
export interface DevChainRepair {
  /** Bytes cut from the end of the file. */
  droppedBytes: number;
  /** The file's length in bytes after the repair. */
  keptBytes: number;
}

interface Parsed {
  announcements: Announcement[];
  /** Byte offset just past each parsed line. */
  lineEnds: number[];
  /** Bytes of complete, valid lines. */
  consumed: number;
  /** Bytes after `consumed` that are not a complete valid line yet. */
  tail: number;
  /** The first complete line that is invalid, if any. */
  badLine: { error: AtlasError } | undefined;
}

/** A `ChainAdapter` kept in a JSON-lines file: a local chain for the CLI and the demo. */
export class DevChain implements ChainAdapter {
  readonly path: string;
  readonly maxReadLimit: number;
  /** Set when open() had to cut a torn last line. */
  readonly repaired: DevChainRepair | undefined;
  readonly #maxLineBytes: number;
  readonly #logger: Logger;
  readonly #listeners: ChainListeners;
  #announcements: Announcement[];
  #lineEnds: number[];
  /** Bytes of the file already read. */
  #offset: number;
  #inode: number;
  readonly #queue = new SerialQueue();
  #closed = false;

  private constructor(path: string, options: DevChainOptions, parsed: Parsed, inode: number, repaired: DevChainRepair | undefined) {
    this.path = path;
    this.maxReadLimit = checkMaxReadLimit(options.maxReadLimit);
    this.#maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.#logger = options.logger ?? silentLogger;
    this.#listeners = new ChainListeners(this.#logger);
    this.#announcements = parsed.announcements;
    this.#lineEnds = parsed.lineEnds;
    this.#offset = parsed.consumed;
    this.#inode = inode;
    this.repaired = repaired;
  }

  /** Opens the chain file at `path`, creating it (and its directory) when absent. */
  static async open(path: string, options: DevChainOptions = {}): Promise<DevChain> {
    requiredPath('path', path);
    checkOptionNames<DevChainOptions>(options, DEV_CHAIN_OPTION_NAMES, 'DevChain.open');
    const logger = options.logger ?? silentLogger;
    const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    let bytes: Buffer;
    try {
      makeDirectories(dirname(path));
      // A device would be read without end (`-c /dev/zero`), and a pipe would hold open() itself.
      const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (found !== undefined && !found.isFile()) throw new InvalidOptionError('path', `cannot use ${path}: not a regular file`);
      await (await open(path, 'a')).close();
      bytes = await readFile(path);
    } catch (error) {
      throw pathError('path', path, error);
    }
    let parsed = parseLines(bytes, 0, 0, maxLineBytes);
    if (parsed.badLine) throw parsed.badLine.error;
    let repaired: DevChainRepair | undefined;
    // The end may be another process's append, still being written: looked at again, and
    // repaired, only holding the write lock, once that append has ended.
    if (parsed.tail > 0) ({ parsed, repaired } = await withWriteLock(path, () => repairTail(path, maxLineBytes, logger)));
    const { ino } = await stat(path);
    return new DevChain(path, options, parsed, ino, repaired);
  }

  /**
   * Appends announcements to the file (after reading what other processes appended) and tells
   * subscribers; returns them with their positions.
   */
  announce(input: AnnounceInput | readonly AnnounceInput[]): Promise<Announcement[]> {
    return this.#enqueueWrite(async () => {
      await this.#refresh();
      const added = toAnnouncements(input, this.#announcements.length);
      if (added.length === 0) return [];
      const lines = added.map((a) => JSON.stringify(a) + '\n');
      const bytes = Buffer.from(lines.join(''), 'utf8');
      for (const line of lines) {
        if (Buffer.byteLength(line) > this.#maxLineBytes) throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `an announcement line is longer than ${this.#maxLineBytes} bytes`);
      }
      const handle = await open(this.path, 'a');
      try {
        await handle.write(bytes);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      let end = this.#offset;
      for (const line of lines) {
        end += Buffer.byteLength(line);
        this.#lineEnds.push(end);
      }
      this.#offset = end;
      pushAll(this.#announcements, added);
      this.#listeners.emit({ type: 'append', announcements: added.slice() });
      return added;
    });
  }

  /** Keeps the first `length` announcements; rewrites the file atomically and tells subscribers. */
  rollback(length: number): Promise<void> {
    return this.#enqueueWrite(async () => {
      await this.#refresh();
      checkRollback(length, this.#announcements.length);
      if (length === this.#announcements.length) return;
      const keep = length === 0 ? 0 : (this.#lineEnds[length - 1] as number);
      const kept = (await readFile(this.path)).subarray(0, keep);
      const temporary = `${this.path}.rollback-${process.pid}.tmp`;
      try {
        const handle = await open(temporary, 'w');
        try {
          await handle.write(kept);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temporary, this.path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      syncDirectory(dirname(this.path));
      this.#inode = (await stat(this.path)).ino;
      this.#announcements.length = length;
      this.#lineEnds.length = length;
      this.#offset = keep;
      this.#listeners.emit({ type: 'rollback', length });
    });
  }

  /**
   * Reads lines other processes appended since the last read and tells subscribers; when the file
   * was rewritten (another process rolled back), emits the rollback to the common prefix first.
   * A torn last line is left for a later refresh (its writer may still be writing it). Returns
   * the number of announcements read.
   */
  refresh(): Promise<number> {
    return this.#enqueue(() => this.#refresh());
  }

  async length(options?: { signal?: AbortSignal }): Promise<number> {
    this.#checkOpen();
    checkSignal(options?.signal);
    return this.#announcements.length;
  }

  async read(from: number, limit: number, options?: { signal?: AbortSignal }): Promise<Announcement[]> {
    this.#checkOpen();
    return readPage(this.#announcements, from, limit, this.maxReadLimit, options?.signal);
  }

  subscribe(listener: ChainListener): () => void {
    this.#checkOpen();
    return this.#listeners.add(listener);
  }

  unsubscribe(listener: ChainListener): void {
    this.#listeners.delete(listener);
  }

  /** Waits for pending writes, then refuses further use. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.idle();
    this.#listeners.clear();
  }

  async #refresh(): Promise<number> {
    const info = await stat(this.path, { bigint: false }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info === undefined || info.ino !== this.#inode || info.size < this.#offset) return this.#reload();
    if (info.size === this.#offset) return 0;
    const handle = await open(this.path, 'r');
    let bytes: Buffer;
    try {
      bytes = Buffer.alloc(info.size - this.#offset);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, this.#offset);
      bytes = bytes.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    const parsed = parseLines(bytes, this.#announcements.length, this.#offset, this.#maxLineBytes);
    if (parsed.badLine) throw parsed.badLine.error;
    return this.#appendParsed(parsed);
  }

  /** The file was replaced or shrank: re-read it, roll back to the common prefix, append the rest. */
  async #reload(): Promise<number> {
    // Only a file that is gone is an empty chain: one that cannot be read now (EACCES, EMFILE, EIO,
    // a directory in its place) fails this refresh and leaves the chain as it was.
    const bytes = await readFile(this.path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return Buffer.alloc(0);
      throw new AtlasError(ErrorCodes.CHAIN_FAILED, `cannot read the dev chain ${this.path}: ${error.code ?? error.message}`, { path: this.path }, { cause: error });
    });
    const parsed = parseLines(bytes, 0, 0, this.#maxLineBytes);
    if (parsed.badLine) throw parsed.badLine.error;
    this.#inode = (await stat(this.path).catch(() => ({ ino: -1 }))).ino;
    let common = 0;
    const old = this.#announcements;
    while (common < old.length && common < parsed.announcements.length && sameAnnouncement(old[common] as Announcement, parsed.announcements[common] as Announcement)) common++;
    if (common < old.length) {
      this.#announcements = old.slice(0, common);
      this.#lineEnds = parsed.lineEnds.slice(0, common);
      this.#listeners.emit({ type: 'rollback', length: common });
    } else {
      this.#lineEnds = parsed.lineEnds.slice(0, common);
    }
    this.#offset = common === 0 ? 0 : (parsed.lineEnds[common - 1] as number);
    return this.#appendParsed({
      ...parsed,
      announcements: parsed.announcements.slice(common),
      lineEnds: parsed.lineEnds.slice(common),
    });
  }

  #appendParsed(parsed: Parsed): number {
    if (parsed.announcements.length === 0) return 0;
    pushAll(this.#announcements, parsed.announcements);
    pushAll(this.#lineEnds, parsed.lineEnds);
    this.#offset = parsed.lineEnds[parsed.lineEnds.length - 1] as number;
    this.#listeners.emit({ type: 'append', announcements: parsed.announcements.slice() });
    return parsed.announcements.length;
  }

  /** A write: in this chain's queue, and holding the file's write lock against other processes' (write-lock.ts). */
  #enqueueWrite<T>(task: () => Promise<T>): Promise<T> {
    return this.#enqueue(() => withWriteLock(this.path, task));
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new AtlasError(ErrorCodes.CLOSED, 'the chain is closed'));
    return this.#queue.run(task);
  }

  #checkOpen(): void {
    if (this.#closed) throw new AtlasError(ErrorCodes.CLOSED, 'the chain is closed');
  }
}

/**
 * The file read again, holding the write lock, and an end that is no whole line mended: a valid
 * last line without its newline (written by hand) gets one; a torn last line (the start of a
 * chain line: an interrupted write) is cut, with a warning; anything else refuses the file
 * (BAD_ANNOUNCEMENT) and leaves it as it is.
 */
async function repairTail(path: string, maxLineBytes: number, logger: Logger): Promise<{ parsed: Parsed; repaired: DevChainRepair | undefined }> {
  const bytes = await readFile(path).catch((error: unknown) => {
    throw pathError('path', path, error);
  });
  const parsed = parseLines(bytes, 0, 0, maxLineBytes);
  if (parsed.badLine) throw parsed.badLine.error;
  if (parsed.tail === 0) return { parsed, repaired: undefined }; // the append we saw being written has ended
  const tail = bytes.subarray(parsed.consumed);
  const position = parsed.announcements.length;
  const final = parseFinalLine(tail, position, maxLineBytes);
  if (final !== undefined) {
    await appendFile(path, '\n');
    parsed.announcements.push(final);
    parsed.consumed = bytes.length + 1;
    parsed.lineEnds.push(parsed.consumed);
    logger.warn('dev chain: added the missing newline after the last announcement', { path, position });
    return { parsed, repaired: undefined };
  }
  if (isTornChainLine(tail, position, maxLineBytes)) {
    const repaired = { droppedBytes: tail.length, keptBytes: parsed.consumed };
    logger.warn('dev chain: dropped a torn last line (an interrupted write)', { path, ...repaired, dropped: tail.toString('utf8') });
    await truncate(path, parsed.consumed);
    return { parsed, repaired };
  }
  throw new AtlasError(
    ErrorCodes.BAD_ANNOUNCEMENT,
    `${path} is not a dev chain file: its last ${tail.length} bytes (after ${position} announcement(s)) are neither an announcement nor the start of one; the file is left as it is`,
    { line: position + 1, path },
  );
}

function sameAnnouncement(a: Announcement, b: Announcement): boolean {
  return a.position === b.position && a.address === b.address && a.key === b.key && a.height === b.height && a.txid === b.txid;
}

/**
 * Parses complete lines of `bytes` (which starts at file offset `base`), announcement positions
 * from `firstPosition`. Stops at the first line that is incomplete or invalid: what follows is
 * the tail. An invalid complete line is reported in `badLine`.
 */
function parseLines(bytes: Buffer, firstPosition: number, base: number, maxLineBytes: number): Parsed {
  const announcements: Announcement[] = [];
  const lineEnds: number[] = [];
  let start = 0;
  let badLine: Parsed['badLine'];
  while (start < bytes.length) {
    const newline = bytes.indexOf(NEWLINE, start);
    if (newline === -1) break;
    const position = firstPosition + announcements.length;
    try {
      if (newline - start > maxLineBytes) throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `line longer than ${maxLineBytes} bytes`);
      let value: unknown;
      try {
        value = JSON.parse(bytes.toString('utf8', start, newline));
      } catch {
        throw new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, 'not valid JSON');
      }
      announcements.push(checkAnnouncement(value, position));
    } catch (error) {
      const reason = isAtlasError(error) ? error.message : String(error);
      const invalid = new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `dev chain line ${position + 1} is not a valid announcement: ${reason}`, { line: position + 1 }, { cause: error });
      badLine = { error: invalid };
      break;
    }
    start = newline + 1;
    lineEnds.push(base + start);
  }
  return { announcements, lineEnds, consumed: base + start, tail: bytes.length - start, badLine };
}

function syncDirectory(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic.
  }
}
