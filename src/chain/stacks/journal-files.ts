/** File steps the observer's two logs share: whole writes, durable cuts, atomic replacement. */
import { closeSync, fsyncSync, ftruncateSync, lstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AtlasError, ErrorCodes } from '../../errors.js';

/**
 * Replaces `dir/name` with what `write` puts in a new file (temporary file, fsync, rename) and
 * returns the new file opened with `flags`. It is opened before the rename, so the caller never
 * holds a descriptor of a replaced file: a failure before the rename changes nothing (the
 * temporary file is removed); after it, the new file is in place. The caller swaps descriptors,
 * then fsyncs the directory.
 */
export function replaceFile(dir: string, name: string, flags: 'a' | 'a+', write: (fd: number) => void): number {
  const path = join(dir, name);
  const temporary = `${path}.compact`;
  let fd: number | undefined;
  let created = false;
  try {
    const out = openNew(temporary);
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

/**
 * Creates `path` for writing, never opening what is there: a regular file there is a compaction's
 * leftover (killed before its rename), removed; anything else (a link, a folder) is not ours to
 * touch, and refused. Opening it with 'w' would have followed a link and truncated its target.
 */
function openNew(path: string): number {
  try {
    return openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (!lstatSync(path).isFile()) throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is in the way of a compaction and is not a file the observer left: move it away`, { path });
  rmSync(path);
  return openSync(path, 'wx');
}

/** After a failed write: cutTo(), answering false (instead of throwing) when the cut fails too, to be done before the next write. */
export function cutBack(fd: number, end: number): boolean {
  try {
    cutTo(fd, end);
    return true;
  } catch {
    return false;
  }
}

/** Truncates an open file to `end` bytes, durably. */
export function cutTo(fd: number, end: number): void {
  ftruncateSync(fd, end);
  fsyncSync(fd);
}

export function writeAll(fd: number, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}
