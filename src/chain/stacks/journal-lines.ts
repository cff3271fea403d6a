/**
 * Reading a JSON-lines journal a piece at a time: one string of the whole file would cap the
 * journal at what a string holds (about 512 MiB, some 2.5 million blocks) and hold all of it in
 * memory at once.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { AtlasError, ErrorCodes } from '../../errors.js';

/** The longest line read: far above any block record (maxNameEventsPerBlock events of a few hundred bytes). */
export const MAX_JOURNAL_LINE = 64 * 1024 * 1024;
const PIECE = 1024 * 1024;
const NEWLINE = 0x0a;

/** What follows the last whole line: its bytes (a torn append, or someone's data) and where it starts. */
export interface JournalTail {
  bytes: Buffer;
  offset: number;
}

/**
 * Calls `onLine` with each whole line of `path` (its text without the newline, its number from 1,
 * and the offset it starts at), in order; answers what follows the last newline. STORE_CORRUPT for a line longer than
 * MAX_JOURNAL_LINE, STORE_IO when the file cannot be read.
 */
export function readJournalLines(path: string, onLine: (line: string, number: number, offset: number) => void): JournalTail {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const size = fstatSync(fd).size;
    const piece = Buffer.allocUnsafe(PIECE);
    // The start of a line read in earlier pieces (copied: `piece` is read into again), joined once its end is read.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let lineAt = 0;
    let number = 0;
    for (let offset = 0; offset < size; ) {
      const got = readSync(fd, piece, 0, Math.min(PIECE, size - offset), offset);
      if (got === 0) break; // the file shrank under us: what was read is what there is
      let start = 0;
      for (let end = piece.indexOf(NEWLINE); end !== -1 && end < got; end = piece.indexOf(NEWLINE, start)) {
        const line = pendingBytes === 0 ? piece.toString('utf8', start, end) : Buffer.concat([...pending, piece.subarray(start, end)]).toString('utf8');
        pending = [];
        pendingBytes = 0;
        onLine(line, ++number, lineAt);
        start = end + 1;
        lineAt = offset + start;
      }
      if (start < got) {
        pending.push(Buffer.from(piece.subarray(start, got)));
        pendingBytes += got - start;
        if (pendingBytes > MAX_JOURNAL_LINE) {
          throw new AtlasError(ErrorCodes.STORE_CORRUPT, `journal ${path}: line ${number + 1} is longer than ${MAX_JOURNAL_LINE} bytes, which no record is`, { path, line: number + 1 });
        }
      }
      offset += got;
    }
    return { bytes: Buffer.concat(pending), offset: lineAt };
  } catch (error) {
    throw error instanceof AtlasError ? error : unreadable(path, error);
  } finally {
    closeSync(fd);
  }
}

function unreadable(path: string, error: unknown): AtlasError {
  const errno = (error as NodeJS.ErrnoException).code;
  return new AtlasError(ErrorCodes.STORE_IO, `cannot read the journal ${path}: ${errno ?? (error as Error).message}`, { path, ...(errno === undefined ? {} : { errno }) }, { cause: error });
}
