import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/runtime.js';
import { keyedAddressHasher } from '../../src/store/address-index.js';
import { ChunkLog } from '../../src/store/chunk-log.js';
import { WriteSpace } from '../../src/store/chunk-log-batch.js';
import { ChunkLogIndex } from '../../src/store/chunk-log-index.js';
import { CHUNK_LOG_FILE } from '../../src/store/chunk-log-format.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';
import { VerifiedReader } from '../../src/store/verified-read.js';
import { addressOf, announcementsFor, chunkOf, chunkWrites, describeChunkStoreContract, expectCode, expectMatchesModel, randomWalk, snapshot } from './contract.js';
import { withTypedArrayRefused, withTypedArrayRefusedAsync } from '../support/refused-allocation.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-chunk-log-test-'));
let counter = 0;
const freshPath = () => join(root, `store-${counter++}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HEADER_BYTES = 16;
const RECORD_HEADER = 24;

describeChunkStoreContract('LmdbChunkStore with a chunk log', {
  create: (options) => LmdbChunkStore.open({ path: freshPath(), noSync: true, chunkStorage: 'log', ...options }),
});

const pool = Array.from({ length: 16 }, (_, i) => chunkOf(`log chunk ${i} ${'q'.repeat(i * 5)}`));
const poolAddresses = pool.map(addressOf);

function warningsLogger() {
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  return { warnings, logger: { debug() {}, info() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields }) } };
}

/** A log store holding pool[0..count) announced at positions 0..count-1, closed. */
async function closedStore(count: number): Promise<string> {
  const path = freshPath();
  const store = await LmdbChunkStore.open({ path, chunkStorage: 'log' });
  await store.append(announcementsFor(poolAddresses.slice(0, count), 0));
  for (const data of pool.slice(0, count)) await store.put(data); // one record per write, in pool order
  await store.close();
  return path;
}

/** A closed log store of pool[0..count) (closedStore) whose log file `damage` has changed in place. */
async function damagedStore(count: number, damage: (bytes: Buffer) => void): Promise<{ path: string; file: string; bytes: Buffer }> {
  const path = await closedStore(count);
  const file = join(path, CHUNK_LOG_FILE);
  const bytes = readFileSync(file);
  damage(bytes);
  writeFileSync(file, bytes);
  return { path, file, bytes };
}

/** Byte offset of pool[i]'s record in a log written by closedStore. */
function recordOffset(i: number): number {
  let offset = HEADER_BYTES;
  for (let j = 0; j < i; j++) offset += RECORD_HEADER + (pool[j] as Uint8Array).length;
  return offset;
}

function flipBit(bytes: Buffer, at: number): void {
  bytes.writeUInt8(bytes.readUInt8(at) ^ 0x40, at);
}

describe('chunk log layout', () => {
  it('records the layout once: a log store reopens as one without the option, an LMDB store stays LMDB when asked for a log', async () => {
    const logPath = await closedStore(3);
    const env = openLmdb({ path: logPath, maxDbs: 8 });
    expect(env.openDB('meta', { encoding: 'msgpack' }).get('format')).toEqual({ magic: 'atlasnet-store', version: 4, chunks: 'log' });
    expect(env.openDB('chunks', { keyEncoding: 'binary', encoding: 'binary' }).getCount()).toBe(0);
    await env.close();
    const reopened = await LmdbChunkStore.open({ path: logPath });
    expect(reopened.chunkStorage).toBe('log');
    expect(reopened.chunkCount()).toBe(3);
    await reopened.close();

    const lmdbPath = freshPath();
    await (await LmdbChunkStore.open({ path: lmdbPath, chunkStorage: 'lmdb' })).close();
    const asked = await LmdbChunkStore.open({ path: lmdbPath, chunkStorage: 'log' });
    expect(asked.chunkStorage).toBe('lmdb');
    await asked.close();
    expect(() => statSync(join(lmdbPath, CHUNK_LOG_FILE))).toThrow();
  });

  it('refuses an unknown layout with INVALID_OPTION', async () => {
    await expectCode(LmdbChunkStore.open({ path: freshPath(), chunkStorage: 'sqlite' as 'log' }), 'INVALID_OPTION');
  });

  it('reopens with exactly the same sequence, chunks, inventory and digests, and agrees with MemoryChunkStore', async () => {
    const path = freshPath();
    let store = await LmdbChunkStore.open({ path, chunkStorage: 'log' });
    const memory = new MemoryChunkStore();
    const model = await randomWalk(store, seededRandom(21), 40, pool);
    await randomWalk(memory, seededRandom(21), 40, pool);
    expect(snapshot(store, poolAddresses)).toEqual(snapshot(memory, poolAddresses));
    const before = snapshot(store, poolAddresses);
    await store.close();
    store = await LmdbChunkStore.open({ path });
    expect(snapshot(store, poolAddresses)).toEqual(before);
    await randomWalk(store, seededRandom(22), 20, pool, model);
    expectMatchesModel(store, model, pool);
    const again = snapshot(store, poolAddresses);
    await store.close();
    store = await LmdbChunkStore.open({ path });
    expect(snapshot(store, poolAddresses)).toEqual(again);
    await store.close();
  });

  it('writes each chunk once, however often it is put', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'log' });
    await store.append(announcementsFor(poolAddresses.slice(0, 2), 0));
    const twice = [pool[0], pool[1], pool[0]] as Uint8Array[];
    const outcomes = await store.putMany(twice);
    expect(outcomes.map((o) => o.ok && o.added)).toEqual([true, true, false]);
    expect((await store.putMany(twice)).map((o) => o.ok && o.added)).toEqual([false, false, false]);
    await store.close();
    const size = statSync(join(path, CHUNK_LOG_FILE)).size;
    expect(size).toBe(HEADER_BYTES + 2 * RECORD_HEADER + (pool[0] as Uint8Array).length + (pool[1] as Uint8Array).length);
  });

  it('writes exactly each batch\'s records, whatever the batches before it were: a small batch after a large one adds its records alone', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'log' });
    const random = seededRandom(36);
    const batches = [40, 1, 7, 60, 2].map((count, b) => Array.from({ length: count }, (_, i) => chunkOf(`batch ${b} chunk ${i} ${'z'.repeat(Math.floor(random() * 3_000))}`)));
    const all = batches.flat();
    await store.append(announcementsFor(all.map(addressOf), 0));
    let expected = HEADER_BYTES;
    for (const batch of batches) {
      expect((await store.putMany(batch)).every((o) => o.ok && o.added)).toBe(true);
      for (const data of batch) expected += RECORD_HEADER + data.length;
      // A small batch after a large one: the file grows by its records alone.
      expect(statSync(join(path, CHUNK_LOG_FILE)).size).toBe(expected);
    }
    await store.close();
    const reopened = await LmdbChunkStore.open({ path });
    expect(reopened.chunkStorage).toBe('log');
    for (const data of all) expect(Buffer.from(reopened.get(addressOf(data)) as Uint8Array).equals(Buffer.from(data))).toBe(true);
    expect(reopened.chunkCount()).toBe(all.length);
    await reopened.close();
  });
});

describe('chunk log after a crash or damage', () => {
  it('cuts a record torn by a crash before its next write (opening writes nothing), keeps every whole one, and appends after them', async () => {
    const path = await closedStore(4);
    const file = join(path, CHUNK_LOG_FILE);
    const whole = statSync(file).size;
    // What a kill in the middle of a write leaves: a header and part of the bytes.
    const torn = Buffer.alloc(RECORD_HEADER + 10);
    torn.writeUInt32LE(500, 0);
    appendFileSync(file, torn);
    const { warnings, logger } = warningsLogger();
    let store = await LmdbChunkStore.open({ path, logger });
    expect(statSync(file).size).toBe(whole + torn.length);
    expect(store.chunkLog).toEqual({ records: 4, damaged: 0, cut: torn.length });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.fields).toMatchObject({ damaged: 0, cutBytes: torn.length });
    expect(store.chunkCount()).toBe(4);
    for (const address of poolAddresses.slice(0, 4)) expect(Buffer.from(store.get(address) as Uint8Array).toString('hex')).toBe(Buffer.from(pool[poolAddresses.indexOf(address)] as Uint8Array).toString('hex'));
    await store.append(announcementsFor(poolAddresses.slice(4, 6), 4));
    await store.putMany(pool.slice(4, 6));
    expect(statSync(file).size).toBe(whole + 2 * RECORD_HEADER + (pool[4] as Uint8Array).length + (pool[5] as Uint8Array).length);
    await store.close();
    store = await LmdbChunkStore.open({ path, logger });
    expect(store.chunkCount()).toBe(6);
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2, 3, 4, 5]);
    expect(warnings).toHaveLength(1);
    await store.close();
  });

  it.each([
    ['zeros where a write had extended the file', Buffer.alloc(4096)],
    ['a header cut by the end of the file', Buffer.from([7, 0])],
  ])('cuts %s', async (_what, tail) => {
    const path = await closedStore(3);
    const file = join(path, CHUNK_LOG_FILE);
    const whole = statSync(file).size;
    appendFileSync(file, tail);
    const store = await LmdbChunkStore.open({ path });
    expect(store.chunkCount()).toBe(3);
    expect(store.chunkLog?.cut).toBe(tail.length);
    await store.append(announcementsFor([poolAddresses[3] as string], 3));
    await store.put(pool[3] as Uint8Array);
    expect(statSync(file).size).toBe(whole + RECORD_HEADER + (pool[3] as Uint8Array).length);
    await store.close();
  });

  it('skips a damaged record (its chunk is missing and can be stored again), keeping the records after it', async () => {
    const { path } = await damagedStore(5, (bytes) => {
      flipBit(bytes, recordOffset(2) + RECORD_HEADER + 3); // one bit of pool[2]'s data
    });
    const { warnings, logger } = warningsLogger();
    let store = await LmdbChunkStore.open({ path, logger });
    expect(warnings[0]?.fields).toMatchObject({ damaged: 1, cutBytes: 0 });
    expect(store.has(poolAddresses[2] as string)).toBe(false);
    expect(store.get(poolAddresses[2] as string)).toBeUndefined();
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 3, 4]);
    expect(store.chunkCount()).toBe(4);
    const [outcome] = await store.putMany([pool[2] as Uint8Array]);
    expect(outcome).toMatchObject({ ok: true, added: true });
    await store.close();
    store = await LmdbChunkStore.open({ path });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2, 3, 4]);
    expect(Buffer.from(store.get(poolAddresses[2] as string) as Uint8Array).equals(Buffer.from(pool[2] as Uint8Array))).toBe(true);
    await store.close();
  });

  it('reads on past a damaged length field to the next intact record, losing only that record, and cuts nothing', async () => {
    const { path } = await damagedStore(6, (bytes) => {
      bytes.writeUInt32LE(bytes.readUInt32LE(recordOffset(2)) | (1 << 20), recordOffset(2)); // pool[2]'s length: +1 MiB
    });
    let store = await LmdbChunkStore.open({ path });
    expect(store.chunkLog).toEqual({ records: 5, damaged: 1, cut: 0 });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 3, 4, 5]);
    await store.putMany([pool[2] as Uint8Array]);
    await store.close();
    store = await LmdbChunkStore.open({ path });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2, 3, 4, 5]);
    await store.close();
  });

  it('keeps an intact record that lies between two damaged length fields, intact records following the second', async () => {
    const { path } = await damagedStore(8, (bytes) => {
      bytes.writeUInt32LE(0, recordOffset(2)); // zeros where the lengths of pool[2] and pool[4] were
      bytes.writeUInt32LE(0, recordOffset(4));
    });
    const store = await LmdbChunkStore.open({ path });
    // pool[2] and pool[4] are lost with their damage; pool[3], intact between them, was passed over before.
    expect(store.chunkLog).toEqual({ records: 6, damaged: 2, cut: 0 });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 3, 5, 6, 7]);
    await store.close();
  });

  it('cuts nothing intact however far past a broken length field it lies: a 2 MiB record broken, or 3 MiB of zeros in the middle', async () => {
    const dir = freshPath();
    mkdirSync(dir);
    ChunkLog.prepareNew(dir, 'none');
    const maxChunkSize = 2 * 1024 * 1024;
    const big = Buffer.alloc(maxChunkSize, 7);
    const small = Array.from({ length: 50 }, (_, i) => chunkOf(`after the big one ${i}`));
    const entries = [big, ...small].map((data) => ({ key: Buffer.from(addressOf(data), 'hex'), data }));
    let log = await ChunkLog.open(dir, { noSync: true, maxChunkSize });
    await log.storeChunks(chunkWrites(entries));
    await log.close();
    const file = join(dir, CHUNK_LOG_FILE);
    const bytes = readFileSync(file);
    bytes[HEADER_BYTES + 3] = 0x80; // one bit of the big record's length: past the end of the file
    writeFileSync(file, bytes);
    log = await ChunkLog.open(dir, { noSync: true, maxChunkSize });
    expect(log.scan).toEqual({ records: 50, damaged: 1, cut: 0 });
    await log.storeChunks(chunkWrites([{ key: Buffer.from(addressOf(chunkOf('one more')), 'hex'), data: chunkOf('one more') }]));
    await log.close();
    expect(statSync(file).size).toBeGreaterThan(bytes.length); // appended, nothing cut
    log = await ChunkLog.open(dir, { noSync: true, maxChunkSize });
    expect(log.scan).toEqual({ records: 51, damaged: 1, cut: 0 });
    for (const { key, data } of entries.slice(1)) expect(Buffer.from(log.chunk(key) as Uint8Array).equals(data)).toBe(true);
    await log.close();

    // Zeros over 3 MiB in the middle (a length of 0 makes no sense), whole records after them.
    const path = await closedStore(4);
    const logFile = join(path, CHUNK_LOG_FILE);
    const head = readFileSync(logFile);
    const zeroed = Buffer.concat([head.subarray(0, recordOffset(2)), Buffer.alloc(3 * 1024 * 1024), head.subarray(recordOffset(2))]);
    writeFileSync(logFile, zeroed);
    const store = await LmdbChunkStore.open({ path });
    expect(store.chunkLog).toEqual({ records: 4, damaged: 1, cut: 0 });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 2, 3]);
    await store.close();
  });

  it('cuts a crash-torn tail of a large incompressible chunk at once, keeping every whole record before it', async () => {
    const dir = freshPath();
    mkdirSync(dir);
    ChunkLog.prepareNew(dir, 'none');
    const maxChunkSize = 8 * 1024 * 1024;
    const random = seededRandom(9);
    const whole = [chunkOf('a small one'), Buffer.from(Array.from({ length: 2 * 1024 * 1024 }, () => Math.floor(random() * 256)))];
    let log = await ChunkLog.open(dir, { noSync: true, maxChunkSize });
    await log.storeChunks(chunkWrites(whole.map((data) => ({ key: Buffer.from(addressOf(data), 'hex'), data }))));
    await log.close();
    // The header of an 8 MiB record and 5 MiB of its bytes: the rest never reached the disk.
    const torn = Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, () => Math.floor(random() * 256)));
    const header = Buffer.alloc(RECORD_HEADER);
    header.writeUInt32LE(maxChunkSize, 0);
    appendFileSync(join(dir, CHUNK_LOG_FILE), Buffer.concat([header, torn]));
    log = await ChunkLog.open(dir, { noSync: true, maxChunkSize }); // not refused: hashing every look-alike would cost GiBs
    expect(log.scan).toEqual({ records: 2, damaged: 0, cut: RECORD_HEADER + torn.length });
    await log.close();
  });

  it.each([
    ['longer, ending inside a later record', (length: number) => length + RECORD_HEADER + 9],
    ['longer, ending exactly where a later record starts', (length: number) => length + RECORD_HEADER + (pool[3] as Uint8Array).length],
    ['shorter, ending inside its own data', (length: number) => length - 5],
  ])('reads on past a length field made plausible but wrong (%s), losing only that record', async (_case, damage) => {
    const { path } = await damagedStore(8, (bytes) => {
      bytes.writeUInt32LE(damage(bytes.readUInt32LE(recordOffset(2))), recordOffset(2)); // pool[2]'s length, still inside the file
    });
    const { warnings, logger } = warningsLogger();
    const store = await LmdbChunkStore.open({ path, logger });
    expect(store.chunkLog).toEqual({ records: 7, damaged: 1, cut: 0 });
    expect(warnings[0]?.fields).toMatchObject({ damaged: 1, cutBytes: 0 });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 3, 4, 5, 6, 7]);
    for (const i of [3, 4, 7]) expect(Buffer.from(store.get(poolAddresses[i] as string) as Uint8Array).equals(Buffer.from(pool[i] as Uint8Array))).toBe(true);
    await store.close();
  });

  it('loses only the damaged record whatever plausible length its field is given (40 seeded draws)', async () => {
    const count = 12;
    const path = await closedStore(count);
    const file = join(path, CHUNK_LOG_FILE);
    const intact = readFileSync(file);
    const random = seededRandom(15);
    for (let draw = 0; draw < 40; draw++) {
      const damagedAt = Math.floor(random() * count);
      const offset = recordOffset(damagedAt);
      const trueLength = intact.readUInt32LE(offset);
      let length = trueLength;
      while (length === trueLength) length = 1 + Math.floor(random() * (intact.length - offset - RECORD_HEADER));
      const bytes = Buffer.from(intact);
      bytes.writeUInt32LE(length, offset);
      writeFileSync(file, bytes);
      const store = await LmdbChunkStore.open({ path });
      const expected = Array.from({ length: count }, (_, i) => i).filter((i) => i !== damagedAt);
      expect(Array.from(store.inventory.positions()), `record ${damagedAt} given length ${length} (was ${trueLength})`).toEqual(expected);
      expect(store.chunkLog?.records).toBe(count - 1);
      // Only the damaged record's own bytes may be cut, when it is the last one (its tail then reads as a tear).
      expect(store.chunkLog?.cut).toBeLessThanOrEqual(damagedAt === count - 1 ? RECORD_HEADER + trueLength : 0);
      await store.close();
    }
  });

  it('skips a damaged last record and cuts nothing', async () => {
    const { path, file, bytes } = await damagedStore(4, (bytes) => {
      flipBit(bytes, recordOffset(3) + RECORD_HEADER + 2);
    });
    const store = await LmdbChunkStore.open({ path });
    expect(store.chunkLog).toEqual({ records: 3, damaged: 1, cut: 0 });
    await store.putMany([pool[3] as Uint8Array]);
    expect(statSync(file).size).toBe(bytes.length + RECORD_HEADER + (pool[3] as Uint8Array).length);
    await store.close();
  });

  it('counts each of two damaged records in a row, keeping every record after them', async () => {
    const { path } = await damagedStore(6, (bytes) => {
      flipBit(bytes, recordOffset(2) + RECORD_HEADER + 1);
      flipBit(bytes, recordOffset(3) + RECORD_HEADER + 1);
    });
    const store = await LmdbChunkStore.open({ path });
    expect(store.chunkLog).toEqual({ records: 4, damaged: 2, cut: 0 });
    expect(Array.from(store.inventory.positions())).toEqual([0, 1, 4, 5]);
    await store.close();
  });

  it.each([
    ['bit 31', 1 << 31],
    ['bit 30', 1 << 30],
  ])('takes a length field with %s flipped for damage, with a typed answer and bounded memory', async (_bit, mask) => {
    const { path, file } = await damagedStore(4, (bytes) => {
      bytes.writeUInt32LE((bytes.readUInt32LE(recordOffset(3)) | mask) >>> 0, recordOffset(3)); // the last record
    });
    // Zeros to 3 GiB (a sparse file, no disk used): the damaged length now fits inside the file,
    // as it would in a large log, so only its bound keeps the scan from reading 1-2 GiB at once.
    const size = 3 * 2 ** 30;
    truncateSync(file, size);
    const rss = process.memoryUsage().rss;
    const store = await LmdbChunkStore.open({ path });
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20);
    expect(store.chunkLog).toEqual({ records: 3, damaged: 0, cut: size - recordOffset(3) });
    await store.close();
  });

  it('refuses a maxChunkSize a log cannot hold, naming the option, and leaves the new store free to keep its chunks in LMDB', async () => {
    const path = freshPath();
    const refused = await LmdbChunkStore.open({ path, maxChunkSize: 2 ** 27 }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'INVALID_OPTION', option: 'maxChunkSize' });
    expect(() => statSync(join(path, CHUNK_LOG_FILE))).toThrow();
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb', maxChunkSize: 2 ** 27 });
    expect(store.chunkStorage).toBe('lmdb');
    await store.close();
  });

  it('drops a partial log of a new store that is then opened to keep its chunks in LMDB', async () => {
    const path = freshPath();
    await openLmdb({ path, maxDbs: 8 }).close();
    writeFileSync(join(path, CHUNK_LOG_FILE), 'atlasnet-chunks\x01', 'latin1'); // the header alone
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' });
    expect(store.chunkStorage).toBe('lmdb');
    await store.close();
    expect(() => statSync(join(path, CHUNK_LOG_FILE))).toThrow();
  });

  it('cuts what a failed write left before the next one: a put refused by the disk leaves no record, and the puts after it are whole', async () => {
    const path = freshPath();
    const small = ['first chunk, written whole', 'third chunk, after the failure'];
    const large = 'x'.repeat(4096); // past the 2 KiB file size limit the child runs under
    const texts = [small[0] as string, large, small[1] as string];
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'log' });
    await store.append(announcementsFor(texts.map((text) => addressOf(Buffer.from(text))), 0));
    await store.close();
    const script = join(import.meta.dirname, 'log-writer.ts');
    const quoted = [path, ...texts].map((arg) => `'${arg}'`).join(' ');
    const run = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 2; exec "${process.execPath}" --import tsx "${script}" ${quoted}`], {
      cwd: join(import.meta.dirname, '..', '..'),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([{ ok: true }, { error: 'STORE_IO', errno: 'EFBIG' }, { ok: true }]);
    const reopened = await LmdbChunkStore.open({ path });
    expect(reopened.chunkLog).toEqual({ records: 2, damaged: 0, cut: 0 });
    expect(Array.from(reopened.inventory.positions())).toEqual([0, 2]);
    expect(Buffer.from(reopened.get(addressOf(Buffer.from(small[1] as string))) as Uint8Array).toString()).toBe(small[1]);
    await reopened.close();
    expect(statSync(join(path, CHUNK_LOG_FILE)).size).toBe(HEADER_BYTES + 2 * RECORD_HEADER + Buffer.byteLength(small[0] as string) + Buffer.byteLength(small[1] as string));
  });

  it('refuses, whole, a cut or an append that cannot read a chunk it changes, and never serves an unannounced chunk after', async () => {
    const path = await closedStore(3);
    const store = await LmdbChunkStore.open({ path });
    // The log loses pool[2]'s record while open (cut inside its header; a failing read would do the same).
    truncateSync(join(path, CHUNK_LOG_FILE), recordOffset(2) + 10);
    const unchanged = () => {
      expect(store.sequenceLength()).toBe(3);
      expect([0, 1, 2, 3].map((position) => store.addressAt(position))).toEqual([...poolAddresses.slice(0, 3), undefined]);
      expect(store.chunkCount()).toBe(3);
      for (const address of poolAddresses.slice(0, 2)) expect(store.positionsOf(address)).toHaveLength(1);
      expect(store.has(poolAddresses[1] as string)).toBe(true);
    };
    await expectCode(store.truncate(1), 'STORE_CORRUPT');
    unchanged();
    await expectCode(store.append(announcementsFor([poolAddresses[2] as string], 3)), 'STORE_CORRUPT');
    unchanged();
    for (const address of poolAddresses) {
      if (store.positionsOf(address).length === 0) expect(store.get(address)).toBeUndefined();
    }
    await store.close();
    // Nothing of either reached the disk: the sequence reopens as it was.
    const reopened = await LmdbChunkStore.open({ path });
    expect([0, 1, 2, 3].map((position) => reopened.addressAt(position))).toEqual([...poolAddresses.slice(0, 3), undefined]);
    await reopened.close();
  });

  it('serves a reply from shared views of what it read (VerifiedReader.serve), and gives every other reader memory of its own', async () => {
    const path = await closedStore(3);
    const store = await LmdbChunkStore.open({ path });
    try {
      const asked = poolAddresses.slice(0, 3) as string[];
      const served = new VerifiedReader(store).serve(asked);
      expect(served.chunks.map((chunk) => Buffer.from(chunk.data).equals(Buffer.from(pool[asked.indexOf(chunk.address)] as Uint8Array)))).toEqual([true, true, true]);
      // Served twice while its read is held, a record is answered from the same memory.
      const reader = new VerifiedReader(store);
      const [once, twice] = [reader.serve([asked[1] as string]).chunks[0]?.data, reader.serve([asked[1] as string]).chunks[0]?.data] as [Uint8Array, Uint8Array];
      expect(twice.buffer === once.buffer && twice.byteOffset === once.byteOffset).toBe(true);
      // Read twice, it is answered in memory of its own each time: changing one answer changes
      // neither the other nor anything served after.
      const [mine, yours] = [reader.read([asked[1] as string]).chunks[0]?.data, reader.read([asked[1] as string]).chunks[0]?.data] as [Uint8Array, Uint8Array];
      mine.fill(0);
      expect(Buffer.from(yours).equals(Buffer.from(pool[1] as Uint8Array))).toBe(true);
      expect(Buffer.from(reader.serve([asked[1] as string]).chunks[0]?.data as Uint8Array).equals(Buffer.from(pool[1] as Uint8Array))).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('discards a record damaged while the store is open, and it stays gone after a reopen', async () => {
    const path = await closedStore(3);
    const file = join(path, CHUNK_LOG_FILE);
    let store = await LmdbChunkStore.open({ path });
    const bytes = readFileSync(file);
    flipBit(bytes, recordOffset(1) + RECORD_HEADER);
    writeFileSync(file, bytes);
    expect(await store.discard(poolAddresses[1] as string)).toEqual({ discarded: true, positions: [1] });
    expect(await store.discard(poolAddresses[0] as string)).toEqual({ discarded: false, positions: [] });
    expect(store.has(poolAddresses[1] as string)).toBe(false);
    await store.close();
    store = await LmdbChunkStore.open({ path });
    expect(Array.from(store.inventory.positions())).toEqual([0, 2]);
    await store.close();
  });

  it('still finds a record whose stored address was damaged while open, serves its intact bytes, counts it once, and drops it at the next open', async () => {
    const path = await closedStore(3);
    const file = join(path, CHUNK_LOG_FILE);
    let store = await LmdbChunkStore.open({ path });
    const bytes = readFileSync(file);
    flipBit(bytes, recordOffset(1) + 4 + 7); // inside pool[1]'s stored address
    writeFileSync(file, bytes);
    const address = poolAddresses[1] as string;
    expect(store.has(address)).toBe(true);
    expect(Buffer.from(store.get(address) as Uint8Array).equals(Buffer.from(pool[1] as Uint8Array))).toBe(true);
    expect((await store.putMany([pool[1] as Uint8Array]))[0]).toMatchObject({ ok: true, added: false });
    expect([store.chunkCount(), store.chunkBytes()]).toEqual([3, pool.slice(0, 3).reduce((n, c) => n + c.length, 0)]);
    expect(await store.discard(address)).toEqual({ discarded: false, positions: [] }); // the bytes are intact
    await store.truncate(0);
    expect([store.chunkCount(), store.chunkBytes()]).toEqual([0, 0]);
    await store.close();
    store = await LmdbChunkStore.open({ path });
    expect(store.chunkLog).toMatchObject({ records: 2, damaged: 1 });
    await store.close();
  });

  it('refuses a store whose chunk log is missing or is not one, and an LMDB store holding a stray log, touching neither file', async () => {
    const missing = await closedStore(2);
    unlinkSync(join(missing, CHUNK_LOG_FILE));
    await expectCode(LmdbChunkStore.open({ path: missing }), 'STORE_CORRUPT');

    const foreign = await closedStore(2);
    writeFileSync(join(foreign, CHUNK_LOG_FILE), 'not a chunk log, but somebody\'s file');
    await expectCode(LmdbChunkStore.open({ path: foreign }), 'STORE_CORRUPT');
    expect(readFileSync(join(foreign, CHUNK_LOG_FILE), 'utf8')).toBe('not a chunk log, but somebody\'s file');

    const lmdbPath = freshPath();
    await (await LmdbChunkStore.open({ path: lmdbPath, chunkStorage: 'lmdb' })).close();
    writeFileSync(join(lmdbPath, CHUNK_LOG_FILE), 'stray');
    await expectCode(LmdbChunkStore.open({ path: lmdbPath }), 'STORE_CORRUPT');
    expect(readFileSync(join(lmdbPath, CHUNK_LOG_FILE), 'utf8')).toBe('stray');
  });

  it.each([
    ['empty', ''],
    ['part of its header', 'atlasnet'],
  ])('opens a store killed while its chunk log was created (the log %s), and records its format only once the log opens', async (_what, partial) => {
    const path = freshPath();
    await openLmdb({ path, maxDbs: 8 }).close(); // the environment exists, no format record yet
    writeFileSync(join(path, CHUNK_LOG_FILE), partial);
    const store = await LmdbChunkStore.open({ path });
    expect(store.chunkStorage).toBe('log');
    await store.append(announcementsFor(poolAddresses.slice(0, 1), 0));
    await store.put(pool[0] as Uint8Array);
    await store.close();
    const reopened = await LmdbChunkStore.open({ path });
    expect(reopened.chunkCount()).toBe(1);
    await reopened.close();

    const foreign = freshPath();
    await openLmdb({ path: foreign, maxDbs: 8 }).close();
    writeFileSync(join(foreign, CHUNK_LOG_FILE), 'somebody else\'s file');
    await expectCode(LmdbChunkStore.open({ path: foreign }), 'STORE_CORRUPT');
    const env = openLmdb({ path: foreign, maxDbs: 8 });
    expect(env.openDB('meta', { encoding: 'msgpack' }).get('format')).toBeUndefined();
    await env.close();
    expect(readFileSync(join(foreign, CHUNK_LOG_FILE), 'utf8')).toBe("somebody else's file");
  });

  it('opens a chunk log found without its LMDB environment: its verified chunks are held, and count once the chain announces them', async () => {
    const path = freshPath();
    mkdirSync(path);
    const records = await closedStore(2);
    writeFileSync(join(path, CHUNK_LOG_FILE), readFileSync(join(records, CHUNK_LOG_FILE)));
    // No data.mdb: the log's chunks are held, none announced.
    const store = await LmdbChunkStore.open({ path });
    expect(store.chunkStorage).toBe('log');
    expect(store.has(poolAddresses[0] as string)).toBe(false);
    await store.append(announcementsFor(poolAddresses.slice(0, 2), 0));
    expect(Array.from(store.inventory.positions())).toEqual([0, 1]);
    await store.close();
  });
});

/** A new chunk log in a fresh folder (no fdatasync), and that folder. */
async function newLog(): Promise<{ dir: string; log: ChunkLog }> {
  const dir = freshPath();
  mkdirSync(dir);
  ChunkLog.prepareNew(dir, 'none');
  return { dir, log: await ChunkLog.open(dir, { noSync: true }) };
}

describe('ChunkLog writes', () => {
  it('takes one write at a time: a second storeChunks while one writes is refused, and the first loses nothing', async () => {
    const { log } = await newLog();
    const entries = Array.from({ length: 20 }, (_, i) => chunkOf(`one write at a time ${i}`)).map((data) => ({ key: Buffer.from(addressOf(data), 'hex'), data }));
    const first = log.storeChunks(chunkWrites(entries.slice(0, 10)));
    await expect(log.storeChunks(chunkWrites(entries.slice(10)))).rejects.toThrow('one write at a time');
    expect(await first).toEqual(new Array(10).fill(true));
    expect(await log.storeChunks(chunkWrites(entries.slice(10)))).toEqual(new Array(10).fill(true));
    for (const { key, data } of entries) expect(Buffer.from(log.chunk(key) as Uint8Array).equals(data)).toBe(true);
    await log.close();
  });

  it('writes each distinct key of a batch once when keys share placements, and reads every one back after a reopen', async () => {
    const dir = freshPath();
    mkdirSync(dir);
    ChunkLog.prepareNew(dir, 'none');
    const weak = keyedAddressHasher(Buffer.alloc(8));
    const hasher = (key: Uint8Array, at?: number) => weak(key, at) % 3; // 40 keys on 3 placements
    const chunks = Array.from({ length: 40 }, (_, i) => chunkOf(`shared placement ${i}`));
    const entries = chunks.map((data) => ({ key: Buffer.from(addressOf(data), 'hex'), data }));
    const log = await ChunkLog.open(dir, { noSync: true, hasher });
    // The first 30 keys twice in the first batch, the repeats after every other key (so a repeat's
    // latest placement-mate is another key); then a batch mixing stored keys with the last ten,
    // one of them three times.
    const [first, rest] = [entries.slice(0, 30), entries.slice(30)];
    expect(await log.storeChunks(chunkWrites([...first, ...first]))).toEqual([...first.map(() => true), ...first.map(() => false)]);
    const thrice = rest[4] as (typeof rest)[number];
    const mixed = [first[0], rest[0], thrice, first[1], ...rest.slice(1, 4), thrice, first[2], ...rest.slice(5), thrice] as typeof entries;
    expect(await log.storeChunks(chunkWrites(mixed))).toEqual(mixed.map((entry, i) => !first.includes(entry) && mixed.indexOf(entry) === i));
    for (const { key, data } of entries) expect(Buffer.from(log.chunk(key) as Uint8Array).equals(data)).toBe(true);
    await log.close();
    const reopened = await ChunkLog.open(dir, { noSync: true, hasher });
    expect(reopened.scan).toEqual({ records: 40, damaged: 0, cut: 0 });
    for (const { key, data } of entries) expect(Buffer.from(reopened.chunk(key) as Uint8Array).equals(data)).toBe(true);
    await reopened.close();
  });

  it('builds every write in memory it keeps between writes, and a batch past that bound in its own: large, small, past the bound, small again, all read back whole', async () => {
    const { dir, log } = await newLog();
    const random = seededRandom(46);
    const sized = (count: number, size: number, label: string) =>
      Array.from({ length: count }, (_, i) => {
        const data = Buffer.alloc(size - Math.floor(random() * 64));
        for (let j = 0; j < data.length; j++) data[j] = Math.floor(random() * 256);
        data.write(`${label} ${i}`);
        return { key: Buffer.from(addressOf(data), 'hex'), data };
      });
    // 300 KiB, then 3 chunks (the kept buffer's start written over), then more than
    // WriteSpace.MAX_KEPT_BYTES in one batch, then 5 small chunks again.
    const batches = [sized(10, 30_000, 'large'), sized(3, 200, 'small'), sized(120, 40_000, 'past the bound'), sized(5, 150, 'small again')];
    expect(batches[2]!.reduce((sum, { data }) => sum + data.length + RECORD_HEADER, 0)).toBeGreaterThan(WriteSpace.MAX_KEPT_BYTES);
    let expected = HEADER_BYTES;
    for (const batch of batches) {
      expect(await log.storeChunks(chunkWrites(batch))).toEqual(batch.map(() => true));
      expected += batch.reduce((sum, { data }) => sum + RECORD_HEADER + data.length, 0);
      expect(statSync(log.path).size).toBe(expected);
      for (const { key, data } of batches.flat()) if (log.chunk(key) !== undefined) expect(Buffer.from(log.chunk(key) as Uint8Array).equals(data)).toBe(true);
    }
    await log.close();
    const reopened = await ChunkLog.open(dir, { noSync: true });
    expect(reopened.scan).toEqual({ records: 138, damaged: 0, cut: 0 });
    for (const { key, data } of batches.flat()) expect(Buffer.from(reopened.chunk(key) as Uint8Array).equals(data)).toBe(true);
    await reopened.close();
  });

  it('builds the tables of a batch of more chunks than it keeps tables for in its own, and reuses its kept ones after: repeats within each batch written once', async () => {
    const { dir, log } = await newLog();
    const entry = (label: string) => {
      const data = Buffer.from(label);
      return { key: Buffer.from(addressOf(data), 'hex'), data };
    };
    const many = Array.from({ length: WriteSpace.MAX_KEPT_CHUNKS + 10 }, (_, i) => entry(`many ${i}`));
    // Every tenth chunk of the large batch given twice; then small batches with repeats of their own and of the large one.
    const large = [...many, ...many.filter((_, i) => i % 10 === 0)];
    expect(await log.storeChunks(chunkWrites(large))).toEqual(large.map((_, i) => i < many.length));
    for (let round = 0; round < 3; round++) {
      const fresh = Array.from({ length: 20 }, (_, i) => entry(`round ${round} chunk ${i}`));
      const batch = [fresh[0]!, many[round]!, ...fresh.slice(1), fresh[3]!, fresh[0]!];
      expect(await log.storeChunks(chunkWrites(batch))).toEqual(batch.map((item, i) => fresh.includes(item) && batch.indexOf(item) === i));
    }
    await log.close();
    const reopened = await ChunkLog.open(dir, { noSync: true });
    expect(reopened.scan).toEqual({ records: many.length + 60, damaged: 0, cut: 0 });
    for (const { key, data } of [many[0]!, many.at(-1)!]) expect(Buffer.from(reopened.chunk(key) as Uint8Array).equals(data)).toBe(true);
    await reopened.close();
  });
});

describe('ChunkLogIndex', () => {
  it('matches a Map through adds and removes, with a weak hasher that piles keys into shared runs', () => {
    const random = seededRandom(5);
    const keys = Array.from({ length: 3_000 }, (_, i) => Buffer.from(addressOf(chunkOf(`index key ${i}`)), 'hex'));
    const stored = new Map<number, Buffer>(); // offset -> key, the "file"
    const weak = keyedAddressHasher(Buffer.alloc(8));
    const index = new ChunkLogIndex((offset) => stored.get(offset) as Buffer, { hasher: (key, at) => weak(key, at) % 4096 });
    const model = new Map<string, { offset: number; length: number }>();
    for (let step = 0; step < 20_000; step++) {
      const i = Math.floor(random() * keys.length);
      const key = keys[i] as Buffer;
      const id = key.toString('hex');
      if (random() < 0.3) {
        expect(index.remove(key)).toEqual(model.get(id)); // the record it pointed to, or undefined
        model.delete(id);
      } else if (!model.has(id)) {
        const record = { offset: step * 100, length: (i % 97) + 1 };
        stored.set(record.offset, key);
        index.add(key, record.offset, record.length);
        model.set(id, record);
      }
      if (step % 1_000 === 0) {
        expect(index.size).toBe(model.size);
        for (const k of keys) expect(index.find(k)).toEqual(model.get(k.toString('hex')));
      }
    }
    for (const k of keys) expect(index.lengthOf(k)).toBe(model.get(k.toString('hex'))?.length);
  });

  it('grows towards the size it was told to expect in steps of up to 8x, allocating nothing ahead, and finds every record after', () => {
    const keys = Array.from({ length: 7_000 }, (_, i) => Buffer.from(addressOf(chunkOf(`expected key ${i}`)), 'hex'));
    const stored = new Map<number, Buffer>();
    const read = (offset: number) => stored.get(offset) as Buffer;
    const told = new ChunkLogIndex(read);
    const untold = new ChunkLogIndex(read);
    const farAhead = new ChunkLogIndex(read);
    const slotBytes = 20;
    told.expect(10_000);
    farAhead.expect(1_000_000);
    expect(told.byteSize).toBe(1_024 * slotBytes); // nothing allocated for the expectation itself
    keys.forEach((key, i) => {
      stored.set(i * 64, key);
      for (const index of [told, untold]) index.add(key, i * 64, 10);
      if (i < 2_000) farAhead.add(key, i * 64, 10);
    });
    expect(told.byteSize).toBe(Math.ceil(10_000 / 0.75) * slotBytes); // 1,024 -> 8,192 -> 13,334 slots: two growths
    expect(untold.byteSize).toBe(11_664 * slotBytes); // 1,024 -> 1,536 -> ... -> 11,664 slots: six growths, every record rehashed at each
    expect(farAhead.byteSize).toBe(8_192 * slotBytes); // a step is bounded by what the table holds, not by the announcements
    keys.forEach((key, i) => expect(told.find(key)).toEqual({ offset: i * 64, length: 10 }));
  });

  it('makes room for a whole batch at once: the records added after it grow nothing', () => {
    const keys = Array.from({ length: 7_000 }, (_, i) => Buffer.from(addressOf(chunkOf(`reserved key ${i}`)), 'hex'));
    const stored = new Map<number, Buffer>();
    const index = new ChunkLogIndex((offset) => stored.get(offset) as Buffer);
    index.expect(10_000);
    index.reserve(7_000);
    // 1,024 -> 8,192 -> 13,334 slots, the growths add() would make, made before any record.
    expect(index.byteSize).toBe(Math.ceil(10_000 / 0.75) * 20);
    keys.forEach((key, i) => {
      stored.set(i * 64, key);
      index.addPlaced(index.placementOf(key), i * 64, 10);
    });
    expect(index.byteSize).toBe(Math.ceil(10_000 / 0.75) * 20);
    expect(index.size).toBe(7_000);
    keys.forEach((key, i) => expect(index.find(key)).toEqual({ offset: i * 64, length: 10 }));
    index.reserve(0);
    expect(index.byteSize).toBe(Math.ceil(10_000 / 0.75) * 20);
  });

  it('keeps its table whole when a growth cannot be allocated, and grows at the next try', () => {
    const keys = Array.from({ length: 800 }, (_, i) => Buffer.from(addressOf(chunkOf(`unallocated key ${i}`)), 'hex'));
    const stored = new Map<number, Buffer>();
    const index = new ChunkLogIndex((offset) => stored.get(offset) as Buffer);
    const add = (key: Buffer, i: number) => {
      stored.set(i * 64, key);
      index.add(key, i * 64, 10);
    };
    keys.slice(0, 700).forEach(add);
    const before = index.byteSize;
    // The growth's first table fails as an allocation past what the process may hold would.
    expect(() => withTypedArrayRefused(Float64Array, 1_500, () => index.reserve(100))).toThrow(RangeError);
    expect(index.byteSize).toBe(before);
    expect(index.size).toBe(700);
    keys.slice(0, 700).forEach((key, i) => expect(index.find(key)).toEqual({ offset: i * 64, length: 10 }));
    keys.slice(700).forEach((key, i) => add(key, 700 + i));
    expect(index.byteSize).toBeGreaterThan(before);
    keys.forEach((key, i) => expect(index.find(key)).toEqual({ offset: i * 64, length: 10 }));
  });
});

describe('chunk log writes', () => {
  it('fail before writing anything when the index cannot grow for the batch, and take the same chunks after', async () => {
    const path = freshPath();
    const store = await LmdbChunkStore.open({ path, chunkStorage: 'log', noSync: true });
    const chunks = Array.from({ length: 800 }, (_, i) => chunkOf(`growth refused ${i}`));
    await store.append(announcementsFor(chunks.map(addressOf), 0));
    const logBytes = () => statSync(join(path, CHUNK_LOG_FILE)).size;
    const before = logBytes();
    // The index holds 1,024 slots: 800 records need its growth to 1,536, which is refused.
    await expect(withTypedArrayRefusedAsync(Float64Array, 1_500, () => store.putMany(chunks))).rejects.toThrow(RangeError);
    expect(logBytes()).toBe(before);
    expect(store.chunkCount()).toBe(0);
    expect((await store.putMany(chunks)).every((outcome) => outcome.ok && outcome.added)).toBe(true);
    for (const chunk of chunks) expect(Buffer.from(store.get(addressOf(chunk)) as Uint8Array).equals(chunk)).toBe(true);
    await store.close();
    const reopened = await LmdbChunkStore.open({ path });
    expect(reopened.chunkCount()).toBe(800);
    await reopened.close();
  });
});

describe('chunk log stores chunks for an AtlasNode', () => {
  it('opens a node whose dataDir keeps chunks in a log, and refuses a wrong chunkStorage', async () => {
    const { AtlasNode } = await import('../../src/node/index.js');
    const { MemoryChain } = await import('../../src/chain/memory.js');
    const { MemoryNetwork } = await import('../../src/transport/memory.js');
    const network = new MemoryNetwork();
    const chain = new MemoryChain();
    chain.announce(poolAddresses.slice(0, 3));
    const dataDir = freshPath();
    const node = await AtlasNode.open({ dataDir, chunkStorage: 'log', chain, transport: network.transport('127.0.0.1:7001') });
    expect(await node.putChunks([pool[0] as Uint8Array])).toEqual([true]);
    expect(node.stats().have).toBe(1);
    await node.close();
    const store = await LmdbChunkStore.open({ path: dataDir });
    expect(store.chunkStorage).toBe('log');
    expect(store.has(poolAddresses[0] as string)).toBe(true);
    await store.close();
    await expectCode(AtlasNode.open({ dataDir: freshPath(), chunkStorage: 'rocks' as 'log', chain, transport: network.transport('127.0.0.1:7002') }), 'INVALID_OPTION');
  });
});
