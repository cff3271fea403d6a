/**
 * A flipped byte inside a stored chunk. LMDB keeps no checksums, so the damage is invisible to
 * the store: the node must find it when the chunk is about to leave (verify-on-serve), on every
 * path a chunk leaves by, quarantine it and fetch it again from a peer. A chunk log re-hashes
 * every record when it opens, so there the byte is flipped while the node runs (damage the open
 * could not see), with the same outcome.
 *
 * Each serving path is tested as the FIRST reader of a freshly corrupted copy of the store: once
 * any path has quarantined the chunk, every other path would answer "absent" whether it checks
 * the bytes or not.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/index.js';
import { legacyRoutes } from '../../src/legacy/index.js';
import type { CorruptChunkEvent } from '../../src/node/events.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import type { ChunkStorage } from '../../src/store/lmdb.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { HttpTransport } from '../../src/transport/http.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-corrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Chunks with a unique, greppable body each. */
function chunks(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`integrity chunk #${i} ${'abcdefghij'.repeat(30 + i)} end of ${i}`));
}

function open(dataDir: string, chain: MemoryChain, seeds: string[] = [], chunkStorage: ChunkStorage = 'lmdb'): Promise<AtlasNode> {
  return AtlasNode.open({
    dataDir,
    chunkStorage,
    chain,
    seeds,
    network: 'testnet',
    transport: new HttpTransport({ listen: '127.0.0.1:0', routes: legacyRoutes(true) }),
    timers: FAST_TIMERS,
    addressPolicy: LOCAL_ADDRESS_POLICY,
  });
}

const data = chunks(12);
const chain = new MemoryChain();
chain.announce(data.map((chunk) => hash160Hex(chunk)));
const target = data[5] as Uint8Array;
const address = hash160Hex(target);
/**
 * Closed data directories holding every chunk: with chunks in LMDB, `target` already has one byte
 * flipped in data.mdb; with a chunk log, `damage` flips it once the node is open.
 */
const baseDirs: Record<ChunkStorage, string> = { lmdb: join(root, 'base-lmdb'), log: join(root, 'base-log') };
let copies = 0;

/** Flips one byte inside `target`, found in `file` by its content. */
function flipInside(file: string): void {
  const bytes = readFileSync(file);
  const at = bytes.indexOf(target);
  expect(at).toBeGreaterThan(0);
  expect(bytes.indexOf(target, at + 1)).toBe(-1);
  bytes.writeUInt8(bytes.readUInt8(at + 40) ^ 0x01, at + 40);
  writeFileSync(file, bytes);
}

beforeAll(async () => {
  for (const layout of ['lmdb', 'log'] as const) {
    const first = await open(baseDirs[layout], chain, [], layout);
    await first.putChunks(data);
    await first.close();
  }
  flipInside(join(baseDirs.lmdb, 'data.mdb'));
});

/** A fresh copy of a base directory, never opened. */
function corruptCopy(layout: ChunkStorage): string {
  const dir = join(root, `copy-${copies++}`);
  cpSync(baseDirs[layout], dir, { recursive: true });
  return dir;
}

/** The damage a node with this layout cannot see at open: nothing more for LMDB, a flipped byte in chunks.log for a log. */
function damage(layout: ChunkStorage, dir: string): void {
  if (layout === 'log') flipInside(join(dir, 'chunks.log'));
}

/** Reads the chunk at `wanted` by one serving path: its bytes, or undefined when answered absent. */
type ServingPath = (node: AtlasNode, client: ProtocolClient, wanted: string) => Promise<Uint8Array | undefined>;

async function httpGet(node: AtlasNode, path: string, decode: (response: Response) => Promise<Uint8Array>): Promise<Uint8Array | undefined> {
  const response = await fetch(`http://${node.address}${path}`);
  if (response.status === 200) return decode(response);
  await response.arrayBuffer();
  expect(response.status, path).toBe(404);
  return undefined;
}

const raw = async (response: Response) => new Uint8Array(await response.arrayBuffer());

const SERVING_PATHS: [string, ServingPath][] = [
  ['the embedder API, node.getChunks', async (node, _client, wanted) => (await node.getChunks([wanted])).get(wanted)],
  [
    'the protocol, getChunks',
    async (node, client, wanted) => {
      const reply = await client.getChunks(node.address as string, { addresses: [wanted] });
      return reply.chunks.find((chunk) => chunk.address === wanted)?.data;
    },
  ],
  ['HTTP, GET /chunks/<address>', (node, _client, wanted) => httpGet(node, `/chunks/${wanted}`, raw)],
  ['the original Atlas REST API, GET /v1/zonefiles/<address>', (node, _client, wanted) => httpGet(node, `/v1/zonefiles/${wanted}`, raw)],
  [
    'Stacks 2.x attachments, GET /v2/attachments/<address>',
    (node, _client, wanted) => httpGet(node, `/v2/attachments/${wanted}`, async (response) => Buffer.from((await response.json()) as string, 'hex')),
  ],
];

describe.each(['lmdb', 'log'] as const)('a byte flipped inside a stored chunk (chunks in %s)', (layout) => {
  it.each(SERVING_PATHS)('is not served by %s when it is the first to read it; quarantined with one chunk:corrupt event', async (_name, read) => {
    const dir = corruptCopy(layout);
    const victim = await open(dir, chain);
    damage(layout, dir);
    const events: CorruptChunkEvent[] = [];
    victim.on('chunk:corrupt', (event) => events.push(event));
    const clientTransport = new HttpTransport({});
    const client = new ProtocolClient(clientTransport);
    try {
      await victim.start();
      expect(victim.stats().have).toBe(data.length); // the store cannot see the damage by itself
      expect(victim.store.has(address)).toBe(true);
      expect(events).toEqual([]);
      expect(await read(victim, client, address)).toBeUndefined();
      await waitFor(() => events.length === 1, 'the chunk:corrupt event');
      expect(events[0]).toEqual({ address, positions: [5] });
      expect(victim.store.has(address)).toBe(false);
      expect(victim.stats().have).toBe(data.length - 1);
      // Asked again by the same path: still absent, and no second event.
      expect(await read(victim, client, address)).toBeUndefined();
      expect(events).toHaveLength(1);
      // An intact chunk does leave by this path.
      const intact = data[0] as Uint8Array;
      expect(Buffer.from((await read(victim, client, hash160Hex(intact))) ?? []).equals(Buffer.from(intact))).toBe(true);
      expect(events).toHaveLength(1);
    } finally {
      await victim.close();
      await clientTransport.close();
    }
  }, 20_000);

  it('is fetched again from a peer; while it is repaired every path answers absent or the right bytes', async () => {
    const dir = corruptCopy(layout);
    // A peer holding every chunk.
    const peer = await open(join(root, `peer-${layout}`), chain);
    await peer.putChunks(data);
    await peer.start();

    const victim = await open(dir, chain, [peer.address as string]);
    damage(layout, dir);
    const events: CorruptChunkEvent[] = [];
    victim.on('chunk:corrupt', (event) => events.push(event));
    const clientTransport = new HttpTransport({});
    const client = new ProtocolClient(clientTransport);
    const served: Uint8Array[] = [];
    const servedBy = new Set<string>();
    try {
      const local = await victim.getChunks([address]);
      expect(local.has(address)).toBe(false);
      await waitFor(() => events.length === 1, 'the chunk:corrupt event');
      await victim.start();
      await waitFor(
        async () => {
          for (const [name, read] of SERVING_PATHS) {
            const bytesOut = await read(victim, client, address);
            if (bytesOut === undefined) continue;
            served.push(bytesOut);
            servedBy.add(name);
          }
          return victim.stats().have === data.length && servedBy.size === SERVING_PATHS.length;
        },
        'the chunk fetched again from the peer',
        20_000,
        50,
      );
      // Every path serves the repaired chunk, not one path several times.
      expect([...servedBy].sort()).toEqual(SERVING_PATHS.map(([name]) => name).sort());
      for (const bytesOut of served) expect(hash160Hex(bytesOut)).toBe(address);
      expect(Buffer.from((await victim.getChunks([address])).get(address) as Uint8Array).equals(Buffer.from(target))).toBe(true);
      expect(events).toHaveLength(1);
    } finally {
      await victim.close();
      await peer.close();
      await clientTransport.close();
    }

    // Repaired for good: the bytes on disk hash right after a restart.
    const again = await open(dir, chain);
    try {
      expect(Buffer.from((await again.getChunks([address])).get(address) as Uint8Array).equals(Buffer.from(target))).toBe(true);
    } finally {
      await again.close();
    }
  }, 40_000);
});
