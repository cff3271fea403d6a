/** Making a new file's name durable: shared by the Stacks observer's journal and the chunk log. */
import { closeSync, fsyncSync, openSync } from 'node:fs';

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
