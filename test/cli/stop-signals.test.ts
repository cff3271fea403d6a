/**
 * Signals while a command holds a store:
 * - `atlas node` stopped while it is still opening its store finishes opening, then closes the
 *   store (its lock file removed) and exits 0, as on a signal once it runs; it does not exit at
 *   once with the store open and its lock left behind;
 * - `atlas check` stopped while its child scans ends that child too, instead of leaving it running
 *   on its own with the store's lock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { atlasCommand, errorLines, ROOT, startAtlasNode } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'atlas-node-start-signal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A DevChain of `count` announcements: applying them keeps the node's open busy for a while. */
function writeChain(path: string, count: number): void {
  const fd = openSync(path, 'w');
  let text = '';
  for (let position = 0; position < count; position++) {
    text += `${JSON.stringify({ position, address: createHash('sha1').update(String(position)).digest('hex') })}\n`;
    if (text.length > 1 << 20) {
      writeSync(fd, text);
      text = '';
    }
  }
  writeSync(fd, text);
  closeSync(fd);
}

interface Attempt {
  code: number | null;
  stderr: string;
  /** Whether the node had logged `listening` when the signal was sent. */
  listeningAtSignal: boolean;
  lockLeft: boolean;
}

/** Starts a node on a fresh data dir, sends `signal` as soon as its store lock exists, waits for the exit. */
function signalDuringOpen(chain: string, dataDir: string, signal: NodeJS.Signals): Promise<Attempt> {
  const { command, args } = atlasCommand(['node', '--json', '-d', dataDir, '-l', '127.0.0.1:0', '-c', chain]);
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lock = join(dataDir, 'store', 'atlas.lock');
  let listeningAtSignal = false;
  const poll = setInterval(() => {
    if (!existsSync(lock)) return;
    clearInterval(poll);
    listeningAtSignal = stderr.includes('"msg":"listening"');
    child.kill(signal);
  }, 5);
  return whenClosed(child, poll, () => `atlas node did not exit\n${stderr}`, (code) => ({ code, stderr, listeningAtSignal, lockLeft: existsSync(lock) }));
}

describe('atlas node stopped while starting', () => {
  it('closes the store it was opening and exits 0 on SIGTERM', async () => {
    const chain = join(dir, 'chain.jsonl');
    writeChain(chain, 200_000);
    let attempt: Attempt | undefined;
    // The signal must land while the store is open and the node not yet listening; on a machine
    // fast enough to start in between two polls, try again (at most three times).
    for (let i = 0; i < 3; i++) {
      attempt = await signalDuringOpen(chain, join(dir, `node-${i}`), 'SIGTERM');
      if (!attempt.listeningAtSignal) break;
    }
    expect(attempt?.listeningAtSignal, 'the node was always listening before the signal').toBe(false);
    expect(attempt?.code, attempt?.stderr).toBe(0);
    expect(attempt?.lockLeft).toBe(false);
    expect(attempt?.stderr).toContain('"msg":"stopped"');
  }, 120_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface CheckAttempt {
  code: number | null;
  stderr: string;
  /** The scanning child, from the store's lock file, when the signal was sent. */
  worker: number | undefined;
  workerAliveAfterExit: boolean;
}

/** Runs `atlas check` on `store`, sends SIGTERM once its child holds the store's lock, waits for the exit. */
function signalDuringCheck(store: string): Promise<CheckAttempt> {
  const { command, args } = atlasCommand(['check', store]);
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lock = join(store, 'atlas.lock');
  let worker: number | undefined;
  const poll = setInterval(() => {
    if (!existsSync(lock)) return;
    try {
      worker = (JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid;
    } catch {
      return; // being written or removed
    }
    clearInterval(poll);
    child.kill('SIGTERM');
  }, 5);
  return whenClosed(child, poll, () => `atlas check did not exit\n${stderr}`, (code) => ({ code, stderr, worker, workerAliveAfterExit: worker !== undefined && isAlive(worker) }));
}

describe('atlas check stopped while it scans', () => {
  it('ends its scanning child and exits 143 in one line on SIGTERM', async () => {
    const chain = join(dir, 'check-chain.jsonl');
    writeChain(chain, 200_000);
    const data = join(dir, 'checked');
    const node = await startAtlasNode(['-d', data, '-l', '127.0.0.1:0', '-c', chain], 60_000);
    expect((await node.stop('SIGTERM')).code).toBe(0);
    let attempt: CheckAttempt | undefined;
    // The signal must land while the child scans; should a scan end in between two polls, try again.
    for (let i = 0; i < 3; i++) {
      attempt = await signalDuringCheck(join(data, 'store'));
      if (attempt.code !== 0) break;
    }
    try {
      expect(attempt?.worker).toBeDefined();
      expect(attempt?.code, attempt?.stderr).toBe(143);
      expect(errorLines(attempt?.stderr ?? '')).toEqual([expect.stringMatching(/^atlas: interrupted by SIGTERM/)]);
      expect(attempt?.workerAliveAfterExit).toBe(false);
    } finally {
      if (attempt?.worker !== undefined && isAlive(attempt.worker)) process.kill(attempt.worker, 'SIGKILL');
    }
  }, 120_000);
});

/** What `child` ended with, once it has closed (its poll stopped); it is killed and the wait fails after 60 s. */
function whenClosed<T>(child: ChildProcess, poll: NodeJS.Timeout, stuck: () => string, result: (code: number | null) => T): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(stuck()));
    }, 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(result(code));
    });
  });
}
