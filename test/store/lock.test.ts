import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { STORE_LOCK_FILE, acquireStoreLock, readStoreLock } from '../../src/store/lock.js';
import { announcementsFor, addressOf, chunkOf, expectCode } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-lock-test-'));
let counter = 0;
const freshPath = () => join(root, `store-${counter++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));
const ROOT = join(import.meta.dirname, '..', '..');

interface OpenOutcome {
  opened: boolean;
  pid?: number;
  code?: string;
  message?: string;
  details?: { holderPid?: number };
}

/** Opens the store in another process. */
function openInChild(path: string): Promise<OpenOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'open-store.ts'), path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (text: Buffer) => (out += text.toString()));
    child.stderr.on('data', (text: Buffer) => (err += text.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as OpenOutcome);
    });
  });
}

/** A pid that no process has any more. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(result.stdout.toString());
}

describe('LmdbChunkStore: one process per data folder', () => {
  it('refuses a second process with BUSY naming the holder, and lets it in once the holder closed', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ path });
    expect(readStoreLock(path)).toEqual({ pid: process.pid, host: hostname() });
    const refused = await openInChild(path);
    expect(refused.opened).toBe(false);
    expect(refused.code).toBe('BUSY');
    expect(refused.details?.holderPid).toBe(process.pid);
    expect(refused.message).toContain(`process ${process.pid}`);
    await store.close();
    expect(existsSync(join(path, STORE_LOCK_FILE))).toBe(false);
    const admitted = await openInChild(path);
    expect(admitted.opened).toBe(true);
  }, 30_000);

  it('takes over the stale lock of a dead process, and a lock file of garbage', async () => {
    const path = freshPath();
    await (await LmdbChunkStore.open({ path })).close();
    const dead = deadPid();
    for (const stale of [`${JSON.stringify({ pid: dead, host: hostname() })}\n`, 'not a lock\n', '']) {
      writeFileSync(join(path, STORE_LOCK_FILE), stale);
      const store = await LmdbChunkStore.open({ path });
      expect(readStoreLock(path)?.pid).toBe(process.pid);
      await store.close();
    }
  });

  it('keeps the data when it refuses: the holder goes on writing', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ path });
    const chunk = chunkOf('held while another process knocks');
    await store.append(announcementsFor([addressOf(chunk)], 0));
    await store.put(chunk);
    expect((await openInChild(path)).code).toBe('BUSY');
    await store.close();
    const reopened = await LmdbChunkStore.open({ path });
    expect(reopened.has(addressOf(chunk))).toBe(true);
    await reopened.close();
  }, 30_000);
});

describe('LmdbChunkStore: a 0-byte data file', () => {
  it('is refused with STORE_CORRUPT and left as it is, unless acceptEmptyDataFile asks for a new store', async () => {
    const path = freshPath();
    mkdirSync(path);
    writeFileSync(join(path, 'data.mdb'), '');
    await expectCode(LmdbChunkStore.open({ path }), 'STORE_CORRUPT');
    expect(readFileSync(join(path, 'data.mdb')).length).toBe(0);
    expect(existsSync(join(path, STORE_LOCK_FILE))).toBe(false);
    const store = await LmdbChunkStore.open({ path, acceptEmptyDataFile: true });
    expect(store.sequenceLength()).toBe(0);
    await store.close();
  });
});

describe('acquireStoreLock: a lock naming a live pid of this host', () => {
  it('answers BUSY naming the holder and the lock file to remove if that pid is no atlas process, and leaves the lock', () => {
    const path = freshPath();
    mkdirSync(path);
    // Our own pid: what a container restarted after a kill finds, running as pid 1 again.
    const lock = `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`;
    writeFileSync(join(path, STORE_LOCK_FILE), lock);
    let error: { code?: string; message?: string; details?: { holderPid?: number; holderHost?: string } } | undefined;
    try {
      acquireStoreLock(path);
    } catch (caught) {
      error = caught as typeof error;
    }
    expect(error?.code).toBe('BUSY');
    expect(error?.details).toMatchObject({ holderPid: process.pid, holderHost: hostname() });
    expect(error?.message).toContain(`in use by process ${process.pid} on ${hostname()} (lock file ${join(path, STORE_LOCK_FILE)})`);
    expect(error?.message).toContain(`if no atlas process is running on ${hostname()} (a container that was killed can leave its pid behind), remove ${join(path, STORE_LOCK_FILE)}`);
    expect(readFileSync(join(path, STORE_LOCK_FILE), 'utf8')).toBe(lock);
  });
});

describe('LmdbChunkStore: a store another process is creating', () => {
  it('answers BUSY naming the holder, not STORE_CORRUPT, while the holder has not yet written its data file, and touches nothing', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      const pid = holder.pid as number;
      // What the holder's directory holds between taking the lock and LMDB writing its meta pages:
      // the lock, and data.mdb created but still empty (or only partly written).
      for (const data of [Buffer.alloc(0), Buffer.alloc(100, 0xde)]) {
        const path = freshPath();
        mkdirSync(path);
        const lock = `${JSON.stringify({ pid, host: hostname() })}\n`;
        writeFileSync(join(path, STORE_LOCK_FILE), lock);
        writeFileSync(join(path, 'data.mdb'), data);
        const error = await LmdbChunkStore.open({ path }).then(
          () => undefined,
          (caught: unknown) => caught as { code?: string; details?: { holderPid?: number } },
        );
        expect(error?.code).toBe('BUSY');
        expect(error?.details?.holderPid).toBe(pid);
        expect(readFileSync(join(path, STORE_LOCK_FILE), 'utf8')).toBe(lock);
        expect(readFileSync(join(path, 'data.mdb')).equals(data)).toBe(true);
      }
    } finally {
      holder.kill();
    }
  });
});

describe('LmdbChunkStore: a lock that cannot be written', () => {
  it.skipIf(!existsSync('/dev/full'))('answers STORE_IO naming the errno when the disk is full, leaves no lock and no temporary file, and opens once there is room', async () => {
    const path = freshPath();
    mkdirSync(path);
    // The lock's private name points at /dev/full: every write there fails with ENOSPC.
    const temp = join(path, `${STORE_LOCK_FILE}.${process.pid}.tmp`);
    symlinkSync('/dev/full', temp);
    const error = await LmdbChunkStore.open({ path }).then(
      () => undefined,
      (failure: unknown) => failure as { code?: string; details?: { errno?: string } },
    );
    expect(error?.code).toBe('STORE_IO');
    expect(error?.details?.errno).toBe('ENOSPC');
    expect(readdirSync(path).filter((name) => name.startsWith(STORE_LOCK_FILE))).toEqual([]);
    const store = await LmdbChunkStore.open({ path });
    await store.close();
  });
});
