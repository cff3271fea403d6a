import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { open as openLmdb } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/runtime.js';
import { LmdbChunkStore, STORE_FORMAT_VERSION, environmentOptions } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';
import {
  addressOf,
  announcementsFor,
  chunkOf,
  describeChunkStoreContract,
  expectCode,
  expectMatchesModel,
  randomWalk,
  snapshot,
} from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-lmdb-test-'));
let counter = 0;
const freshPath = () => join(root, `store-${counter++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeChunkStoreContract('LmdbChunkStore', {
  create: (options) => LmdbChunkStore.open({ chunkStorage: 'lmdb', path: freshPath(), noSync: true, ...options }),
});

const pool = Array.from({ length: 16 }, (_, i) => chunkOf(`reopen chunk ${i} ${'y'.repeat(i * 3)}`));
const poolAddresses = pool.map(addressOf);

async function expectSameAfterReopen(store: LmdbChunkStore): Promise<LmdbChunkStore> {
  const before = snapshot(store, poolAddresses);
  const path = store.path;
  await store.close();
  const reopened = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
  expect(snapshot(reopened, poolAddresses)).toEqual(before);
  return reopened;
}

describe('LmdbChunkStore durability settings', () => {
  it('acknowledges a write only once it is on disk: no overlapping sync (lmdb-js resolves at commit with it), fsync unless noSync', () => {
    expect(environmentOptions('/x', {})).toMatchObject({ path: '/x', overlappingSync: false });
    expect(environmentOptions('/x', {})).not.toHaveProperty('noSync');
    expect(environmentOptions('/x', { noSync: true })).toMatchObject({ overlappingSync: false, noSync: true });
  });

  it('opens the environment without overlapping sync (lmdb-js refuses to share it with a caller asking for it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atlas-durable-'));
    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: dir });
    try {
      expect(() => openLmdb({ path: dir, overlappingSync: true })).toThrow(/opened without this flag/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LmdbChunkStore persistence', () => {
  it('reopens with exactly the same sequence, chunks, inventory and digests', async () => {
    let store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: freshPath() });
    const model = await randomWalk(store, seededRandom(11), 30, pool);
    // Make sure the state has an address announced twice with its chunk stored, one announced
    // without its chunk, and a stored chunk that is no longer announced.
    const tail = [poolAddresses[0], poolAddresses[1], poolAddresses[0], poolAddresses[2]] as string[];
    await store.append(announcementsFor(tail, model.sequence.length));
    model.append(tail);
    await store.putMany([pool[0] as Uint8Array, pool[2] as Uint8Array]);
    model.put(pool[0] as Uint8Array);
    model.put(pool[2] as Uint8Array);
    await store.truncate(model.sequence.length - 1);
    model.truncate(model.sequence.length - 1);
    expectMatchesModel(store, model, pool);
    store = await expectSameAfterReopen(store);
    expectMatchesModel(store, model, pool);
    // keep going on the reopened store: its derived state must be fully usable
    await randomWalk(store, seededRandom(12), 20, pool, model);
    store = await expectSameAfterReopen(store);
    expectMatchesModel(store, model, pool);
    await store.close();
  });

  it('keeps digests across reopen without rehashing the sequence (checkpoints are persisted)', async () => {
    const path = freshPath();
    let store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    const addresses = Array.from({ length: 3_000 }, (_, i) => addressOf(chunkOf(`seq ${i}`)));
    await store.append(announcementsFor(addresses, 0));
    await store.truncate(2_100);
    const digests = [0, 1_024, 2_048, 2_099, 2_100].map((l) => store.sequenceDigest(l));
    await store.close();
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => void warnings.push(message) };
    store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path, logger });
    expect(warnings).toEqual([]);
    expect([0, 1_024, 2_048, 2_099, 2_100].map((l) => store.sequenceDigest(l))).toEqual(digests);
    await store.close();

    // A store that lost its checkpoints rebuilds them, says so, and computes the same digests.
    const env = openLmdb({ path, maxDbs: 8 });
    const checkpoints = env.openDB('checkpoints', { keyEncoding: 'uint32', encoding: 'binary' });
    await checkpoints.clearAsync();
    await env.close();
    store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path, logger });
    expect(warnings.length).toBe(1);
    expect([0, 1_024, 2_048, 2_099, 2_100].map((l) => store.sequenceDigest(l))).toEqual(digests);
    await store.close();
    warnings.length = 0;
    store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path, logger });
    expect(warnings).toEqual([]);
    await store.close();
  });

  it('agrees with MemoryChunkStore on every observable after the same operations', async () => {
    const lmdb = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: freshPath(), noSync: true });
    const memory = new MemoryChunkStore();
    for (const store of [lmdb, memory] as ChunkStore[]) await randomWalk(store, seededRandom(99), 40, pool);
    expect(snapshot(lmdb, poolAddresses)).toEqual(snapshot(memory, poolAddresses));
    await lmdb.close();
  });

  it('close waits for writes still queued', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    void store.append(announcementsFor(poolAddresses, 0));
    const put = store.putMany(pool);
    await store.close();
    expect((await put).every((o) => o.ok && o.added)).toBe(true);
    await expectCode(store.putMany(pool), 'CLOSED');
    const reopened = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    expect(reopened.chunkCount()).toBe(pool.length);
    expect(reopened.inventory.count).toBe(pool.length);
    await reopened.close();
  });

  it('refuses to open the same directory twice in one process', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    await expectCode(LmdbChunkStore.open({ chunkStorage: 'lmdb', path }), 'BUSY');
    await store.close();
    const again = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    await again.close();
  });

  it.each(['lmdb', 'log'])('never leaves a chunk without its bits, or bits without their chunk, when the process is killed mid-write (chunks in %s)', async (chunkStorage) => {
    const path = freshPath();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-writer.ts'), path, chunkStorage], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // The writer prints a line after each committed round; kill it mid-flight after a few.
    await new Promise<void>((resolve, reject) => {
      let rounds = 0;
      child.stdout.on('data', (text: Buffer) => {
        rounds += text.toString().split('\n').filter((l) => l === 'round').length;
        if (rounds >= 5 && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => (code === 0 ? resolve() : !child.killed && reject(new Error(`writer exited with ${code}`))));
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve)));
    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    expect(store.chunkStorage).toBe(chunkStorage);
    const length = store.sequenceLength();
    expect(length).toBeGreaterThan(0);
    const addresses = new Set<string>();
    for (let i = 0; i < length; i++) addresses.add(store.addressAt(i) as string);
    let bytes = 0;
    let count = 0;
    for (const address of addresses) {
      const has = store.has(address);
      for (const position of store.positionsOf(address)) expect(store.inventory.has(position)).toBe(has);
      if (has) {
        const data = store.get(address) as Uint8Array;
        expect(addressOf(data)).toBe(address);
        bytes += data.length;
        count++;
      }
    }
    expect(store.chunkCount()).toBe(count);
    expect(store.chunkBytes()).toBe(bytes);
    expect(store.inventory.length).toBe(length);
    await store.close();
  });
});

describe('LmdbChunkStore on a full disk', () => {
  /**
   * Runs sequence-writer.ts under a file size limit of 100 KiB, with Node's default for unhandled
   * rejections: a promise lmdb-js left rejected and unhandled after a failed commit (its event-turn
   * batch's, lmdb-js issue #368) would end the child with status 1.
   */
  function writeUntilFull(path: string, mode: 'sequence' | 'chunks'): Array<{ length?: number; chunks?: number; error?: string }> {
    const script = join(import.meta.dirname, 'sequence-writer.ts');
    const run = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 100; exec "${process.execPath}" --import tsx "${script}" '${path}' 3 ${mode}`], {
      cwd: join(import.meta.dirname, '..', '..'),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('closed');
    return lines.slice(0, -1).map((line) => JSON.parse(line) as { length?: number; chunks?: number; error?: string });
  }

  it('rejects an append the disk refuses with STORE_IO, goes on, and loses nothing acknowledged', async () => {
    const path = freshPath();
    // The second batch of 2,000 announcements no longer fits.
    const outcomes = writeUntilFull(path, 'sequence');
    expect(outcomes[0]).toEqual({ length: 2_000 });
    expect(outcomes.slice(1).map((outcome) => outcome.error)).toEqual(['STORE_IO', 'STORE_IO']);
    // The system's error is named (LMDB reports this one as EIO), not lost behind lmdb-js's "Commit failed".
    expect(outcomes.slice(1).every((outcome) => typeof (outcome as { errno?: unknown }).errno === 'string' && /^E[A-Z]+$/.test((outcome as { errno: string }).errno))).toBe(true);
    const store = await LmdbChunkStore.open({ path });
    expect(store.sequenceLength()).toBe(2_000);
    await store.close();
  });

  it('rejects chunk puts the disk refuses with STORE_IO (chunks in LMDB), goes on, and loses nothing acknowledged', async () => {
    const path = freshPath();
    // 20 chunks of 2,000 bytes fit; the next 20 do not.
    const outcomes = writeUntilFull(path, 'chunks');
    expect(outcomes[0]).toEqual({ chunks: 20 });
    expect(outcomes.slice(1)).toEqual([{ error: 'STORE_IO', errno: 'EFBIG' }, { error: 'STORE_IO', errno: 'EFBIG' }]);
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' });
    expect(store.sequenceLength()).toBe(60);
    expect(store.chunkCount()).toBe(20);
    for (let i = 0; i < 20; i++) expect(store.get(addressOf(new Uint8Array(2_000).fill(i + 1)))).toEqual(new Uint8Array(2_000).fill(i + 1));
    await store.close();
  });
});

describe('LmdbChunkStore refuses what is not an atlasnet store', () => {
  it('says STORE_PERMISSION, at once, for a directory it cannot create (Node\'s recursive mkdir loops for ever on /proc/x)', async () => {
    for (const path of ['/proc/atlas-x/y', '/sys/atlas-x']) {
      await expect(LmdbChunkStore.open({ chunkStorage: 'lmdb', path })).rejects.toMatchObject({ code: 'STORE_PERMISSION', details: { path } });
    }
  });

  it('creates a missing directory, and opens an empty one (an empty data file: lock.test.ts)', async () => {
    const nested = join(freshPath(), 'a', 'b');
    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: nested });
    await store.close();
    const empty = freshPath();
    mkdirSync(empty);
    const store2 = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: empty });
    expect(store2.sequenceLength()).toBe(0);
    await store2.close();
  });

  it('refuses a data file of garbage with STORE_CORRUPT (and the process survives)', async () => {
    for (const garbage of [Buffer.from('hello'), randomBytes(100_000)]) {
      const path = freshPath();
      mkdirSync(path);
      writeFileSync(join(path, 'data.mdb'), garbage);
      await expectCode(LmdbChunkStore.open({ chunkStorage: 'lmdb', path }), 'STORE_CORRUPT');
    }
  });

  it('refuses a valid meta page followed by garbage, and a truncated store', async () => {
    const source = freshPath();
    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: source });
    await store.append(announcementsFor(poolAddresses, 0));
    await store.putMany(pool);
    await store.close();
    const data = readFileSync(join(source, 'data.mdb'));
    const pageSize = 4096;
    const forged = Buffer.concat([data.subarray(0, 512), randomBytes(data.length - 512)]);
    const truncated = data.subarray(0, pageSize + 100);
    for (const content of [forged, truncated]) {
      const path = freshPath();
      mkdirSync(path);
      writeFileSync(join(path, 'data.mdb'), content);
      await expectCode(LmdbChunkStore.open({ chunkStorage: 'lmdb', path }), 'STORE_CORRUPT');
    }
    // the untouched copy still opens
    const copy = freshPath();
    mkdirSync(copy);
    copyFileSync(join(source, 'data.mdb'), join(copy, 'data.mdb'));
    const reopened = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path: copy });
    expect(reopened.chunkCount()).toBe(pool.length);
    await reopened.close();
  });

  it('refuses a directory holding other files, and a path that is a file', async () => {
    const path = freshPath();
    mkdirSync(path);
    writeFileSync(join(path, 'notes.txt'), 'my files');
    await expectCode(LmdbChunkStore.open({ chunkStorage: 'lmdb', path }), 'STORE_CORRUPT');
    const file = join(freshPath() + '.bin');
    writeFileSync(file, 'x');
    await expectCode(LmdbChunkStore.open({ chunkStorage: 'lmdb', path: file }), 'STORE_CORRUPT');
  });

  it('refuses an LMDB environment written by another program', async () => {
    const path = freshPath();
    const env = openLmdb({ path, maxDbs: 4 });
    await env.openDB('users', {}).put('alice', { age: 3 });
    await env.close();
    await expectCode(LmdbChunkStore.open({ chunkStorage: 'lmdb', path }), 'STORE_CORRUPT');
  });

  it('opens a format-1 store (address index kept in LMDB): same sequence and positions, the old index dropped, format 4 written', async () => {
    const path = freshPath();
    const addresses = [...poolAddresses.slice(0, 5), poolAddresses[1]!, poolAddresses[3]!];
    const env = openLmdb({ path, maxDbs: 8 });
    await env.openDB('meta', { encoding: 'msgpack' }).put('format', { magic: 'atlasnet-store', version: 1 });
    const sequence = env.openDB('sequence', { keyEncoding: 'uint32', encoding: 'binary' });
    const byAddress = env.openDB('byAddress', { keyEncoding: 'binary', encoding: 'binary' });
    const chunks = env.openDB('chunks', { keyEncoding: 'binary', encoding: 'binary' });
    await env.transaction(() => {
      addresses.forEach((address, position) => sequence.putSync(position, Buffer.from(address, 'hex')));
      for (const address of new Set(addresses)) {
        const at = addresses.flatMap((a, i) => (a === address ? [i] : []));
        const packed = Buffer.alloc(at.length * 4);
        at.forEach((position, i) => packed.writeUInt32BE(position, i * 4));
        byAddress.putSync(Buffer.from(address, 'hex'), packed);
      }
      chunks.putSync(Buffer.from(poolAddresses[1]!, 'hex'), Buffer.from(pool[1]!));
    });
    await env.close();

    const store = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    expect(store.sequenceLength()).toBe(7);
    expect(store.positionsOf(poolAddresses[1]!)).toEqual([1, 5]);
    expect(store.positionsOf(poolAddresses[0]!)).toEqual([0]);
    expect(store.positionsOf(poolAddresses[9]!)).toEqual([]);
    expect(Array.from(store.inventory.positions())).toEqual([1, 5]);
    expect(store.chunkCount()).toBe(1);
    await store.close();
    const after = openLmdb({ path, maxDbs: 8 });
    expect([...after.getKeys()].map(String).sort()).toEqual(['checkpoints', 'chunks', 'meta', 'sequenceRuns']);
    expect(after.openDB('meta', { encoding: 'msgpack' }).get('format')).toEqual({ magic: 'atlasnet-store', version: 4, chunks: 'lmdb' });
    await after.close();
    const again = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path });
    expect(again.positionsOf(poolAddresses[3]!)).toEqual([3, 6]);
    await again.close();
  });

  it('refuses a store of a newer format version with a clear message', async () => {
    const path = freshPath();
    await (await LmdbChunkStore.open({ chunkStorage: 'lmdb', path })).close();
    const env = openLmdb({ path, maxDbs: 8 });
    await env.openDB('meta', { encoding: 'msgpack' }).put('format', { magic: 'atlasnet-store', version: STORE_FORMAT_VERSION + 1 });
    await env.close();
    const error = await LmdbChunkStore.open({ chunkStorage: 'lmdb', path }).catch((e: unknown) => e);
    expect((error as { code: string }).code).toBe('STORE_CORRUPT');
    expect((error as Error).message).toMatch(/newer atlasnet/);
    expect(statSync(join(path, 'data.mdb')).size).toBeGreaterThan(0);
  });
});
