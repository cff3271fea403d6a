/**
 * Files and directories made to exist for good: shared by the Stacks observer's journal, the dev
 * chain's file and the store.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Flushes `dir` itself, so that a file just created (or renamed) in it survives a power loss: a
 * file's own fsync makes its bytes durable, not its directory entry.
 */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates `dir` and its missing parents one level at a time: Node's recursive mkdir loops for
 * ever on some paths (/proc/x, /sys/x), where this fails at once. Answers the directories it
 * created, outermost first (none when `dir` existed). A level that cannot be created throws its
 * fs error, whose `path` names that level.
 */
export function makeDirectories(dir: string): string[] {
  const missing: string[] = [];
  for (let at = resolve(dir); !exists(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  const created: string[] = [];
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && statOrUndefined(level)?.isDirectory()) continue;
      throw error;
    }
    created.push(level);
  }
  return created;
}

function exists(path: string): boolean {
  return statOrUndefined(path) !== undefined;
}

/** `path`'s stat, or undefined when there is nothing there (or it cannot be reached: creating it then says why). */
export function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // e.g. ENOTDIR: treated as absent, and creating it then says why
  }
}
