/**
 * A real node to attack: LMDB store, a chain announcing a known pool of chunks (some stored, some
 * only announced), the default address policy, and a transport that never dials out. Snapshots of
 * its state let a fuzz run prove that hostile input changed nothing but what valid puts may change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { MemoryChain } from '../../../src/chain/memory.js';
import { hash160Hex } from '../../../src/hash/index.js';
import { legacyRoutes } from '../../../src/legacy/index.js';
import { AtlasNode } from '../../../src/node/index.js';
import type { RequestLimits } from '../../../src/protocol/request-guard.js';
import { seededRandom } from '../../../src/runtime.js';
import { generateChunks, type GeneratedChunk } from '../../../src/sim/workload.js';
import { LmdbChunkStore } from '../../../src/store/lmdb.js';
import { HttpTransport, splitHostPort, type HttpLimits } from '../../../src/transport/http.js';
import type { TransportService } from '../../../src/transport/types.js';
import { CaptureTransport, ServeOnlyTransport } from './capture-transport.js';

export const FUZZ_NETWORK = 'fuzznet';
export const MAX_CHUNK_SIZE = 40_960;

export interface FuzzPool {
  /** Announced and stored before the run. */
  held: GeneratedChunk[];
  /** Announced, not stored: a valid put may store them (the only state change allowed). */
  missing: GeneratedChunk[];
  /** Never announced: must never be stored. */
  unannounced: GeneratedChunk[];
  /** Exactly maxChunkSize bytes, announced and stored. */
  big: GeneratedChunk;
  /** maxChunkSize + 1 bytes, announced (so only its size refuses it). */
  oversize: GeneratedChunk;
  /** Every address the chain announced. */
  announced: ReadonlySet<string>;
}

export interface StateSnapshot {
  sequenceLength: number;
  sequenceDigest: string;
  inventory: string;
  chunkCount: number;
  chunkBytes: number;
  held: Set<string>;
}

export interface FuzzTarget {
  node: AtlasNode;
  pool: FuzzPool;
  dataDir: string;
  /** The node's service itself (capture mode). */
  service: TransportService | undefined;
  /** The HTTP port (http mode). */
  port: number | undefined;
  /** Addresses the node tried to dial (it never reaches any). */
  dials(): { peer: string; method: string }[];
  snapshot(): StateSnapshot;
  close(): Promise<void>;
}

export interface FuzzTargetOptions {
  transport: 'capture' | 'http';
  /** Folder for the LMDB data dir. */
  dir: string;
  seed: number;
  http?: Partial<HttpLimits>;
  requests?: Partial<RequestLimits>;
}

export function makePool(seed: number): FuzzPool {
  const random = seededRandom(seed);
  const held = generateChunks(120, random, { prefix: 'held' });
  const missing = generateChunks(60, random, { prefix: 'missing' });
  const unannounced = generateChunks(60, random, { prefix: 'stranger' });
  const bigData = new Uint8Array(MAX_CHUNK_SIZE).fill(0x5a);
  bigData.set(Buffer.from(`big ${seed}`));
  const oversizeData = new Uint8Array(MAX_CHUNK_SIZE + 1).fill(0x33);
  const big = { address: hash160Hex(bigData), data: bigData };
  const oversize = { address: hash160Hex(oversizeData), data: oversizeData };
  const announced = new Set([...held, ...missing, big, oversize].map((c) => c.address));
  return { held, missing, unannounced, big, oversize, announced };
}

export async function openFuzzTarget(options: FuzzTargetOptions): Promise<FuzzTarget> {
  const pool = makePool(options.seed);
  const chain = new MemoryChain();
  // Announced twice, some of them: one chunk at several positions.
  chain.announce([...pool.held, pool.big, ...pool.missing, pool.oversize, ...pool.held.slice(0, 10)].map((c) => c.address));
  const dataDir = join(options.dir, `target-${options.transport}-${options.seed}`);
  const store = await LmdbChunkStore.open({ path: dataDir, noSync: true });
  let capture: CaptureTransport | undefined;
  let serveOnly: ServeOnlyTransport | undefined;
  let http: HttpTransport | undefined;
  if (options.transport === 'capture') capture = new CaptureTransport();
  else {
    // The legacy API too: its XML-RPC, REST and attachment routes face the same hostile input.
    http = new HttpTransport({ listen: '127.0.0.1:0', limits: options.http ?? {}, routes: legacyRoutes(true) });
    serveOnly = new ServeOnlyTransport(http);
  }
  const node = await AtlasNode.open({
    store,
    closeStore: true, // node.close() releases the LMDB environment and its lock
    chain,
    transport: (capture ?? serveOnly) as CaptureTransport | ServeOnlyTransport,
    network: FUZZ_NETWORK,
    random: seededRandom(options.seed + 1),
    timers: { roundMs: 200, inventoryRefreshMs: 1_000, neighborRenewMs: 5_000, refusalMs: 10_000 },
    requests: options.requests ?? { ratePerSecond: Infinity },
  });
  const saved = await node.putChunks([...pool.held, pool.big].map((c) => c.data));
  if (!saved.every(Boolean)) throw new Error('fuzz target: could not store its own chunks');
  await node.start();
  return {
    node,
    pool,
    dataDir,
    service: capture?.service,
    port: node.address !== undefined && http !== undefined ? splitHostPort(node.address).port : undefined,
    dials: () => [...(capture ?? serveOnly)!.dials],
    snapshot: () => snapshotOf(node),
    close: () => node.close(),
  };
}

export function snapshotOf(node: AtlasNode): StateSnapshot {
  const store = node.store;
  const held = new Set<string>();
  for (let position = 0; position < store.sequenceLength(); position++) {
    const address = store.addressAt(position) as string;
    if (store.has(address)) held.add(address);
  }
  return {
    sequenceLength: store.sequenceLength(),
    sequenceDigest: store.sequenceDigest(),
    inventory: Buffer.from(node.inventory()).toString('hex'),
    chunkCount: store.chunkCount(),
    chunkBytes: store.chunkBytes(),
    held,
  };
}

/**
 * Problems found comparing two snapshots: the sequence must be unchanged, and the only chunks
 * that may have appeared are announced ones of `pool.missing` (a valid put stores those).
 */
export function stateProblems(before: StateSnapshot, after: StateSnapshot, pool: FuzzPool): string[] {
  const problems: string[] = [];
  if (after.sequenceLength !== before.sequenceLength) problems.push(`sequence length ${before.sequenceLength} -> ${after.sequenceLength}`);
  if (after.sequenceDigest !== before.sequenceDigest) problems.push('sequence digest changed');
  const allowed = new Set(pool.missing.map((c) => c.address));
  for (const address of before.held) if (!after.held.has(address)) problems.push(`chunk ${address} disappeared`);
  for (const address of after.held) if (!before.held.has(address) && !allowed.has(address)) problems.push(`chunk ${address} appeared`);
  if (after.chunkCount !== after.held.size) problems.push(`chunkCount ${after.chunkCount}, ${after.held.size} held`);
  return problems;
}

/** Every key of the store's raw `chunks` database (open it only once the node is closed). */
export async function storedChunkKeys(dataDir: string): Promise<string[]> {
  const env = openLmdb({ path: dataDir, maxDbs: 8, readOnly: true });
  const keys: string[] = [];
  try {
    const chunks = env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' });
    for (const key of chunks.getKeys()) keys.push(Buffer.from(key as Buffer).toString('hex'));
  } finally {
    await env.close();
  }
  return [...keys, ...chunkLogRecordKeys(join(dataDir, 'chunks.log'))];
}

/**
 * The address of every record in a chunk log, read straight from the file (16-byte header, then
 * records of uint32 LE length, 20-byte address, data), whole or not: what is on disk, not what the
 * store would accept.
 */
function chunkLogRecordKeys(file: string): string[] {
  if (!existsSync(file)) return [];
  const bytes = readFileSync(file);
  const keys: string[] = [];
  for (let at = 16; at + 24 <= bytes.length; at += 24 + bytes.readUInt32LE(at)) keys.push(bytes.subarray(at + 4, at + 24).toString('hex'));
  return keys;
}
