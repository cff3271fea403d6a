/**
 * The observer's durable memory: a JSON-lines file of the blocks it accepted (identity, parent,
 * height and BNS name events; nothing else of the payload), and a folder of verified attachments
 * named by their hash. Every write is fsynced before the observer answers 200, so a stacks-node
 * never drops a payload we lost. A torn last line (a crash mid-append) is cut at open.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { AtlasError, ErrorCodes } from '../../errors.js';
import type { Logger } from '../../runtime.js';
import type { ObservedBlock } from './payloads.js';

export const JOURNAL_FILE = 'observer.jsonl';
export const ATTACHMENTS_DIR = 'attachments';
const ADDRESS = /^[0-9a-f]{40}$/;

export class ObserverJournal {
  readonly #dir: string;
  #fd: number;

  private constructor(dir: string, fd: number) {
    this.#dir = dir;
    this.#fd = fd;
  }

  /** Opens (creating) the journal in `dir`; returns it and the blocks it holds, in order. */
  static open(dir: string, logger: Logger): { journal: ObserverJournal; blocks: ObservedBlock[] } {
    mkdirSync(join(dir, ATTACHMENTS_DIR), { recursive: true });
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
    return { journal: new ObserverJournal(dir, openSync(path, 'a')), blocks };
  }

  /** Appends one block record and fsyncs. */
  append(block: ObservedBlock): void {
    writeAll(this.#fd, `${JSON.stringify(block)}\n`);
    fsyncSync(this.#fd);
  }

  /** Rewrites the journal with only `blocks` (atomic: temporary file, fsync, rename). */
  compact(blocks: readonly ObservedBlock[]): void {
    const path = join(this.#dir, JOURNAL_FILE);
    const temporary = `${path}.compact`;
    const fd = openSync(temporary, 'w');
    try {
      writeAll(fd, blocks.map((block) => `${JSON.stringify(block)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    closeSync(this.#fd);
    renameSync(temporary, path);
    this.#fd = openSync(path, 'a');
  }

  /** Stores verified attachment bytes under their hash (temporary file, fsync, rename). */
  putAttachment(address: string, content: Uint8Array): void {
    if (!ADDRESS.test(address)) throw new AtlasError(ErrorCodes.BAD_ADDRESS, 'attachment address must be 40 lower-case hex');
    const path = join(this.#dir, ATTACHMENTS_DIR, address);
    if (existsSync(path)) return;
    const temporary = `${path}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      writeAll(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  }

  getAttachment(address: string): Uint8Array | undefined {
    if (!ADDRESS.test(address)) return undefined;
    const path = join(this.#dir, ATTACHMENTS_DIR, address);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : undefined;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
