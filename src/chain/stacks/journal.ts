/**
 * The observer's durable memory: a JSON-lines file of the blocks it accepted (identity, parent,
 * height and BNS name events; nothing else of the payload), and an append-only log of verified
 * attachments (20-byte hash, u32 length, bytes; indexed in memory by hash). Every write is
 * fsynced before the observer answers 200, so a stacks-node never drops a payload we lost. A torn
 * tail (a crash mid-append) is cut at open, in both files.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fsyncDirectory } from '../../durable-file.js';
import { AtlasError, ErrorCodes } from '../../errors.js';
import type { Logger } from '../../runtime.js';
import type { ObservedBlock } from './payloads.js';

export const JOURNAL_FILE = 'observer.jsonl';
export const ATTACHMENTS_FILE = 'attachments.log';
const RECORD_HEAD = 24;
const ADDRESS = /^[0-9a-f]{40}$/;

export class ObserverJournal {
  readonly #dir: string;
  #fd: number;
  #attachmentsFd: number;
  /** hash -> [offset of the bytes, length]; one entry per attachment stored (all announced). */
  #attachments = new Map<string, [number, number]>();
  #attachmentsEnd = 0;
  /** Bytes of whole block records in the journal: a write that fails is cut back to here. */
  #end: number;
  /** A failed write may have left part of a record past the end of a file (cut before the next write). */
  #torn = false;
  #attachmentsTorn = false;

  private constructor(dir: string, fd: number, attachmentsFd: number, logger: Logger) {
    this.#dir = dir;
    this.#fd = fd;
    this.#end = fstatSync(fd).size;
    this.#attachmentsFd = attachmentsFd;
    this.#loadAttachments(logger);
  }

  /** Opens (creating) the journal in `dir`; returns it and the blocks it holds, in order. */
  static open(dir: string, logger: Logger): { journal: ObserverJournal; blocks: ObservedBlock[] } {
    const createdDir = mkdirSync(dir, { recursive: true });
    const path = join(dir, JOURNAL_FILE);
    const attachmentsPath = join(dir, ATTACHMENTS_FILE);
    const created = !existsSync(path) || !existsSync(attachmentsPath);
    const blocks: ObservedBlock[] = [];
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      complete.split('\n').forEach((line, i) => {
        if (line === '') return;
        let block: unknown;
        try {
          block = JSON.parse(line);
        } catch (error) {
          throw new AtlasError(ErrorCodes.STORE_CORRUPT, `observer journal ${path}: line ${i + 1} is not a block record`, { line: i + 1 }, { cause: error });
        }
        if (!isBlockRecord(block)) throw new AtlasError(ErrorCodes.STORE_CORRUPT, `observer journal ${path}: line ${i + 1} is not a block record`, { line: i + 1 });
        blocks.push(block);
      });
      // Only the start of a record as append() writes it is a torn line, with or without the zeros
      // a crash can leave where an append had extended the file; anything else is somebody's data.
      const tail = text.slice(complete.length).replace(/\u0000+$/, '');
      if (tail.length > 0 && (/[\u0000-\u001f]/.test(tail) || !(RECORD_START.startsWith(tail) || tail.startsWith(RECORD_START)))) {
        throw new AtlasError(ErrorCodes.STORE_CORRUPT, `observer journal ${path}: it ends with something other than a block record`, { path });
      }
      if (complete.length < text.length) {
        // A crash mid-append leaves a line without its newline: that delivery was never answered.
        logger.warn('observer journal: dropping a torn last line', { path, bytes: Buffer.byteLength(text) - Buffer.byteLength(complete) });
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, Buffer.byteLength(complete));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
    const journal = new ObserverJournal(dir, openSync(path, 'a'), openSync(attachmentsPath, 'a+'), logger);
    try {
      // A new file's name is durable only once its directory is flushed (and a new directory's, its parent):
      // without it, a block fsynced and answered 200 could vanish with the file at a power loss.
      if (created) fsyncDirectory(dir);
      if (createdDir !== undefined) {
        const top = resolve(createdDir);
        for (let at = resolve(dir); dirname(at) !== at; at = dirname(at)) {
          fsyncDirectory(dirname(at));
          if (at === top) break;
        }
      }
    } catch (error) {
      journal.close();
      throw error;
    }
    return { journal, blocks };
  }

  /** Appends one block record and fsyncs. */
  append(block: ObservedBlock): void {
    const line = Buffer.from(`${JSON.stringify(block)}\n`, 'utf8');
    if (this.#torn) cutTo(this.#fd, this.#end);
    this.#torn = false;
    try {
      writeAll(this.#fd, line);
      fsyncSync(this.#fd);
    } catch (error) {
      // Part of the line may be written (a full disk): cut it, or the next line would be glued to it.
      this.#torn = !cutBack(this.#fd, this.#end);
      throw error;
    }
    this.#end += line.length;
  }

  /** Rewrites the journal with only `blocks` (atomic: temporary file, fsync, rename). */
  compact(blocks: readonly ObservedBlock[]): void {
    const text = blocks.map((block) => `${JSON.stringify(block)}\n`).join('');
    const fd = replaceFile(this.#dir, JOURNAL_FILE, 'a', (out) => writeAll(out, text));
    closeSync(this.#fd);
    this.#fd = fd;
    this.#end = Buffer.byteLength(text);
    this.#torn = false;
    fsyncDirectory(this.#dir);
  }

  /** Appends verified attachments not stored yet, then fsyncs once. */
  putAttachments(items: readonly { address: string; content: Uint8Array }[]): void {
    for (const { address } of items) if (!ADDRESS.test(address)) throw new AtlasError(ErrorCodes.BAD_ADDRESS, 'attachment address must be 40 lower-case hex');
    const start = this.#attachmentsEnd;
    const added: string[] = [];
    if (this.#attachmentsTorn) cutTo(this.#attachmentsFd, start);
    this.#attachmentsTorn = false;
    try {
      for (const { address, content } of items) {
        if (this.#attachments.has(address)) continue;
        const head = Buffer.alloc(RECORD_HEAD);
        head.write(address, 'hex');
        head.writeUInt32BE(content.length, 20);
        writeAll(this.#attachmentsFd, Buffer.concat([head, content]));
        this.#attachments.set(address, [this.#attachmentsEnd + RECORD_HEAD, content.length]);
        this.#attachmentsEnd += RECORD_HEAD + content.length;
        added.push(address);
      }
      if (added.length > 0) fsyncSync(this.#attachmentsFd);
    } catch (error) {
      // Part of a record may be written (a full disk): forget this call's records and cut them, or
      // the offsets of the next ones would point into the torn one.
      for (const address of added) this.#attachments.delete(address);
      this.#attachmentsEnd = start;
      this.#attachmentsTorn = !cutBack(this.#attachmentsFd, start);
      throw error;
    }
  }

  /** Bytes the attachments log holds, records and heads. */
  get attachmentBytes(): number {
    return this.#attachmentsEnd;
  }

  /** Each attachment held, as [address, byte length], in no particular order. */
  *attachmentLengths(): IterableIterator<[string, number]> {
    for (const [address, [, length]] of this.#attachments) yield [address, length];
  }

  /**
   * Rewrites the attachments log with only the attachments `keep` accepts (atomic: temporary
   * file, fsync, rename, directory fsync). Returns how many were dropped.
   */
  compactAttachments(keep: (address: string) => boolean): number {
    const kept = new Map<string, [number, number]>();
    let end = 0;
    const fd = replaceFile(this.#dir, ATTACHMENTS_FILE, 'a+', (out) => {
      for (const [address, entry] of this.#attachments) {
        if (!keep(address)) continue;
        const record = Buffer.alloc(RECORD_HEAD + entry[1]);
        readSync(this.#attachmentsFd, record, 0, record.length, entry[0] - RECORD_HEAD);
        writeAll(out, record);
        kept.set(address, [end + RECORD_HEAD, entry[1]]);
        end += record.length;
      }
    });
    const dropped = this.#attachments.size - kept.size;
    closeSync(this.#attachmentsFd);
    this.#attachmentsFd = fd;
    this.#attachments = kept;
    this.#attachmentsEnd = end;
    this.#attachmentsTorn = false;
    fsyncDirectory(this.#dir);
    return dropped;
  }

  hasAttachment(address: string): boolean {
    return this.#attachments.has(address);
  }

  getAttachment(address: string): Uint8Array | undefined {
    const entry = this.#attachments.get(address);
    if (entry === undefined) return undefined;
    const out = Buffer.alloc(entry[1]);
    readSync(this.#attachmentsFd, out, 0, entry[1], entry[0]);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Indexes the attachment log; a torn last record is cut. Contents were verified before writing. */
  #loadAttachments(logger: Logger): void {
    const size = fstatSync(this.#attachmentsFd).size;
    const head = Buffer.alloc(RECORD_HEAD);
    let offset = 0;
    while (offset + RECORD_HEAD <= size) {
      readSync(this.#attachmentsFd, head, 0, RECORD_HEAD, offset);
      const length = head.readUInt32BE(20);
      if (offset + RECORD_HEAD + length > size) break;
      this.#attachments.set(head.toString('hex', 0, 20), [offset + RECORD_HEAD, length]);
      offset += RECORD_HEAD + length;
    }
    if (offset < size) {
      logger.warn('observer journal: dropping a torn attachment record', { bytes: size - offset });
      ftruncateSync(this.#attachmentsFd, offset);
      fsyncSync(this.#attachmentsFd);
    }
    this.#attachmentsEnd = offset;
  }

  close(): void {
    closeSync(this.#fd);
    closeSync(this.#attachmentsFd);
  }
}

/** Makes a rename in `dir` durable (a crash right after would otherwise be free to undo it). */
/**
 * Replaces `dir/name` with what `write` puts in a new file (temporary file, fsync, rename) and
 * returns the new file opened with `flags`. It is opened before the rename, so the caller never
 * holds a descriptor of a replaced file: a failure before the rename changes nothing (the
 * temporary file is removed); after it, the new file is in place. The caller swaps descriptors,
 * then fsyncs the directory.
 */
function replaceFile(dir: string, name: string, flags: 'a' | 'a+', write: (fd: number) => void): number {
  const path = join(dir, name);
  const temporary = `${path}.compact`;
  let fd: number | undefined;
  let created = false;
  try {
    const out = openSync(temporary, 'w');
    created = true;
    try {
      write(out);
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
    fd = openSync(temporary, flags);
    renameSync(temporary, path);
    return fd;
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    if (created) rmSync(temporary, { force: true });
    throw error;
  }
}

/** How every record append() writes starts (ObservedBlock's first field). */
const RECORD_START = '{"indexBlockHash":"';

/** A journal line's shape: what ObserverJournal wrote, as far as replaying it needs. */
function isBlockRecord(value: unknown): value is ObservedBlock {
  if (typeof value !== 'object' || value === null) return false;
  const block = value as Partial<Record<keyof ObservedBlock, unknown>>;
  return (
    typeof block.indexBlockHash === 'string' &&
    typeof block.parentIndexBlockHash === 'string' &&
    Number.isSafeInteger(block.height) &&
    Array.isArray(block.names) &&
    block.names.every((name: unknown) => typeof name === 'object' && name !== null && typeof (name as { address?: unknown }).address === 'string' && typeof (name as { key?: unknown }).key === 'string')
  );
}

/** After a failed write: cutTo(), answering false (instead of throwing) when the cut fails too, to be done before the next write. */
function cutBack(fd: number, end: number): boolean {
  try {
    cutTo(fd, end);
    return true;
  } catch {
    return false;
  }
}

/** Truncates an open file to `end` bytes, durably. */
function cutTo(fd: number, end: number): void {
  ftruncateSync(fd, end);
  fsyncSync(fd);
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
