/**
 * The observer's durable memory: a JSON-lines file of the blocks it accepted (identity, parent,
 * height and BNS name events; nothing else of the payload), and an append-only log of verified
 * attachments (20-byte hash, u32 length, bytes; indexed in memory by hash). Every write is
 * fsynced before the observer answers 200, so a stacks-node never drops a payload we lost. A torn
 * tail (a crash mid-append) is cut at open, in both files.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
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

  private constructor(dir: string, fd: number, attachmentsFd: number, logger: Logger) {
    this.#dir = dir;
    this.#fd = fd;
    this.#attachmentsFd = attachmentsFd;
    this.#loadAttachments(logger);
  }

  /** Opens (creating) the journal in `dir`; returns it and the blocks it holds, in order. */
  static open(dir: string, logger: Logger): { journal: ObserverJournal; blocks: ObservedBlock[] } {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, JOURNAL_FILE);
    const blocks: ObservedBlock[] = [];
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      complete.split('\n').forEach((line, i) => {
        if (line === '') return;
        try {
          blocks.push(JSON.parse(line) as ObservedBlock);
        } catch (error) {
          throw new AtlasError(ErrorCodes.STORE_CORRUPT, `observer journal ${path}: line ${i + 1} is not a block record`, { line: i + 1 }, { cause: error });
        }
      });
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
    return { journal: new ObserverJournal(dir, openSync(path, 'a'), openSync(join(dir, ATTACHMENTS_FILE), 'a+'), logger), blocks };
  }

  /** Appends one block record and fsyncs. */
  append(block: ObservedBlock): void {
    writeAll(this.#fd, `${JSON.stringify(block)}\n`);
    fsyncSync(this.#fd);
  }

  /** Rewrites the journal with only `blocks` (atomic: temporary file, fsync, rename). */
  compact(blocks: readonly ObservedBlock[]): void {
    const fd = replaceFile(this.#dir, JOURNAL_FILE, 'a', (out) => writeAll(out, blocks.map((block) => `${JSON.stringify(block)}\n`).join('')));
    closeSync(this.#fd);
    this.#fd = fd;
    fsyncDirectory(this.#dir);
  }

  /** Appends verified attachments not stored yet, then fsyncs once. */
  putAttachments(items: readonly { address: string; content: Uint8Array }[]): void {
    let wrote = false;
    for (const { address, content } of items) {
      if (!ADDRESS.test(address)) throw new AtlasError(ErrorCodes.BAD_ADDRESS, 'attachment address must be 40 lower-case hex');
      if (this.#attachments.has(address)) continue;
      const head = Buffer.alloc(RECORD_HEAD);
      head.write(address, 'hex');
      head.writeUInt32BE(content.length, 20);
      writeAll(this.#attachmentsFd, Buffer.concat([head, content]));
      this.#attachments.set(address, [this.#attachmentsEnd + RECORD_HEAD, content.length]);
      this.#attachmentsEnd += RECORD_HEAD + content.length;
      wrote = true;
    }
    if (wrote) fsyncSync(this.#attachmentsFd);
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

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
