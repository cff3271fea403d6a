/** Reading chunk files named on the command line, bounded and checked before anything is sent; writing a fetched one. */
import { open, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_MAX_CHUNK_SIZE } from '../store/types.js';
import { CliError } from './errors.js';

export interface ChunkFile {
  file: string;
  data: Uint8Array;
}

/** Reads each file whole; a missing, empty or oversized file is one clear error and nothing is read further. */
export async function readChunkFiles(files: readonly string[], maxChunkSize: number = DEFAULT_MAX_CHUNK_SIZE): Promise<ChunkFile[]> {
  const out: ChunkFile[] = [];
  for (const file of files) out.push({ file, data: await readChunkFile(file, maxChunkSize) });
  return out;
}

async function readChunkFile(file: string, maxChunkSize: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${describeFsError(error)}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new CliError(`${file}: not a regular file`);
    if (stat.size === 0) throw new CliError(`${file}: empty (a chunk is 1 to ${maxChunkSize} bytes)`);
    if (stat.size > maxChunkSize) throw new CliError(`${file}: ${stat.size} bytes, larger than the ${maxChunkSize}-byte chunk limit`);
    const data = Buffer.alloc(stat.size);
    const { bytesRead } = await handle.read(data, 0, stat.size, 0);
    return data.subarray(0, bytesRead);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${file}: ${describeFsError(error)}`);
  } finally {
    await handle.close();
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ?? (error as Error).message;
  }
}

/**
 * Writes `data` to `file` whole or not at all: into a new file beside it, renamed over it once
 * written, so a write that fails part-way (disk full, file size limit) leaves `file` as it was,
 * never cut short (a kill at that moment may leave the temporary file beside it, never a cut
 * `file`). A path that is not a regular file (/dev/stdout, a pipe) is written as is.
 */
export async function writeWholeFile(file: string, data: Uint8Array): Promise<void> {
  const existing = await stat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (existing !== undefined && !existing.isFile()) {
    await writeFile(file, data);
    return;
  }
  // Through a symbolic link, the file it points to is replaced, not the link.
  const target = existing === undefined ? file : await realpath(file);
  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.atlas-tmp`);
  try {
    await writeFile(temporary, data, { flag: 'wx', ...(existing !== undefined ? { mode: existing.mode & 0o777 } : {}) });
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}
