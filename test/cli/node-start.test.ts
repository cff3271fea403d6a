/**
 * `atlas node` refusing to start, run as a real process: options that cannot go together and an
 * empty --data-dir are usage errors (exit 2) that create nothing; a start that fails (its port in
 * use, its store refused or locked) removes what it created itself, and nothing that was there
 * before. Every refused start here also names a port that is in use: were it not refused, it
 * would fail there (exit 1) rather than run.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { STORE_LOCK_FILE } from '../../src/store/lock.js';
import { errorLines, expectOneLineFailure, runAtlas, startAtlasNode, type RunResult } from './helpers.js';

/** Every path under `dir` (folders end in /), sorted: what a run left there. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => `${join(entry.parentPath, entry.name).slice(dir.length + 1)}${entry.isDirectory() ? '/' : ''}`)
    .sort();
}

/** The JSON log lines of a run's stderr (--json). */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `atlas ...args` in the folder `cwd`. */
function runAtlasIn(cwd: string, args: readonly string[]): Promise<RunResult> {
  return runAtlas(args, { cwd });
}

const root = mkdtempSync(join(tmpdir(), 'atlas-node-start-'));
let counter = 0;
/** A new empty folder for one case. */
const fresh = (): string => {
  const dir = join(root, `case-${counter++}`);
  mkdirSync(dir);
  return dir;
};
/** Logs only errors: what a failed start says at level info (an observer listening) is not its failure line. */
const QUIET = ['--log-level', 'error'];
let busyServer: Server;
let busy: string;

beforeAll(async () => {
  busyServer = createServer();
  await new Promise<void>((resolve) => busyServer.listen(0, '127.0.0.1', resolve));
  busy = `127.0.0.1:${(busyServer.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => busyServer.close(() => resolve()));
  rmSync(root, { recursive: true, force: true });
});

describe('atlas node: bad usage creates nothing', () => {
  it('refuses an empty or blank --data-dir and --chain (an unset variable) with exit 2, leaving the current folder empty', async () => {
    const cwd = fresh();
    const [emptyDir, blankDir] = await Promise.all([runAtlasIn(cwd, ['node', '-d', '', '-l', busy]), runAtlasIn(cwd, ['node', '-d', ' \t', '-l', busy])]);
    const emptyChain = await runAtlasIn(cwd, ['node', '-d', 'data', '-c', '', '-l', busy]);
    expectOneLineFailure(emptyDir, 2, /--data-dir <dir>' is empty/);
    expectOneLineFailure(blankDir, 2, /--data-dir <dir>' is empty/);
    expectOneLineFailure(emptyChain, 2, /--chain <file>' is empty/);
    expect(tree(cwd)).toEqual([]);
  });

  it('refuses a DevChain option beside --stacks-observer, and --stacks-observer-allow without it, naming both options', async () => {
    const dir = fresh();
    const data = join(dir, 'data');
    const [chain, chainPoll] = await Promise.all([
      runAtlas(['node', '-d', data, '-l', busy, '-c', join(dir, 'o3', 'chain.jsonl'), '--stacks-observer', '127.0.0.1:0']),
      runAtlas(['node', '-d', data, '-l', busy, '--chain-poll', '5', '--stacks-observer', '127.0.0.1:0']),
    ]);
    const allow = await runAtlas(['node', '-d', data, '-l', busy, '--stacks-observer-allow', '10.0.0.7']);
    expectOneLineFailure(chain, 2, /option '-c, --chain <file>' cannot be used with option '--stacks-observer <host:port>'/);
    expectOneLineFailure(chainPoll, 2, /option '--chain-poll <seconds>' cannot be used with option '--stacks-observer <host:port>'/);
    expectOneLineFailure(allow, 2, /option '--stacks-observer-allow <ip>' needs option '--stacks-observer <host:port>'/);
    expect(tree(dir)).toEqual([]);
  });
});

describe('atlas node: a failed start removes what it created, and only that', () => {
  it('removes the data folder, its store and its chain file when the port is in use, with a DevChain or the observer', async () => {
    const dir = fresh();
    const [devChain, observer] = await Promise.all([
      runAtlas(['node', '-d', join(dir, 'port1', 'nested'), '-l', busy, ...QUIET]),
      runAtlas(['node', '-d', join(dir, 'port2'), '-l', busy, '--stacks-observer', '127.0.0.1:0', ...QUIET]),
    ]);
    const chainElsewhere = await runAtlas(['node', '-d', join(dir, 'port3'), '-l', busy, '-c', join(dir, 'chains', 'new', 'chain.jsonl'), ...QUIET]);
    for (const result of [devChain, observer, chainElsewhere]) expectOneLineFailure(result, 1, new RegExp(`cannot listen on ${busy.replace(/\./g, '\\.')}: .*\\(ADDRESS_IN_USE\\)`));
    expect(tree(dir)).toEqual([]);
  });

  it('leaves a data folder, store and chain file that were there before as they were', async () => {
    const dir = fresh();
    const data = join(dir, 'data');
    const store = await LmdbChunkStore.open({ path: join(data, 'store') });
    await store.close();
    writeFileSync(join(data, 'notes.txt'), 'mine');
    const chain = join(dir, 'chain.jsonl');
    const line = `{"position":0,"address":"${'a'.repeat(40)}"}\n`;
    writeFileSync(chain, line);
    const before = tree(dir);

    // One after the other: at once, one could find the store locked by the other (BUSY).
    const withChain = await runAtlas(['node', '-d', data, '-l', busy, '-c', chain, ...QUIET]);
    const ownChain = await runAtlas(['node', '-d', data, '-l', busy, ...QUIET]);
    expectOneLineFailure(withChain, 1, /ADDRESS_IN_USE/);
    expectOneLineFailure(ownChain, 1, /ADDRESS_IN_USE/);
    expect(tree(dir)).toEqual(before);
    expect(readFileSync(chain, 'utf8')).toBe(line);
    expect(readFileSync(join(data, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('creates no chain file beside a store folder of somebody else, which it refuses (STORE_CORRUPT) and leaves as it is', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'proj', 'store'), { recursive: true });
    writeFileSync(join(dir, 'proj', 'store', 'data.mdb'), 'not a database');
    const result = await runAtlas(['node', '-d', join(dir, 'proj'), '-l', '127.0.0.1:0']);
    expectOneLineFailure(result, 1, /STORE_CORRUPT/);
    expect(tree(dir)).toEqual(['proj/', 'proj/store/', 'proj/store/data.mdb']);
    expect(readFileSync(join(dir, 'proj', 'store', 'data.mdb'), 'utf8')).toBe('not a database');
  });

  it('keeps what a start that succeeded created', async () => {
    const dir = fresh();
    const node = await startAtlasNode(['-d', join(dir, 'data'), '-l', '127.0.0.1:0']);
    const stopped = await node.stop('SIGTERM');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(tree(dir)).toEqual(expect.arrayContaining(['data/', 'data/chain.jsonl', 'data/store/', 'data/store/data.mdb']));
  });
});

describe('atlas node: --chunk-storage and a store that exists', () => {
  it('keeps the layout the store was created with, says so, and warns when the flag asks another', async () => {
    const dir = join(fresh(), 'data');
    const first = await startAtlasNode(['-d', dir, '-l', '127.0.0.1:0', '--chunk-storage', 'lmdb']);
    const firstStop = await first.stop('SIGTERM');
    expect(firstStop.code, firstStop.stderr).toBe(0);
    const listening = (stderr: string) => logLines(stderr).find((line) => line.msg === 'listening');
    expect(listening(first.stderr())?.chunkStorage).toBe('lmdb');
    expect(logLines(first.stderr()).filter((line) => line.level === 'warn')).toEqual([]);

    const again = await startAtlasNode(['-d', dir, '-l', '127.0.0.1:0', '--chunk-storage', 'log']);
    const againStop = await again.stop('SIGTERM');
    expect(againStop.code, againStop.stderr).toBe(0);
    expect(listening(again.stderr())?.chunkStorage).toBe('lmdb');
    expect(logLines(again.stderr()).filter((line) => line.level === 'warn')).toEqual([
      expect.objectContaining({ msg: '--chunk-storage applies to a new store only: this one keeps its layout', asked: 'log', chunkStorage: 'lmdb', store: join(dir, 'store') }),
    ]);
    // Without the flag, the store's own layout is no cause for a warning.
    const plain = await startAtlasNode(['-d', dir, '-l', '127.0.0.1:0']);
    const plainStop = await plain.stop('SIGTERM');
    expect(plainStop.code, plainStop.stderr).toBe(0);
    expect(logLines(plain.stderr()).filter((line) => line.level === 'warn')).toEqual([]);
  });
});

describe('atlas node: a store locked by a pid that is alive', () => {
  it('says BUSY and which lock file to remove when that pid is no atlas process (a container killed and restarted)', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'store'));
    const lockFile = join(dir, 'store', STORE_LOCK_FILE);
    // A live pid on this host that is no atlas node: the test's own, as pid 1 of a restarted container would be.
    const lock = `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`;
    writeFileSync(lockFile, lock);
    const result = await runAtlas(['node', '-d', dir, '-l', '127.0.0.1:0']);
    expectOneLineFailure(result, 1, /\(BUSY\)$/);
    const line = errorLines(result.stderr)[0] as string;
    expect(line).toContain(`in use by process ${process.pid} on ${hostname()}`);
    expect(line).toContain(`if no atlas process is running on ${hostname()}`);
    expect(line).toContain(`remove ${lockFile}`);
    expect(readFileSync(lockFile, 'utf8')).toBe(lock);
    expect(existsSync(join(dir, 'chain.jsonl'))).toBe(false);
  });
});
