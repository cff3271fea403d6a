/**
 * Security review, admission (SPEC §2): no unannounced or unrequested data is ever stored, and no
 * claim about positions that do not exist changes anything. The victims use LMDB stores, and the
 * raw `chunks` database is read after each run: not one byte of a refused chunk reached the disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes } from '../../src/errors.js';
import { encodePositions } from '../../src/inventory/varint.js';
import { AtlasNode, type AtlasNodeOptions } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { seededRandom } from '../../src/runtime.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { listedChunks } from '../../src/sim/byzantine.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/types.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { LyingTransport } from './hostile/lying-transport.js';
import { storedChunkKeys } from './hostile/target.js';

const dir = mkdtempSync(join(tmpdir(), 'atlas-admission-'));
const open: AtlasNode[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let dirs = 0;
async function startNode(chain: MemoryChain, transport: Transport, extra: Partial<AtlasNodeOptions> = {}): Promise<AtlasNode> {
  const node = await AtlasNode.open({
    chain,
    transport,
    network: 'testnet',
    timers: FAST_TIMERS,
    addressPolicy: LOCAL_ADDRESS_POLICY,
    dataDir: join(dir, `node-${dirs++}`),
    ...extra,
  });
  open.push(node);
  await node.start();
  return node;
}

describe('no unrequested data is stored', () => {
  it('a peer that answers getChunks with chunks nobody asked for gets nothing stored, and is penalised and blocked', async () => {
    const wanted = generateChunks(200, seededRandom(21), { prefix: 'wanted' });
    const [announcedExtra, strangerExtra] = generateChunks(2, seededRandom(22), { prefix: 'extra' });
    // Held by the liar alone, so the victim keeps asking it for them (and never gets them).
    const liarOnly = generateChunks(10, seededRandom(25), { prefix: 'liar-only' });
    const chain = new MemoryChain();
    chain.announce([...wanted, announcedExtra!, ...liarOnly].map((c) => c.address)); // nobody holds announcedExtra
    const network = new MemoryNetwork();
    const honest = await startNode(chain, network.transport('honest'));
    await honest.putChunks(wanted.map((c) => c.data));
    const liar = new LyingTransport(network.transport('liar'), async (method, params, answer) => {
      const reply = await answer();
      if (method !== 'getChunks') return reply;
      const { chunks, missing } = listedChunks(reply, params);
      return { chunks: [...chunks, announcedExtra!, strangerExtra!], missing };
    });
    // A store of its own, written straight into: a node pushes what it is given, and the liar keeps these to itself.
    const liarStore = new MemoryChunkStore();
    await startNode(chain, liar, { seeds: ['honest'], store: liarStore, closeStore: true });
    await liarStore.putMany([...wanted, ...liarOnly].map((c) => c.data));

    const victimDir = join(dir, 'victim-extra');
    const victim = await startNode(chain, network.transport('victim'), {
      seeds: ['honest'],
      dataDir: victimDir,
      downloads: { batchSize: 5, maxInFlightPerPeer: 1, backoff: { baseMs: 20, maxMs: 200, maxEntries: 1_000 } },
    });
    const removals: { peer: string; reason: string }[] = [];
    victim.on('peer:remove', (event) => removals.push(event));

    await waitFor(() => victim.stats().have === wanted.length, 'the victim to sync from the honest peer');
    await waitFor(() => removals.some((r) => r.peer === 'liar' && r.reason === 'penalised'), 'the liar to be removed for its offences');
    expect(liar.served.get('getChunks')).toBeGreaterThan(0);
    expect(victim.store.has(announcedExtra!.address)).toBe(false);
    expect(victim.stats().peers).toBe(1); // the liar is gone and does not come back
    await victim.close();
    const keys = new Set(await storedChunkKeys(victimDir));
    expect(keys.has(announcedExtra!.address)).toBe(false);
    expect(keys.has(strangerExtra!.address)).toBe(false);
    expect(keys.size).toBe(wanted.length);
  });
});

describe('no unannounced data is stored', () => {
  it('a put or a push of unannounced chunks is refused with NOT_ANNOUNCED and leaves no byte on disk', async () => {
    const [announced, stranger, late] = generateChunks(3, seededRandom(23));
    const chain = new MemoryChain();
    chain.announce([announced!.address]);
    const network = new MemoryNetwork();
    const victimDir = join(dir, 'victim-put');
    const victim = await startNode(chain, network.transport('victim'), { dataDir: victimDir });
    const client = new ProtocolClient(network.transport('client'));

    expect((await client.putChunks('victim', { chunks: [stranger!.data, announced!.data] })).saved).toEqual([false, true]);
    expect((await client.putChunks('victim', { chunks: [late!.data], from: 'client' })).saved).toEqual([false]);
    const outcomes = await victim.putChunksDetailed([stranger!.data]);
    expect(outcomes[0]).toMatchObject({ ok: false, error: { code: ErrorCodes.NOT_ANNOUNCED } });
    // Announced later, the same chunk is admitted: refusals leave nothing behind that gets in the way.
    chain.announce([late!.address]);
    await waitFor(() => victim.stats().sequenceLength === 2, 'the announcement to reach the victim');
    expect((await client.putChunks('victim', { chunks: [late!.data] })).saved).toEqual([true]);
    await victim.close();
    expect(new Set(await storedChunkKeys(victimDir))).toEqual(new Set([announced!.address, late!.address]));
  });
});

describe('offers of positions that do not exist', () => {
  it('a neighbour offering positions past the sequence (up to 2^32 - 1) changes nothing and gets a clean answer', async () => {
    const chunks = generateChunks(20, seededRandom(24));
    const chain = new MemoryChain();
    chain.announce(chunks.map((c) => c.address));
    const network = new MemoryNetwork();
    const victim = await startNode(chain, network.transport('victim'));
    const neighbourTransport = network.transport('neighbour');
    await startNode(chain, neighbourTransport, { seeds: ['victim'] });
    await waitFor(() => victim.stats().neighbors.includes('neighbour'), 'the neighbour to be a neighbour of the victim');
    const inventory = Buffer.from(victim.inventory()).toString('hex');
    const asNeighbour = new ProtocolClient(neighbourTransport);
    const stranger = new ProtocolClient(network.transport('stranger'));

    for (const positions of [[20, 21, 1_000_000], [2 ** 32 - 2, 2 ** 32 - 1], [0, 5, 19, 2 ** 31]]) {
      const added = encodePositions(positions);
      const reply = await asNeighbour.offer('victim', { from: 'neighbour', added });
      expect(reply.wanted).toBeLessThanOrEqual(positions.filter((p) => p < 20).length);
    }
    // An offer naming the neighbour, sent by someone else, is refused outright.
    await expect(stranger.offer('victim', { from: 'neighbour', added: encodePositions([1, 2, 3]) })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
    expect(victim.stats().sequenceLength).toBe(20);
    expect(Buffer.from(victim.inventory()).toString('hex')).toBe(inventory);
    expect(victim.stats().chunks).toBe(0);
  });
});
