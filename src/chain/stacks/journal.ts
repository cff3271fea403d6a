/**
 * The observer's durable memory: a JSON-lines file of the blocks it accepted (identity, parent,
 * height and BNS name events; nothing else of the payload), and the log of verified attachments
 * (attachments-log.ts). Every write is fsynced before the observer answers 200, so a stacks-node
 * never drops a payload we lost. A torn tail (a crash mid-append) is cut at open, in both files;
 * a file that is not ours is refused and left as it was.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fsyncDirectory, makeDirectories } from '../../durable-file.js';
import { AtlasError, ErrorCodes } from '../../errors.js';
import type { Logger } from '../../runtime.js';
import { ATTACHMENTS_FILE, AttachmentsLog } from './attachments-log.js';
import { cutBack, cutTo, replaceFile, writeAll } from './journal-files.js';
import { MAX_JOURNAL_LINE, readJournalLines } from './journal-lines.js';
import type { ObservedBlock } from './payloads.js';

export { ATTACHMENTS_FILE } from './attachments-log.js';
export const JOURNAL_FILE = 'observer.jsonl';

/**
 * What opening a journal created: the topmost folder it made (holding nothing else), or, in a
 * folder that was there, the files it made. An open that fails afterwards (the observer's listen
 * address taken) removes them, and nothing that was there before.
 */
export interface JournalFootprint {
  readonly dir?: string;
  readonly files: readonly string[];
}

export class ObserverJournal {
  /** What this open created (see JournalFootprint): undoCreated() removes it. */
  readonly created: JournalFootprint;
  readonly #dir: string;
  #fd: number;
  readonly #attachments: AttachmentsLog;
  /** Bytes of whole block records in the journal: a write that fails is cut back to here. */
  #end: number;
  /** A failed write may have left part of a record past the end of the file (cut before the next write). */
  #torn = false;
  #records: number;

  private constructor(dir: string, fd: number, attachments: AttachmentsLog, records: number, created: JournalFootprint) {
    this.created = created;
    this.#dir = dir;
    this.#fd = fd;
    this.#end = fstatSync(fd).size;
    this.#attachments = attachments;
    this.#records = records;
  }

  /** Block records in the journal (what a compaction would drop is judged against it). */
  get records(): number {
    return this.#records;
  }

  /**
   * Opens (creating) the journal in `dir`, handing each block it holds to `onBlock`, in order, as
   * it is read (the journal is never held whole); returns it. `maxAttachmentBytes`: the
   * observer's (AttachmentsLog.open).
   */
  static open(dir: string, logger: Logger, maxAttachmentBytes: number, onBlock: (block: ObservedBlock) => void): ObserverJournal {
    const createdDir = makeDirectories(dir)[0];
    const path = join(dir, JOURNAL_FILE);
    const attachmentsPath = join(dir, ATTACHMENTS_FILE);
    const footprint: JournalFootprint =
      createdDir !== undefined ? { dir: createdDir, files: [] } : { files: [path, attachmentsPath].filter((file) => !existsSync(file)) };
    try {
      return ObserverJournal.#open(dir, path, footprint, logger, maxAttachmentBytes, onBlock);
    } catch (error) {
      undoFootprint(footprint);
      throw error;
    }
  }

  static #open(dir: string, path: string, footprint: JournalFootprint, logger: Logger, maxAttachmentBytes: number, onBlock: (block: ObservedBlock) => void): ObserverJournal {
    const createdDir = footprint.dir;
    const created = createdDir !== undefined || footprint.files.length > 0;
    let records = 0;
    if (existsSync(path)) {
      // A line holding zero bytes is a page of an append that never reached the disk (a power
      // loss writes an append's pages in any order): torn when nothing follows it, damage otherwise.
      let holed: { offset: number; number: number; text: string } | undefined;
      const tail = readJournalLines(path, (line, number, offset) => {
        if (holed !== undefined) throw notARecord(path, holed.number);
        if (line === '') return;
        if (line.includes('\u0000')) {
          holed = { offset, number, text: line };
          return;
        }
        onBlock(blockRecord(line, number, path));
        records++;
      });
      const tailText = tail.bytes.toString('utf8');
      // A hole is a torn append only after records of ours, in bytes append() writes (printable
      // JSON), with nothing but zeros after it: a file of somebody else's is never cut.
      if (holed !== undefined && !(records > 0 && isPrintable(holed.text) && /^\u0000*$/.test(tailText))) throw notARecord(path, holed.number);
      // Only the start of a record as append() writes it is a torn line, with or without the zeros
      // a crash can leave where an append had extended the file; or, after records of ours, the
      // rest of one whose first page was lost to zeros. Anything else is somebody's data.
      const torn = tailText.replace(/\u0000+$/, '');
      const lostFirstPage = records > 0 && tail.bytes.length > 0 && tail.bytes[0] === 0 && isPrintable(tailText);
      if (holed === undefined && !lostFirstPage && torn.length > 0 && (/[\u0000-\u001f]/.test(torn) || !(RECORD_START.startsWith(torn) || torn.startsWith(RECORD_START)))) {
        throw new AtlasError(ErrorCodes.STORE_CORRUPT, `observer journal ${path}: it ends with something other than a block record`, { path });
      }
      const cutAt = holed?.offset ?? tail.offset;
      if (holed !== undefined || tail.bytes.length > 0) {
        // A crash mid-append leaves a line without its newline, or with a hole: that delivery was never answered.
        logger.warn('observer journal: dropping a torn last line', { path, bytes: tail.offset + tail.bytes.length - cutAt });
        const fd = openSync(path, 'r+');
        try {
          ftruncateSync(fd, cutAt);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
    }
    // The attachments log before the journal is opened for appending: one that is not ours stops
    // the open before a new journal file is created.
    const attachments = AttachmentsLog.open(dir, logger, maxAttachmentBytes);
    let fd: number;
    try {
      fd = openSync(path, 'a');
    } catch (error) {
      attachments.close();
      throw error;
    }
    const journal = new ObserverJournal(dir, fd, attachments, records, footprint);
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
    return journal;
  }

  /** Closes the journal and removes what its open created (for an open that fails after it): call before anything is written. */
  undoCreated(): void {
    this.close();
    undoFootprint(this.created);
  }

  /** Appends one block record and fsyncs; TOO_LARGE for a record longer than the journal reads back (MAX_JOURNAL_LINE). */
  append(block: ObservedBlock): void {
    const line = Buffer.from(`${JSON.stringify(block)}\n`, 'utf8');
    if (line.length > MAX_JOURNAL_LINE) throw new AtlasError(ErrorCodes.TOO_LARGE, `a block record of ${line.length} bytes is longer than the journal reads back (${MAX_JOURNAL_LINE})`, { bytes: line.length });
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
    this.#records++;
  }

  /** Rewrites the journal with only `blocks` (atomic: temporary file, fsync, rename). */
  compact(blocks: readonly ObservedBlock[]): void {
    let bytes = 0;
    const fd = replaceFile(this.#dir, JOURNAL_FILE, 'a', (out) => {
      // Written COMPACT_BATCH records at a time: one string of them all would cap what is retained at what a string holds.
      for (let from = 0; from < blocks.length; from += COMPACT_BATCH) {
        const piece = Buffer.from(blocks.slice(from, from + COMPACT_BATCH).map((block) => `${JSON.stringify(block)}\n`).join(''), 'utf8');
        writeAll(out, piece);
        bytes += piece.length;
      }
    });
    closeSync(this.#fd);
    this.#fd = fd;
    this.#end = bytes;
    this.#records = blocks.length;
    this.#torn = false;
    fsyncDirectory(this.#dir);
  }

  /** The verified attachments (zone files) the observer keeps. */
  get attachments(): AttachmentsLog {
    return this.#attachments;
  }

  close(): void {
    closeSync(this.#fd);
    this.#attachments.close();
  }
}

/** Records a compaction turns into text at a time. */
const COMPACT_BATCH = 10_000;

/** How every record append() writes starts (ObservedBlock's first field). */
const RECORD_START = '{"indexBlockHash":"';

/** Text that is, zeros apart, what append() writes: printable ASCII (JSON of block records). */
function isPrintable(text: string): boolean {
  return /^[\u0020-\u007e]*$/.test(text.replace(/\u0000+/g, ''));
}

function notARecord(path: string, line: number, cause?: unknown): AtlasError {
  return new AtlasError(ErrorCodes.STORE_CORRUPT, `observer journal ${path}: line ${line} is not a block record`, { line }, cause === undefined ? undefined : { cause });
}

/** Line `number` of the journal at `path`, read as a block record; STORE_CORRUPT when it is not one. */
function blockRecord(line: string, number: number, path: string): ObservedBlock {
  let block: unknown;
  try {
    block = JSON.parse(line);
  } catch (error) {
    throw notARecord(path, number, error);
  }
  if (!isBlockRecord(block)) throw notARecord(path, number);
  return block;
}

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

function undoFootprint(footprint: JournalFootprint): void {
  if (footprint.dir !== undefined) rmSync(footprint.dir, { recursive: true, force: true });
  for (const file of footprint.files) rmSync(file, { force: true });
}
