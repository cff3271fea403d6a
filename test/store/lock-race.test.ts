/**
 * Taking over a stale store lock while another process does the same: whatever the interleaving,
 * at most one of them holds the lock. The other process is played by a hook that, at the worst
 * moment (just before we remove what we judged stale), takes the stale lock over itself.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const { acquireStoreLock, STORE_LOCK_FILE } = await import('../../src/store/lock.js');

const root = mkdtempSync(join(tmpdir(), 'atlasnet-lock-race-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('acquireStoreLock against a concurrent takeover', () => {
  it('never removes the lock another process took over between our check and our removal', () => {
    const dir = join(root, 'a');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const path = join(dir, STORE_LOCK_FILE);
    // A lock left by a process that is gone (pid 2^31 - 2 is not running).
    writeFileSync(path, `${JSON.stringify({ pid: 2_147_483_646, host: hostname() })}\n`);
    // The other process: alive (our parent), it takes the stale lock over at the worst moment.
    const theirs = `${JSON.stringify({ pid: process.ppid, host: hostname() })}\n`;
    race.before = (lockPath) => {
      race.before = undefined;
      rmSync(lockPath);
      writeFileSync(lockPath, theirs);
    };
    expect(() => acquireStoreLock(dir)).toThrow(expect.objectContaining({ code: 'BUSY' }));
    expect(readFileSync(path, 'utf8')).toBe(theirs);
    expect(existsSync(join(dir, `${STORE_LOCK_FILE}.${process.pid}.stale.tmp`))).toBe(false);
  });
});
