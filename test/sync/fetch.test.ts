/**
 * The node's fetchChunks() pass over peers: known holders first, then every known peer (read once
 * per pass, not once per address), each address asked of at most MAX_PEERS_PER_ADDRESS peers, and
 * one reading of what a failed call says about the peer.
 */
import { describe, expect, it } from 'vitest';
import type { Address } from '../../src/address.js';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { seededRandom, systemClock } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { Changes } from '../../src/sync/changes.js';
import { MAX_PEERS_PER_ADDRESS } from '../../src/sync/fetch.js';
import { nodeFetcher, type NodeFetchParts } from '../../src/sync/fetch-chunks.js';
import { MIN_JUDGED_REPLY_CHUNKS, PeerViews } from '../../src/sync/peer-views.js';

type Answer = (peer: string, addresses: Address[]) => { chunks: { address: Address; data: Uint8Array }[]; missing: Address[]; later?: Address[] };

/** `chunkSize`: every chunk that size, and the store's maxChunkSize (default: corpus-like sizes, 40 KiB at most). */
async function setup(count: number, answer: Answer, known: string[], chunkSize?: number) {
  await hashReady();
  const chunks = generateChunks(count, seededRandom(9), chunkSize === undefined ? {} : { size: chunkSize });
  const store = chunkSize === undefined ? new MemoryChunkStore() : new MemoryChunkStore({ maxChunkSize: chunkSize });
  await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
  const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
  const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: DEFAULT_LIMITS, self: () => 'me', localLength: () => store.sequenceLength() });
  const asked: { peer: string; addresses: Address[] }[] = [];
  const calls: string[] = [];
  const faults: string[] = [];
  let knownReads = 0;
  const fetch = nodeFetcher({
    store,
    random: seededRandom(10),
    readLocal: () => [],
    clock: systemClock,
    changes: new Changes(systemClock),
    lifetime: new AbortController().signal,
    client: {
      async getChunks(peer, params) {
        asked.push({ peer, addresses: [...params.addresses] });
        return answer(peer, [...params.addresses]);
      },
    },
    limits: DEFAULT_LIMITS,
    views,
    batchSize: 500,
    knownPeers: () => {
      knownReads++;
      return known;
    },
    canFetch: () => true,
    passBudgetMs: 30_000,
    onStored() {},
    onFault: (peer, error) => faults.push(`${peer}:${error.code}`),
    onCall: (peer, ok) => calls.push(`${peer}:${ok}`),
  });
  return { chunks, store, views, fetch, asked, calls, faults, knownReads: () => knownReads };
}

const nothing: Answer = (_peer, addresses) => ({ chunks: [], missing: addresses });

describe('fetchChunks over peers', () => {
  it('reads the known peers once per pass however many addresses are asked, and asks each address of at most MAX_PEERS_PER_ADDRESS peers', async () => {
    const known = Array.from({ length: 20 }, (_, i) => `peer-${i}`);
    const { chunks, fetch, asked, knownReads } = await setup(300, nothing, known);
    const result = await fetch(chunks.map((c) => c.address), {});
    expect(result.missing).toHaveLength(300);
    expect(knownReads()).toBe(1);
    expect(new Set(asked.map((a) => a.peer))).toEqual(new Set(known.slice(0, MAX_PEERS_PER_ADDRESS)));
  });

  it('asks a known holder first, and the other known peers after it, healthiest first', async () => {
    const byAddress = new Map<Address, Uint8Array>();
    const serve: Answer = (peer, addresses) => (peer === 'late' ? { chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] } : nothing(peer, addresses));
    const { chunks, views, fetch, asked } = await setup(2, serve, ['a', 'b', 'late']);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('late');
    views.markHeld('late', Uint32Array.of(1), 0);
    const result = await fetch(chunks.map((c) => c.address), {});
    expect(result.get(chunks[1]!.address)).toEqual(chunks[1]!.data);
    expect(asked.filter((a) => a.addresses.includes(chunks[1]!.address)).map((a) => a.peer)).toEqual(['late']);
    expect(asked.filter((a) => a.addresses.includes(chunks[0]!.address)).map((a) => a.peer)).toEqual(['a', 'b', 'late']);
  });

  it('asks a peer as many addresses at once as it advertises (100 when it does not), and again for those a reply put off', async () => {
    const byAddress = new Map<Address, Uint8Array>();
    // MIN_JUDGED_REPLY_CHUNKS chunks of the largest size a reply; the rest put off for size.
    const serve: Answer = (_peer, addresses) => ({
      chunks: addresses.slice(0, MIN_JUDGED_REPLY_CHUNKS).map((a) => ({ address: a, data: byAddress.get(a)! })),
      missing: [],
      later: addresses.slice(MIN_JUDGED_REPLY_CHUNKS),
    });
    const { chunks, views, fetch, asked, faults } = await setup(250, serve, ['big', 'old'], 512);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('big');
    views.markHeld('big', Uint32Array.from({ length: 150 }, (_, i) => i), 0);
    views.get('big')!.maxGetAddresses = 120;
    views.get('big')!.maxGetChunksBytes = MIN_JUDGED_REPLY_CHUNKS * 512; // as its inventory reply says
    views.track('old');
    views.markHeld('old', Uint32Array.from({ length: 100 }, (_, i) => 150 + i), 0);
    views.get('old')!.maxGetChunksBytes = MIN_JUDGED_REPLY_CHUNKS * 512;
    const result = await fetch(chunks.map((c) => c.address), {});
    expect(result.complete).toBe(true);
    expect(result.size).toBe(250);
    expect(Math.max(...asked.filter((a) => a.peer === 'big').map((a) => a.addresses.length))).toBe(120);
    expect(Math.max(...asked.filter((a) => a.peer === 'old').map((a) => a.addresses.length))).toBe(100);
    expect(faults).toEqual([]);
  });

  it('asks the holders it views in another order each pass: the first one tracked is not asked first by every fetch', async () => {
    const byAddress = new Map<Address, Uint8Array>();
    const serve: Answer = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
    const { chunks, views, fetch, asked } = await setup(12, serve, []);
    for (const c of chunks) byAddress.set(c.address, c.data);
    for (const peer of ['first', 'second', 'third']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: 12 }, (_, i) => i), 0);
    }
    const firstAsked: string[] = [];
    for (const chunk of chunks) {
      const before = asked.length;
      await fetch([chunk.address], {});
      firstAsked.push(asked[before]!.peer);
    }
    expect(new Set(firstAsked).size).toBe(3);
  });

  it('asks the next peer, not the same one, for addresses put off far below the byte bound', async () => {
    const byAddress = new Map<Address, Uint8Array>();
    const serve: Answer = (_peer, addresses) => ({ chunks: [{ address: addresses[0]!, data: byAddress.get(addresses[0]!)! }], missing: [], later: addresses.slice(1) });
    const { chunks, fetch, asked } = await setup(10, serve, ['stingy', 'other']);
    for (const c of chunks) byAddress.set(c.address, c.data);
    await fetch(chunks.map((c) => c.address), {});
    // stingy (default 4 MiB bound) sent one small chunk and put nine off: asked once, not nine times.
    expect(asked.filter((a) => a.peer === 'stingy')).toHaveLength(1);
    expect(asked.find((a) => a.peer === 'other')?.addresses).toHaveLength(9);
  });

  it('penalises a malformed reply, counts a timeout against the peer, and spares a busy one', async () => {
    const fail: Answer = (peer) => {
      const code = peer === 'liar' ? ErrorCodes.BAD_REPLY : peer === 'slow' ? ErrorCodes.TIMEOUT : ErrorCodes.BUSY;
      throw new AtlasError(code, peer);
    };
    const { chunks, fetch, calls, faults } = await setup(1, fail, ['liar', 'slow', 'busy']);
    await fetch([chunks[0]!.address], {});
    expect(faults).toEqual(['liar:BAD_REPLY']);
    expect(calls).toEqual(['slow:false']);
  });
});

/** A fetcher over `store` asking `known` peers through `client`, with no inventories read; stored chunks are read back when `readsStore`. */
function fetcherOver(store: MemoryChunkStore, client: NodeFetchParts['client'], known: string[], passBudgetMs: number, readsStore = false) {
  const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
  return nodeFetcher({
    store,
    random: seededRandom(10),
    readLocal: (addresses) => (readsStore ? addresses.flatMap((address) => { const data = store.get(address); return data ? [{ address, data }] : []; }) : []),
    clock: systemClock,
    changes: new Changes(systemClock),
    lifetime: new AbortController().signal,
    client,
    limits: DEFAULT_LIMITS,
    views: new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: DEFAULT_LIMITS, self: () => 'me', localLength: () => store.sequenceLength() }),
    batchSize: 500,
    knownPeers: () => known,
    canFetch: () => true,
    passBudgetMs,
    onStored() {},
    onFault() {},
    onCall() {},
  });
}

describe('fetchChunks with a wait of some milliseconds', () => {
  it('ends by its wait when every holder stalls each call until the chunks timeout (a pass asks up to 8 in turn)', async () => {
    await hashReady();
    const [chunk] = generateChunks(1, seededRandom(3));
    const store = new MemoryChunkStore();
    await store.append([{ position: 0, address: chunk!.address }]);
    const STALL_MS = 2_000; // stands for the 30 s chunks timeout
    let calls = 0;
    const known = Array.from({ length: 10 }, (_, i) => `stall${i}`);
    const fetch = fetcherOver(
      store,
      {
        getChunks(_peer, _params, options) {
          calls++;
          return new Promise((_resolve, reject) => {
            const timer = setTimeout(() => reject(new AtlasError(ErrorCodes.TIMEOUT, 'stalled')), STALL_MS);
            options?.signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              reject(new AtlasError(ErrorCodes.ABORTED, 'aborted'));
            }, { once: true });
          });
        },
      },
      known,
      300, // stands for the chunks timeout too
    );
    for (const wait of [1_000, false] as const) {
      calls = 0;
      const startedAt = performance.now();
      const result = await fetch([chunk!.address], { wait });
      const tookMs = performance.now() - startedAt;
      expect(result.missing).toEqual([chunk!.address]);
      expect(tookMs, String(wait)).toBeLessThan((wait || 300) + 500); // by the wait, or the pass budget: not held by the stalled call
      expect(calls).toBe(1);
    }
  });

  it('returns what a pass cut short had fetched, and a short wait gets at least what no wait gets', async () => {
    await hashReady();
    const [fast, slow] = generateChunks(2, seededRandom(4));
    const store = new MemoryChunkStore();
    await store.append([fast!, slow!].map((c, i) => ({ position: i, address: c.address })));
    const fetch = fetcherOver(
      store,
      {
        // 'good' answers in 100 ms with the fast chunk, and says it lacks the other; the rest stall.
        getChunks(peer, params, options) {
          return new Promise((resolve, reject) => {
            if (peer === 'good') {
              setTimeout(() => resolve({ chunks: params.addresses.includes(fast!.address) ? [{ address: fast!.address, data: fast!.data }] : [], missing: params.addresses.filter((a) => a !== fast!.address) }), 100);
              return;
            }
            options?.signal?.addEventListener('abort', () => reject(new AtlasError(ErrorCodes.ABORTED, 'aborted')), { once: true });
          });
        },
      },
      ['good', 'stall1', 'stall2'],
      400,
      true,
    );
    const result = await fetch([fast!.address, slow!.address], { wait: 50 });
    expect([...result.keys()]).toEqual([fast!.address]); // fetched in the pass's first round, before the budget cut it
    expect(result.missing).toEqual([slow!.address]);
  });
});
