/**
 * Makes a store's directory usable before LMDB opens it, with an answer for every path: created
 * (one level at a time, durable-file.ts: Node's recursive mkdir loops forever on /proc/x), or a
 * STORE_PERMISSION error saying which directory or file cannot be created, read or written.
 * What the directory holds is judged next (lmdb-file.ts: STORE_CORRUPT).
 */
import { accessSync, constants } from 'node:fs';
import { makeDirectories, statOrUndefined } from '../durable-file.js';
import { dirname, join, resolve } from 'node:path';
import { AtlasError, ErrorCodes } from '../errors.js';
import { flushDirectory } from './file-error.js';
import { CHUNK_LOG_FILE } from './chunk-log-format.js';
import { LMDB_DATA_FILE, LMDB_LOCK_FILE } from './lmdb-file.js';

const STORE_FILES = [LMDB_DATA_FILE, LMDB_LOCK_FILE, CHUNK_LOG_FILE];

export function ensureUsableDirectory(dataDir: string): string {
  const path = resolve(dataDir);
  let created: string[];
  try {
    created = makeDirectories(path);
  } catch (error) {
    throw unusable(path, `cannot create ${(error as NodeJS.ErrnoException).path ?? path}`, error);
  }
  for (const dir of created) flushDirectory(path, dirname(dir), `cannot flush the new directory ${dir} into its parent`);
  const stat = statOrUndefined(path);
  if (stat === undefined || !stat.isDirectory()) return path; // not a directory: the store says why
  checkReadWrite(path, path);
  for (const file of STORE_FILES) {
    const filePath = join(path, file);
    if (statOrUndefined(filePath)?.isFile()) checkReadWrite(path, filePath);
  }
  return path;
}

function checkReadWrite(dataDir: string, path: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw unusable(dataDir, `cannot read and write ${path}`, error);
  }
}

function unusable(dataDir: string, what: string, error: unknown): AtlasError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return new AtlasError(ErrorCodes.STORE_PERMISSION, `data directory ${dataDir} is not usable: ${what} (${code ?? String(error)})`, { path: dataDir, errno: code }, { cause: error });
}
