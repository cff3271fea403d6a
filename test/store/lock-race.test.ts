/**
 * Taking over a stale store lock while other processes may do the same: only the holder of the
 * takeover file removes a stale lock, so no process removes a lock another has just taken over.
 * The other process is played by a hook at the worst moment (just before we remove the stale
 * lock) and by takeover files left in place.
 */
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

/** Called with the lock's path just before we unlink or rename it away. */
const race = { before: undefined as ((path: string) => void) | undefined };
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const hooked = (path: unknown) => {
    if (typeof path === 'string' && path.endsWith('atlas.lock')) race.before?.(path);
  };
  const unlinkSync = ((path: string) => {
    hooked(path);
    return actual.unlinkSync(path);
  }) as typeof actual.unlinkSync;
  const renameSync = ((from: string, to: string) => {
    hooked(from);
    return actual.renameSync(from, to);
  }) as typeof actual.renameSync;
  return { ...actual, unlinkSync, renameSync, default: { ...actual, unlinkSync, renameSync } };
});

const { acquireStoreLock, STORE_LOCK_FILE, STORE_LOCK_TAKEOVER } = await import('../../src/store/lock.js');

const root = mkdtempSync(join(tmpdir(), 'atlasnet-lock-race-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A lock of a process that is gone (pid 2^31 - 2 is never running) and one of a live process (our parent). */
const dead = `${JSON.stringify({ pid: 2_147_483_646, host: hostname() })}\n`;
const live = `${JSON.stringify({ pid: process.ppid, host: hostname() })}\n`;

function storeDir(name: string, takeover?: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  writeFileSync(join(dir, STORE_LOCK_FILE), dead);
  if (takeover !== undefined) writeFileSync(join(dir, STORE_LOCK_TAKEOVER), takeover);
  return dir;
}

describe('acquireStoreLock against concurrent takeovers', () => {
  it('holds the takeover file while it removes the stale lock: another process cannot start removing it then', () => {
    const dir = storeDir('a');
    const outcomes: string[] = [];
    race.before = () => {
      race.before = undefined;
      const theirs = join(dir, 'their-temp');
      writeFileSync(theirs, live);
      try {
        linkSync(theirs, join(dir, STORE_LOCK_TAKEOVER));
        outcomes.push('took the takeover file');
      } catch (error) {
        outcomes.push((error as NodeJS.ErrnoException).code ?? 'error');
      }
      rmSync(theirs);
    };
    const lock = acquireStoreLock(dir);
    expect(outcomes).toEqual(['EEXIST']);
    expect(readFileSync(join(dir, STORE_LOCK_FILE), 'utf8')).toContain(`"pid":${process.pid}`);
    expect(existsSync(join(dir, STORE_LOCK_TAKEOVER))).toBe(false);
    lock.release();
  });

  it('leaves a stale lock alone while a live process holds the takeover file, and answers BUSY', () => {
    const dir = storeDir('b', live);
    expect(() => acquireStoreLock(dir)).toThrow(expect.objectContaining({ code: 'BUSY' }));
    expect(readFileSync(join(dir, STORE_LOCK_FILE), 'utf8')).toBe(dead);
    expect(readFileSync(join(dir, STORE_LOCK_TAKEOVER), 'utf8')).toBe(live);
  });

  it('reports a takeover file left by a process that died holding it, naming it, and removes nothing', () => {
    // Removing it here would reopen the gap one file up: two processes finding it could both remove
    // it, the second removing the first's new one, and both then remove the stale lock in turn.
    const dir = storeDir('c', dead);
    const takeover = join(dir, STORE_LOCK_TAKEOVER);
    expect(() => acquireStoreLock(dir)).toThrow(expect.objectContaining({ code: 'BUSY', message: expect.stringContaining(takeover) }));
    expect(readFileSync(join(dir, STORE_LOCK_FILE), 'utf8')).toBe(dead);
    expect(readFileSync(takeover, 'utf8')).toBe(dead);
    // Once an operator removed it, the stale lock is taken over.
    rmSync(takeover);
    const lock = acquireStoreLock(dir);
    expect(readFileSync(join(dir, STORE_LOCK_FILE), 'utf8')).toContain(`"pid":${process.pid}`);
    lock.release();
    expect(existsSync(join(dir, STORE_LOCK_FILE))).toBe(false);
  });
});
