import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode, type AtlasNodeOptions } from '../../src/node/index.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/types.js';
import { FAST_TIMERS, allSynced, closeAll, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { wrapTransport } from '../support/wrap-transport.js';
import { MIN_JUDGED_REPLY_CHUNKS } from '../../src/sync/peer-views.js';

const open: AtlasNode[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
});

function chainWith(chunks: { address: string }[]): MemoryChain {
  const chain = new MemoryChain();
  chain.announce(chunks.map((c) => c.address));
  return chain;
}

/**
 * Two nodes on `chain`, the first serving through `serving` (with `servingOptions`), the second
 * fetching through `fetching`, until the second holds every chunk put at the first.
 */
async function syncPair(chain: MemoryChain, chunks: { data: Uint8Array }[], serving: Transport, fetching: Transport, label: string, servingOptions: Partial<AtlasNodeOptions> = {}, fetchingOptions: Partial<AtlasNodeOptions> = {}): Promise<AtlasNode[]> {
  const nodes = await startCluster(2, chain, (i) => (i === 0 ? serving : fetching), (i) => (i === 0 ? servingOptions : fetchingOptions));
  open.push(...nodes);
  await nodes[0]!.putChunks(chunks.map((c) => c.data));
  await waitFor(() => allSynced(nodes), `the node fetching from the ${label} one to hold every chunk`);
  return nodes;
}

describe('AtlasNode on its own', () => {
  it('admits announced chunks and refuses the rest with typed errors, changing nothing', async () => {
    const [good, unannounced] = generateChunks(2, seededRandom(1));
    const chain = chainWith([good!]);
    const network = new MemoryNetwork();
    const node = await AtlasNode.open({ chain, transport: network.transport('a') });
    open.push(node);

    const outcomes = await node.putChunksDetailed([good!.data, unannounced!.data, new Uint8Array(0), new Uint8Array(40_961)]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, false]);
    expect(outcomes.map((o) => (o.ok ? null : o.error.code))).toEqual([null, ErrorCodes.NOT_ANNOUNCED, ErrorCodes.CHUNK_EMPTY, ErrorCodes.CHUNK_TOO_LARGE]);
    expect(node.stats().chunks).toBe(1);
    expect(await node.putChunks([good!.data])).toEqual([true]); // idempotent
    const got = await node.getChunks([good!.address.toUpperCase(), unannounced!.address]);
    expect([...got.keys()]).toEqual([good!.address]);
    expect(Buffer.from(got.get(good!.address)!).equals(Buffer.from(good!.data))).toBe(true);
    expect(node.inventory(0, 1)).toEqual(new Uint8Array([0x80]));
  });

  it('tells a puller whether it hears our offers: not when it asked for none, nor when our offer targets are full', async () => {
    const network = new MemoryNetwork();
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: network.transport('a'), push: { maxTargets: 1 } });
    open.push(node);
    await node.start();
    const pull = async (caller: string, extra: { from?: string; offers?: boolean }) => {
      const transport = network.transport(caller);
      await transport.listen({ call: async () => ({}) } as never);
      const reply = await new ProtocolClient(transport).inventoryChanges('a', { since: { epoch: 'none', version: 0 }, ...extra });
      await transport.close();
      return reply.offering;
    };
    expect(await pull('x', { from: 'x' })).toBe(true); // offers asked for by default
    expect(await pull('y', { from: 'y', offers: true })).toBe(false); // the one slot is x's
    expect(await pull('x', { from: 'x', offers: true })).toBe(true);
    expect(await pull('z', { from: 'z', offers: false })).toBe(false);
    expect(await pull('w', {})).toBeUndefined(); // nameless: nothing to tell
  });

  it('sets every position of a chunk announced twice, and follows rollbacks', async () => {
    const [a, b] = generateChunks(2, seededRandom(2));
    const chain = new MemoryChain();
    chain.announce([a!.address, b!.address, a!.address]);
    const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a') });
    open.push(node);
    await node.putChunks([a!.data]);
    expect(node.inventory()).toEqual(new Uint8Array([0b1010_0000]));
    const progress: number[] = [];
    node.on('progress', ({ total }) => progress.push(total));
    chain.rollback(1);
    await waitFor(() => node.stats().sequenceLength === 1, 'the rollback to reach the node');
    expect(node.inventory()).toEqual(new Uint8Array([0x80]));
    expect(progress).toContain(1);
  });

  it('rejects use after close with CLOSED', async () => {
    const node = await AtlasNode.open({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('a') });
    await node.close();
    await expect(node.putChunks([new Uint8Array(1)])).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await node.close(); // idempotent
  });
});

describe('AtlasNode replication over MemoryNetwork', () => {
  it('replicates every chunk to every node and emits typed events', async () => {
    const chunks = generateChunks(300, seededRandom(3));
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const nodes = await startCluster(4, chain, (i) => network.transport(`n${i}`));
    open.push(...nodes);
    const events: string[] = [];
    nodes[3]!.on('chunk', ({ address, from }) => {
      expect(from).not.toBe('local');
      events.push(address);
    });
    nodes[3]!.on('peer:add', ({ peer }) => events.push(`peer:${peer}`));

    expect(await nodes[0]!.putChunks(chunks.map((c) => c.data))).toEqual(chunks.map(() => true));
    await waitFor(() => allSynced(nodes), 'every node to hold every chunk');
    for (const node of nodes) {
      const held = await node.getChunks(chunks.map((c) => c.address));
      for (const chunk of chunks) expect(hash160Hex(held.get(chunk.address)!)).toBe(chunk.address);
      expect(node.stats().downloads.rejectedChunks).toBe(0);
    }
    expect(events.filter((e) => !e.startsWith('peer:')).length).toBe(300);
  });

  it('asks a peer for as many addresses at once as it advertises, and syncs through replies its byte bound cuts short', async () => {
    const chunks = generateChunks(400, seededRandom(5), { size: 300 });
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const asked: number[] = [];
    const recording = (transport: Transport): Transport =>
      wrapTransport(transport, {
        call: (peer, method, params, options, next) => {
          // Packed: the server's inventory replies say it reads 20-byte addresses.
          if (method === 'getChunks') asked.push(((params as { addresses: Uint8Array }).addresses as Uint8Array).length / 20);
          return next(peer, method, params, options);
        },
      });
    // The server answers 40 addresses a call and at most 16 chunks of its largest size (300 B) a reply.
    const bounded = { maxChunkSize: 300, limits: { maxGetAddresses: 40, maxGetChunksBytes: MIN_JUDGED_REPLY_CHUNKS * 300 } };
    // Both ends of a network with chunks of at most 300 B: the fetching node judges the server's put-offs by that size.
    const nodes = await syncPair(chain, chunks, network.transport('s0'), recording(network.transport('s1')), 'bounded', bounded, { maxChunkSize: 300 });
    expect(Math.max(...asked)).toBe(40);
    const downloads = nodes[1]!.stats().downloads;
    expect(downloads.putOffAddresses).toBeGreaterThan(0);
    expect(downloads.unansweredAddresses).toBe(0);
    expect(downloads.rejectedChunks).toBe(0);
  });

  it('gets chunks in request order without their addresses, and in the listed form from a peer that ignores the flag', async () => {
    const chunks = generateChunks(300, seededRandom(6), { size: 170 });
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const recording = (transport: Transport, forms: string[]): Transport =>
      wrapTransport(transport, {
        call: async (peer, method, params, options, next) => {
          const reply = await next(peer, method, params, options);
          if (method === 'getChunks') forms.push(Object.keys(reply as object).join());
          return reply;
        },
      });
    // A node that does not know `inOrder`: the flag never reaches its protocol layer.
    const olderNode = (transport: Transport): Transport =>
      wrapTransport(transport, {
        handle: (method, params, context, next) => next(method, method === 'getChunks' ? { addresses: (params as { addresses: unknown }).addresses } : params, context),
      });
    const syncFrom = async (server: 'current' | 'older'): Promise<string[]> => {
      const forms: string[] = [];
      const serving = server === 'older' ? olderNode(network.transport(`${server}0`)) : network.transport(`${server}0`);
      const nodes = await syncPair(chain, chunks, serving, recording(network.transport(`${server}1`), forms), server);
      expect(nodes[1]!.stats().downloads.rejectedChunks).toBe(0);
      return forms;
    };
    const current = await syncFrom('current');
    expect(current.length).toBeGreaterThan(0);
    expect(new Set(current)).toEqual(new Set(['inOrder']));
    const older = await syncFrom('older');
    expect(older.length).toBeGreaterThan(0);
    expect(new Set(older)).toEqual(new Set(['chunks,missing']));
  });

  it('sends addresses packed to a peer that says it reads them, as hex to one that does not, and turns to hex at once when a peer refuses them', async () => {
    const chunks = generateChunks(300, seededRandom(7), { size: 170 });
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const recording = (transport: Transport, forms: string[]): Transport =>
      wrapTransport(transport, {
        call: (peer, method, params, options, next) => {
          if (method === 'getChunks') forms.push((params as { addresses: unknown }).addresses instanceof Uint8Array ? 'packed' : 'hex');
          return next(peer, method, params, options);
        },
      });
    // An older node refuses packed addresses as its validator did (not an array); `advertise` says
    // whether its inventory replies still claim them (a node that lies, or restarted older).
    const olderNode = (transport: Transport, advertise: boolean): Transport =>
      wrapTransport(transport, {
        handle: async (method, params, context, next) => {
          if (method === 'getChunks' && (params as { addresses: unknown }).addresses instanceof Uint8Array) {
            throw new AtlasError(ErrorCodes.BAD_REQUEST, 'getChunks.addresses: expected an array, got bytes');
          }
          const result = await next(method, params, context);
          if (method === 'inventory' && !advertise) delete (result as { packedAddresses?: boolean }).packedAddresses;
          return result;
        },
      });
    const syncFrom = async (server: 'current' | 'older' | 'lying'): Promise<string[]> => {
      const forms: string[] = [];
      const serving = server === 'current' ? network.transport(`${server}0`) : olderNode(network.transport(`${server}0`), server === 'lying');
      const nodes = await syncPair(chain, chunks, serving, recording(network.transport(`${server}1`), forms), server);
      expect(nodes[1]!.stats().downloads.failedRequests, 'a refused packed request is asked again in hex, not failed').toBe(0);
      return forms;
    };
    const current = await syncFrom('current');
    expect(current.length).toBeGreaterThan(0);
    expect(new Set(current)).toEqual(new Set(['packed']));
    const older = await syncFrom('older');
    expect(older.length).toBeGreaterThan(0);
    expect(new Set(older)).toEqual(new Set(['hex']));
    // Asked again in hex at once, and not packed again (that later inventory replies do not undo it: request-chunks.test).
    const lying = await syncFrom('lying');
    expect(lying.slice(0, 2)).toEqual(['packed', 'hex']);
    expect(lying.filter((form) => form === 'packed')).toHaveLength(1);
  });

  it('pushes a newly put chunk to neighbours long before their next inventory refresh', async () => {
    const chunks = generateChunks(2, seededRandom(4));
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const slowRefresh = { timers: { ...FAST_TIMERS, inventoryRefreshMs: 600_000 } };
    const nodes = await startCluster(3, chain, (i) => network.transport(`p${i}`), () => slowRefresh);
    open.push(...nodes);
    await waitFor(() => nodes.every((n) => n.stats().neighbors.length > 0), 'neighbours to form');
    await nodes[1]!.putChunks([chunks[0]!.data]);
    await waitFor(() => nodes.every((n) => n.stats().have === 1), 'the pushed chunk to spread', 5_000);
  });

  it('fetches on demand with fetchChunks, past one request’s 100 addresses', async () => {
    const chunks = generateChunks(150, seededRandom(5));
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const quiet = { timers: { ...FAST_TIMERS, inventoryRefreshMs: 600_000 }, downloads: { maxInFlight: 0 } };
    const nodes = await startCluster(2, chain, (i) => network.transport(`f${i}`), () => quiet);
    open.push(...nodes);
    await nodes[0]!.putChunks(chunks.map((c) => c.data));
    await waitFor(() => nodes[1]!.stats().peers > 0, 'the second node to know the first');
    const got = await nodes[1]!.fetchChunks(chunks.map((c) => c.address));
    expect(got.size).toBe(150);
    expect(nodes[1]!.stats().chunks).toBe(150);
  });

  it('fetchChunks into a store that refuses the write rejects STORE_IO, and the peer that sent the chunks is not blamed', async () => {
    const chunks = generateChunks(3, seededRandom(6));
    const chain = chainWith(chunks);
    const network = new MemoryNetwork();
    const quiet = { timers: { ...FAST_TIMERS, inventoryRefreshMs: 600_000 }, downloads: { maxInFlight: 0 } };
    const full = new MemoryChunkStore();
    const refused = new AtlasError(ErrorCodes.STORE_IO, 'the disk is full', { errno: 'ENOSPC' });
    full.putVerified = () => Promise.reject(refused);
    const nodes = await startCluster(2, chain, (i) => network.transport(`s${i}`), (i) => (i === 1 ? { ...quiet, store: full } : quiet));
    open.push(...nodes);
    await nodes[0]!.putChunks(chunks.map((c) => c.data));
    await waitFor(() => nodes[1]!.stats().peers > 0, 'the second node to know the first');
    const served = nodes[0]!.address as string;
    // The peer table's health of a peer, read through the node's parts (not public API).
    const health = () => (nodes[1] as unknown as { parts: { overlay: { health(peer: string): number } } }).parts.overlay.health(served);
    await expect(nodes[1]!.fetchChunks(chunks.map((c) => c.address))).rejects.toMatchObject({ code: ErrorCodes.STORE_IO });
    expect(health()).toBe(1); // its call was answered: a success, and no failure beside it
  });
});
