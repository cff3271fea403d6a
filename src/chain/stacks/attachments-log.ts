/**
 * The observer's log of verified attachments (zone files), indexed in memory by hash:
 *
 *   file   = MARK (record* MARK)*
 *   record = hash160 (20 bytes) | length (u32 big-endian, not 0) | the attachment's bytes
 *   MARK   = name and version (12 bytes) | its own offset in the file (u64 big-endian) | length 0
 *
 * Each write appends its records, fsyncs, then appends a MARK and fsyncs again: the records
 * before a MARK were acknowledged, the ones after the last MARK may be what a crash left of a
 * write never acknowledged (a record cut short, or zeros where the file grew and the bytes never
 * landed, in any order). Every record is checked at open (its bytes must hash to its address).
 * The first record that does not check is where such a crash cut the log when no MARK follows it:
 * the log is cut there. With a MARK after it, acknowledged bytes are damaged: STORE_CORRUPT, and
 * the file is left as it was. So is anything that is not ours: only a file that starts with MARK,
 * or whose records all check (a log written before MARK existed: rewritten once, with it), is.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory } from '../../durable-file.js';
import { AtlasError, ErrorCodes } from '../../errors.js';
import { hash160 } from '../../hash/index.js';
import type { Logger } from '../../runtime.js';
import { cutBack, cutTo, replaceFile, writeAll } from './journal-files.js';

export const ATTACHMENTS_FILE = 'attachments.log';
const RECORD_HEAD = 24;
/** What every mark starts with: the format's name and version. */
const MARK_NAME = Buffer.from('atlasnet-al1', 'latin1');

/**
 * The mark at file offset `offset`. A zero length, so that a version of atlasnet from before
 * marks reads a record of nothing (not a torn one, which it would cut, with every record after
 * it); its own offset, so that the same bytes inside a zone file (whose bytes anyone who
 * registers a name chooses) are not taken for a mark where they lie.
 */
export function attachmentsMark(offset: number): Buffer {
  const mark = Buffer.alloc(RECORD_HEAD);
  MARK_NAME.copy(mark);
  mark.writeUInt32BE(Math.floor(offset / 2 ** 32), 12);
  mark.writeUInt32BE(offset % 2 ** 32, 16);
  return mark;
}

/** The first bytes of every attachments log written since the format had marks: the mark at 0. */
export const ATTACHMENTS_MAGIC: Readonly<Uint8Array> = attachmentsMark(0);
/** Bytes copied at a time when a log is rewritten in the current format. */
const COPY_BLOCK = 1024 * 1024;
const ADDRESS = /^[0-9a-f]{40}$/;

/** hash -> [offset of the bytes, length]. */
type AttachmentIndex = Map<string, [number, number]>;

interface Scan {
  index: AttachmentIndex;
  /** Where the last whole, checked record ends. */
  end: number;
}

export class AttachmentsLog {
  readonly #dir: string;
  #fd: number;
  #index: AttachmentIndex;
  #end: number;
  /** A failed write may have left part of a record past the end (cut before the next write). */
  #torn = false;

  private constructor(dir: string, fd: number, scan: Scan) {
    this.#dir = dir;
    this.#fd = fd;
    this.#index = scan.index;
    this.#end = scan.end;
  }

  /**
   * Opens (creating) the log in `dir`; see the module comment for what it refuses and what it
   * cuts. `maxRecordBytes`: the largest attachment an append may have written (the observer's
   * maxAttachmentBytes).
   */
  static open(dir: string, logger: Logger, maxRecordBytes: number): AttachmentsLog {
    const path = join(dir, ATTACHMENTS_FILE);
    let fd = openSync(path, 'a+');
    try {
      const size = fstatSync(fd).size;
      const start = readAt(fd, 0, Math.min(size, ATTACHMENTS_MAGIC.length));
      if (size <= ATTACHMENTS_MAGIC.length && isStartOfMagic(start)) {
        // New, or a crash while its first bytes were written: nothing in it yet.
        if (size > 0) cutTo(fd, 0);
        writeAll(fd, ATTACHMENTS_MAGIC);
        fsyncSync(fd);
        return new AttachmentsLog(dir, fd, { index: new Map(), end: ATTACHMENTS_MAGIC.length });
      }
      if (start.length === RECORD_HEAD && isMarkAt(start, 0)) {
        const scan = scanRecords(fd, path, ATTACHMENTS_MAGIC.length, size, maxRecordBytes, true);
        if (scan.end < size) {
          logger.warn('observer journal: dropping a torn attachment record', { bytes: size - scan.end });
          cutTo(fd, scan.end);
        }
        return new AttachmentsLog(dir, fd, scan);
      }
      const scan = scanRecords(fd, path, 0, size, maxRecordBytes, false);
      if (scan.index.size === 0) {
        throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not an attachments log (no whole attachment record); move it away to start a new one`, { path });
      }
      const old = fd;
      fd = upgrade(dir, old, scan);
      closeSync(old);
      logger.info('observer journal: attachments log rewritten in the current format', { attachments: scan.index.size, droppedBytes: size - scan.end });
      return new AttachmentsLog(dir, fd, shifted(scan, ATTACHMENTS_MAGIC.length, 2 * ATTACHMENTS_MAGIC.length));
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** Appends verified attachments not stored yet: their records, fsync, a MARK, fsync. */
  put(items: readonly { address: string; content: Uint8Array }[]): void {
    for (const { address } of items) if (!ADDRESS.test(address)) throw new AtlasError(ErrorCodes.BAD_ADDRESS, 'attachment address must be 40 lower-case hex');
    const start = this.#end;
    const added: string[] = [];
    if (this.#torn) cutTo(this.#fd, start);
    this.#torn = false;
    try {
      for (const { address, content } of items) {
        if (this.#index.has(address)) continue;
        const head = Buffer.alloc(RECORD_HEAD);
        head.write(address, 'hex');
        head.writeUInt32BE(content.length, 20);
        writeAll(this.#fd, Buffer.concat([head, content]));
        this.#index.set(address, [this.#end + RECORD_HEAD, content.length]);
        this.#end += RECORD_HEAD + content.length;
        added.push(address);
      }
      if (added.length > 0) {
        fsyncSync(this.#fd);
        // Acknowledged from here on: a crash can no longer leave these records torn.
        writeAll(this.#fd, attachmentsMark(this.#end));
        fsyncSync(this.#fd);
        this.#end += ATTACHMENTS_MAGIC.length;
      }
    } catch (error) {
      // Part of a record may be written (a full disk): forget this call's records and cut them, or
      // the offsets of the next ones would point into the torn one.
      for (const address of added) this.#index.delete(address);
      this.#end = start;
      this.#torn = !cutBack(this.#fd, start);
      throw error;
    }
  }

  /** Bytes the log holds: its first bytes, records and heads. */
  get bytes(): number {
    return this.#end;
  }

  /** Each attachment held, as [address, byte length], in no particular order. */
  *lengths(): IterableIterator<[string, number]> {
    for (const [address, [, length]] of this.#index) yield [address, length];
  }

  has(address: string): boolean {
    return this.#index.has(address);
  }

  get(address: string): Uint8Array | undefined {
    const entry = this.#index.get(address);
    if (entry === undefined) return undefined;
    const out = readAt(this.#fd, entry[0], entry[1]);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /**
   * Rewrites the log with only the attachments `keep` accepts (atomic: temporary file, fsync,
   * rename, directory fsync). Returns how many were dropped.
   */
  compact(keep: (address: string) => boolean): number {
    const kept: AttachmentIndex = new Map();
    let end = ATTACHMENTS_MAGIC.length;
    const fd = replaceFile(this.#dir, ATTACHMENTS_FILE, 'a+', (out) => {
      writeAll(out, ATTACHMENTS_MAGIC);
      for (const [address, entry] of this.#index) {
        if (!keep(address)) continue;
        writeAll(out, readAt(this.#fd, entry[0] - RECORD_HEAD, RECORD_HEAD + entry[1]));
        kept.set(address, [end + RECORD_HEAD, entry[1]]);
        end += RECORD_HEAD + entry[1];
      }
      if (kept.size > 0) {
        writeAll(out, attachmentsMark(end));
        end += ATTACHMENTS_MAGIC.length;
      }
    });
    const dropped = this.#index.size - kept.size;
    this.#swap(fd, { index: kept, end });
    return dropped;
  }

  close(): void {
    closeSync(this.#fd);
  }

  #swap(fd: number, scan: Scan): void {
    closeSync(this.#fd);
    this.#fd = fd;
    this.#index = scan.index;
    this.#end = scan.end;
    this.#torn = false;
    fsyncDirectory(this.#dir);
  }
}

/**
 * The whole records from `from` on, each checked against its address, up to where a crash cut
 * the last write (not counted in `end`: cut by the caller); see the module comment. `marked`: a
 * log with MARKs. One without (the format before them) is only cut where a crash can leave an
 * append: a last record running past the end with a length an append could write (at most
 * maxRecordBytes), or one that does not check followed by nothing but zeros. Throws
 * STORE_CORRUPT for anything else.
 */
function scanRecords(fd: number, path: string, from: number, size: number, maxRecordBytes: number, marked: boolean): Scan {
  const index: AttachmentIndex = new Map();
  const file = new WindowReader(fd, size);
  let offset = from;
  while (offset + RECORD_HEAD <= size) {
    const head = file.at(offset, RECORD_HEAD);
    const length = head.readUInt32BE(20);
    // A mark; or one away from where it says it lies, when an older atlasnet (which reads marks
    // as empty records) compacted the log: nothing to keep either way, nothing damaged.
    if (marked && isMark(head)) {
      offset += RECORD_HEAD;
      continue;
    }
    const end = offset + RECORD_HEAD + length;
    const address = head.toString('hex', 0, 20); // before the next read moves the window
    if (length > 0 && end <= size && Buffer.from(hash160(file.at(offset + RECORD_HEAD, length))).toString('hex') === address) {
      index.set(address, [offset + RECORD_HEAD, length]);
      offset = end;
      continue;
    }
    const cutHere = marked ? !markFrom(fd, offset + 1, size) : end > size ? length <= maxRecordBytes : zerosFrom(fd, end, size);
    if (cutHere) break;
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path}: the record at byte ${offset} is damaged (it does not hash to its address, or its length is wrong), or this is not an attachments log; nothing was changed`, { path, offset });
  }
  return { index, end: offset };
}

/**
 * Reads a file front to back through a window of COPY_BLOCK bytes: one read call a window, not
 * two a record (a log of 1,631 real zone files opened in 16-33 ms that way, against 1-2 ms to
 * read it whole and 2-3 ms to hash its records, in one run). A view it answers is valid until
 * the next call.
 */
class WindowReader {
  #start = 0;
  #bytes: Buffer = Buffer.alloc(0);

  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {}

  at(position: number, length: number): Buffer {
    const from = position - this.#start;
    if (from >= 0 && from + length <= this.#bytes.length) return this.#bytes.subarray(from, from + length);
    if (length > COPY_BLOCK) return readAt(this.fd, position, length);
    this.#start = position;
    this.#bytes = readAt(this.fd, position, Math.min(COPY_BLOCK, this.size - position));
    return this.#bytes.subarray(0, length);
  }
}

/** Whether a mark lies anywhere in the file from `from` on, where it says it lies. */
function markFrom(fd: number, from: number, size: number): boolean {
  const overlap = RECORD_HEAD - 1;
  for (let at = from; at + RECORD_HEAD <= size; at += COPY_BLOCK - overlap) {
    const block = readAt(fd, at, Math.min(COPY_BLOCK, size - at));
    for (let hit = block.indexOf(MARK_NAME); hit >= 0 && hit + RECORD_HEAD <= block.length; hit = block.indexOf(MARK_NAME, hit + 1)) {
      if (isMarkAt(block.subarray(hit, hit + RECORD_HEAD), at + hit)) return true;
    }
  }
  return false;
}

/** Whether `head` (24 bytes) is a mark, wherever it says it lies. */
function isMark(head: Buffer): boolean {
  return head.readUInt32BE(20) === 0 && head.subarray(0, MARK_NAME.length).equals(MARK_NAME);
}

/** Whether `head` (24 bytes) is the mark of file offset `offset`. */
function isMarkAt(head: Buffer, offset: number): boolean {
  return isMark(head) && head.readUInt32BE(12) * 2 ** 32 + head.readUInt32BE(16) === offset;
}

/** Rewrites a log of records only (the format before marks) as the first mark, its whole records, a mark; answers the new file, open. */
function upgrade(dir: string, old: number, scan: Scan): number {
  const fd = replaceFile(dir, ATTACHMENTS_FILE, 'a+', (out) => {
    writeAll(out, ATTACHMENTS_MAGIC);
    for (let at = 0; at < scan.end; at += COPY_BLOCK) writeAll(out, readAt(old, at, Math.min(COPY_BLOCK, scan.end - at)));
    writeAll(out, attachmentsMark(ATTACHMENTS_MAGIC.length + scan.end));
  });
  try {
    fsyncDirectory(dir);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** `scan`'s index moved `by` bytes on, its end `grown` bytes on. */
function shifted(scan: Scan, by: number, grown: number): Scan {
  const index: AttachmentIndex = new Map();
  for (const [address, [offset, length]] of scan.index) index.set(address, [offset + by, length]);
  return { index, end: scan.end + grown };
}

function readAt(fd: number, position: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const read = readSync(fd, out, done, length - done, position + done);
    if (read === 0) break;
    done += read;
  }
  return done === length ? out : out.subarray(0, done);
}

/** Empty, or the start of MAGIC followed by zeros (at most MAGIC's length in all): a new log, or its first write was torn. */
function isStartOfMagic(start: Uint8Array): boolean {
  let i = 0;
  while (i < start.length && start[i] === ATTACHMENTS_MAGIC[i]) i++;
  while (i < start.length && start[i] === 0) i++;
  return i === start.length;
}

function zerosFrom(fd: number, from: number, size: number): boolean {
  const block = Buffer.alloc(64 * 1024);
  for (let at = from; at < size; at += block.length) {
    const read = readSync(fd, block, 0, Math.min(block.length, size - at), at);
    for (let i = 0; i < read; i++) if (block[i] !== 0) return false;
  }
  return true;
}
