/**
 * Chunk-store throughput, each figure beside raw lmdb-js doing the same writes in the same run.
 *
 * - putVerified: already-verified 170-byte chunks in batches of 1,000 (the sync layer's path after
 *   it has hashed a peer's reply), into a store keeping chunks in LMDB and into one keeping them
 *   in a chunk log (the default layout of a new store). Reference: raw lmdb-js puts of the same keys and values, one
 *   transaction per batch, written both ways lmdb-js offers (async puts issued in one event turn;
 *   putSync inside transaction()): the faster of the two is the reference. Target >= 0.7x.
 * - ingest: putMany of raw chunks (size check + hash160 in one batch call + announcement check +
 *   store), against the same raw reference.
 * - append: announcements in pages of 10,000 (the chain follower's path), against raw puts of
 *   the same position -> address records.
 * - reopen: deriving the inventory at open (both layouts), against a raw scan of the same chunks
 *   in LMDB.
 *
 * The chunk writers run in lockstep, batch by batch with the order rotating, so every ratio's two
 * sides see the same disk and CPU weather, and each figure is the median over every batch of
 * every round (one batch = one commit: a stall of the shared disk hits single batches, which
 * the median ignores). The other figures keep their best of a few rounds (interference only ever
 * slows a run down).
 * Durability settings are lmdb-js defaults on both sides.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { hash160Batch } from '../src/hash/index.js';
import { seededRandom } from '../src/runtime.js';
import { LmdbChunkStore, type ChunkStorage } from '../src/store/lmdb.js';
import type { Announcement } from '../src/chain/types.js';
import type { PutOutcome, VerifiedChunk } from '../src/store/types.js';
import { bundleScript } from './bundle.js';
import { runJsonChild } from './child.js';
import type { BenchOptions, BenchReport, BenchRow, BenchSuite } from './report.js';

const CHUNK_SIZE = 170;
const BATCH = 1_000;
const PAGE = 10_000;

interface Workload {
  chunks: Uint8Array[];
  keys: Buffer[];
  values: Buffer[];
  verified: VerifiedChunk[];
  announcements: Announcement[];
}

function makeWorkload(count: number): Workload {
  const random = seededRandom(170);
  const chunks = Array.from({ length: count }, () => {
    const chunk = Buffer.allocUnsafe(CHUNK_SIZE);
    for (let i = 0; i < CHUNK_SIZE; i++) chunk[i] = Math.floor(random() * 256);
    return chunk;
  });
  const digests = hash160Batch(chunks);
  const keys = digests.map((d) => Buffer.from(d));
  const addresses = keys.map((k) => k.toString('hex'));
  return {
    chunks,
    keys,
    values: chunks,
    verified: chunks.map((data, i) => ({ address: addresses[i] as string, data })),
    announcements: addresses.map((address, position) => ({ position, address })),
  };
}

function tempDir(root: string, name: string): string {
  return mkdtempSync(join(root, `${name}-`));
}

async function time(task: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await task();
  return (performance.now() - start) / 1000;
}

/** One side of a lockstep comparison: writes batch `index` of the workload. */
interface Contender {
  name: string;
  setup(root: string, w: Workload): Promise<void>;
  batch(w: Workload, start: number, end: number): Promise<void>;
  teardown(): Promise<void>;
}

/** Raw lmdb-js: async puts of one batch issued in one event turn, awaited together. */
function rawAsyncPuts(): Contender {
  let env: RootDatabase | undefined;
  let db: Database<Buffer, Buffer> | undefined;
  return {
    name: 'raw async',
    async setup(root) {
      env = open({ path: tempDir(root, 'raw-async'), maxDbs: 8, overlappingSync: false });
      db = env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' });
    },
    async batch(w, start, end) {
      const writes: Promise<boolean>[] = [];
      for (let i = start; i < end; i++) writes.push((db as Database<Buffer, Buffer>).put(w.keys[i] as Buffer, w.values[i] as Buffer));
      await Promise.all(writes);
    },
    teardown: () => (env as RootDatabase).close(),
  };
}

/** Raw lmdb-js: putSync inside one asynchronous transaction per batch. */
function rawTransaction(): Contender {
  let env: RootDatabase | undefined;
  let db: Database<Buffer, Buffer> | undefined;
  return {
    name: 'raw txn',
    async setup(root) {
      env = open({ path: tempDir(root, 'raw-txn'), maxDbs: 8, overlappingSync: false });
      db = env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' });
    },
    async batch(w, start, end) {
      await (env as RootDatabase).transaction(() => {
        for (let i = start; i < end; i++) (db as Database<Buffer, Buffer>).putSync(w.keys[i] as Buffer, w.values[i] as Buffer);
      });
    },
    teardown: () => (env as RootDatabase).close(),
  };
}

function storeContender(name: string, chunkStorage: ChunkStorage, write: (store: LmdbChunkStore, w: Workload, start: number, end: number) => Promise<PutOutcome[]>): Contender {
  let store: LmdbChunkStore | undefined;
  return {
    name,
    async setup(root, w) {
      store = await announcedStore(root, name, w, chunkStorage);
    },
    async batch(w, start, end) {
      const outcomes = await write(store as LmdbChunkStore, w, start, end);
      if (!outcomes.every((o) => o.ok && o.added)) throw new Error(`store bench: ${name} refused a chunk`);
    },
    teardown: () => (store as LmdbChunkStore).close(),
  };
}

const putVerified = () => storeContender('putVerified', 'lmdb', (store, w, start, end) => store.putVerified(w.verified.slice(start, end)));
const putVerifiedLog = () => storeContender('putVerified log', 'log', (store, w, start, end) => store.putVerified(w.verified.slice(start, end)));
const ingest = () => storeContender('ingest', 'lmdb', (store, w, start, end) => store.putMany(w.chunks.slice(start, end)));

/**
 * Runs the contenders in lockstep, batch by batch, rotating which goes first, and records every
 * batch's time: both sides of every ratio see the same disk and CPU weather at the granularity
 * of one batch.
 */
async function lockstep(root: string, w: Workload, contenders: Contender[], samples: Map<string, number[]>): Promise<void> {
  for (const c of contenders) await c.setup(root, w);
  let turn = 0;
  for (let start = 0; start < w.keys.length; start += BATCH) {
    const end = Math.min(start + BATCH, w.keys.length);
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(turn + k) % contenders.length] as Contender;
      const seconds = await time(() => c.batch(w, start, end));
      const list = samples.get(c.name) ?? [];
      list.push((end - start) / seconds);
      samples.set(c.name, list);
    }
    turn++;
  }
  for (const c of contenders) await c.teardown();
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length === 0 ? 0 : sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function rawSequence(root: string, w: Workload): Promise<number> {
  const env = open({ path: tempDir(root, 'raw-seq'), maxDbs: 8, overlappingSync: false });
  const db = env.openDB<Buffer, number>('sequence', { keyEncoding: 'uint32', encoding: 'binary' });
  const seconds = await time(async () => {
    for (let start = 0; start < w.keys.length; start += PAGE) {
      await env.transaction(() => {
        for (let i = start; i < Math.min(start + PAGE, w.keys.length); i++) db.putSync(i, w.keys[i] as Buffer);
      });
    }
  });
  await env.close();
  return w.keys.length / seconds;
}

async function announcedStore(root: string, name: string, w: Workload, chunkStorage: ChunkStorage): Promise<LmdbChunkStore> {
  const store = await LmdbChunkStore.open({ path: tempDir(root, name), chunkStorage });
  for (let start = 0; start < w.announcements.length; start += PAGE) await store.append(w.announcements.slice(start, start + PAGE));
  return store;
}

async function storeAppend(root: string, w: Workload): Promise<number> {
  const store = await LmdbChunkStore.open({ path: tempDir(root, 'append') });
  const seconds = await time(async () => {
    for (let start = 0; start < w.announcements.length; start += PAGE) await store.append(w.announcements.slice(start, start + PAGE));
  });
  await store.close();
  return w.announcements.length / seconds;
}

/** Fills a store of this layout with every chunk, closes it and times opening it again; answers its path and the seconds. */
async function timedReopen(root: string, w: Workload, chunkStorage: ChunkStorage): Promise<{ path: string; seconds: number }> {
  const store = await announcedStore(root, `reopen-${chunkStorage}`, w, chunkStorage);
  for (let start = 0; start < w.verified.length; start += BATCH) await store.putVerified(w.verified.slice(start, start + BATCH));
  const path = store.path;
  await store.close();
  let reopened: LmdbChunkStore | undefined;
  const seconds = await time(async () => {
    reopened = await LmdbChunkStore.open({ path });
  });
  if (reopened?.inventory.count !== w.keys.length) throw new Error(`store bench: the reopened ${chunkStorage} store's inventory is wrong`);
  await reopened.close();
  return { path, seconds };
}

/** Opens full stores of both layouts (every chunk stored and announced), timing each open and a raw scan of the same chunks in LMDB. */
async function reopen(root: string, w: Workload): Promise<{ store: number; log: number; raw: number }> {
  const log = await timedReopen(root, w, 'log');
  const { path, seconds: storeSeconds } = await timedReopen(root, w, 'lmdb');
  const env = open({ path, maxDbs: 8 });
  const chunks = env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' });
  const rawSeconds = await time(async () => {
    let bytes = 0;
    for (const { value } of chunks.getRange({})) bytes += value.length;
    if (bytes === 0) throw new Error('store bench: raw scan read nothing');
  });
  await env.close();
  return { store: w.keys.length / storeSeconds, log: w.keys.length / log.seconds, raw: w.keys.length / rawSeconds };
}

/** Appends `positions` announcements to a new store in `path` and closes it; answers the seconds the appends took. */
async function appendLongSequence(path: string, positions: number): Promise<number> {
  const store = await LmdbChunkStore.open({ path });
  try {
    return await time(async () => {
      for (let start = 0; start < positions; start += PAGE) {
        const count = Math.min(PAGE, positions - start);
        await store.append(Array.from({ length: count }, (_, i) => ({ position: start + i, address: (start + i).toString(16).padStart(40, '0') })));
      }
    });
  } finally {
    await store.close();
  }
}

/**
 * A long sequence: appends `positions` announcements, then opens the store in a process of its
 * own (store/open-memory.ts) for the time a cold open takes and the memory the open store holds:
 * JS heap plus array buffers (its address index is typed arrays, outside the heap).
 */
async function longSequence(root: string, positions: number): Promise<{ reopenSeconds: number; heapMiB: number; appendRate: number }> {
  const path = tempDir(root, 'long');
  const appendSeconds = await appendLongSequence(path, positions);
  const script = await bundleScript(join(import.meta.dirname, 'store', 'open-memory.ts'));
  const opened = await runJsonChild<{ openMs: number; heldBytes: number }>(script, [path, String(positions)], {
    label: 'store open-memory',
    nodeArgs: ['--expose-gc'],
    plainJs: true,
    timeoutMs: 300_000,
  });
  return { reopenSeconds: opened.openMs / 1000, heapMiB: opened.heldBytes / 2 ** 20, appendRate: positions / appendSeconds };
}

const suite: BenchSuite = async (options: BenchOptions): Promise<BenchReport> => {
  const count = options.quick ? 20_000 : 100_000;
  const rounds = options.quick ? 2 : 3;
  const w = makeWorkload(count);
  const base = mkdtempSync(join(tmpdir(), 'atlasnet-bench-store-'));
  const best = new Map<string, number>();
  const keep = (name: string, value: number) => best.set(name, Math.max(best.get(name) ?? 0, value));
  const batchRates = new Map<string, number[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      // a fresh directory per round, deleted after it, so earlier rounds' files weigh on nothing
      const root = tempDir(base, `round${round}`);
      await lockstep(root, w, [rawAsyncPuts(), putVerified(), rawTransaction(), ingest(), putVerifiedLog()], batchRates);
      keep('raw sequence', await rawSequence(root, w));
      keep('append', await storeAppend(root, w));
      const opened = await reopen(root, w);
      keep('reopen', opened.store);
      keep('reopen log', opened.log);
      keep('raw scan', opened.raw);
      rmSync(root, { recursive: true, force: true });
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  for (const [name, rates] of batchRates) best.set(name, median(rates));
  const get = (name: string) => best.get(name) ?? 0;
  const positions = options.quick ? 200_000 : 1_000_000;
  const longRoot = tempDir(tmpdir(), 'atlasnet-bench-store-long');
  let long: Awaited<ReturnType<typeof longSequence>>;
  try {
    long = await longSequence(longRoot, positions);
  } finally {
    rmSync(longRoot, { recursive: true, force: true });
  }
  const rawAsync = get('raw async');
  const rawTxn = get('raw txn');
  const raw = rawAsync >= rawTxn ? { label: 'raw lmdb async puts', value: rawAsync } : { label: 'raw lmdb putSync in transaction', value: rawTxn };
  const rows: BenchRow[] = [
    {
      label: `putVerified, ${CHUNK_SIZE} B, batches of ${BATCH}, chunks in LMDB`,
      value: get('putVerified'),
      unit: 'chunks/s',
      reference: raw,
      target: { min: 0.7, of: 'ratio' },
    },
    {
      label: `putVerified, ${CHUNK_SIZE} B, batches of ${BATCH}, chunk log`,
      value: get('putVerified log'),
      unit: 'chunks/s',
      reference: raw,
      target: { min: 0.7, of: 'ratio' },
    },
    {
      label: `ingest putMany (hash + admission + store), ${CHUNK_SIZE} B`,
      value: get('ingest'),
      unit: 'chunks/s',
      reference: raw,
    },
    {
      label: `append announcements, pages of ${PAGE}`,
      value: get('append'),
      unit: 'positions/s',
      reference: { label: 'raw lmdb sequence puts', value: get('raw sequence') },
    },
    {
      label: 'reopen: derive inventory from chunks + sequence, chunks in LMDB',
      value: get('reopen'),
      unit: 'chunks/s',
      reference: { label: 'raw lmdb scan of the chunks', value: get('raw scan') },
    },
    {
      label: 'reopen: derive inventory from chunks + sequence, chunk log (every record hashed again)',
      value: get('reopen log'),
      unit: 'chunks/s',
      reference: { label: 'raw lmdb scan of the chunks', value: get('raw scan') },
    },
    {
      label: `reopen a store of ${positions.toLocaleString('en')} positions`,
      value: long.reopenSeconds * 1000,
      unit: 'ms',
      note: `in a process of its own, opening cold; appended at ${long.appendRate.toFixed(0)} positions/s`,
    },
    {
      label: `memory held by an open store of ${positions.toLocaleString('en')} positions (JS heap + array buffers)`,
      value: long.heapMiB,
      unit: 'MiB',
      target: { max: 16, of: 'value' },
    },
  ];
  return {
    name: 'store',
    rows,
    notes: [
      `${count.toLocaleString('en')} chunks x ${rounds} rounds; chunk writes: median batch rate; raw references: async puts ${rawAsync.toFixed(0)}/s, putSync in transaction ${rawTxn.toFixed(0)}/s (the faster is the reference)`,
    ],
  };
};

export default suite;
