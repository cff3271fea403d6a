/** Downloader behaviours found in review: idle peers are used, and only "don't have" clears bits. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { isCheckedAddresses } from '../../src/protocol/checked-addresses.js';
import { isHandedOver } from '../../src/store/handed-over.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { seededRandom, systemClock, type Clock } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { storeReceived, type ReceivedBatch, type ReceivedOutcome } from '../../src/store/received.js';
import type { GetChunksResult } from '../../src/protocol/messages.js';
import { DEFAULT_DOWNLOADER, type DownloaderOptions } from '../../src/sync/downloader-options.js';
import { Downloader } from '../../src/sync/downloader.js';
import { WorkPlan, type PlannedRequest } from '../../src/sync/work-plan.js';
import { MIN_JUDGED_REPLY_CHUNKS, PeerViews } from '../../src/sync/peer-views.js';
import { waitFor } from '../support/wait.js';
import type { PeerView } from '../../src/sync/peer-view.js';

type Reply = (peer: string, addresses: string[]) => { chunks: { address: string; data: Uint8Array }[]; missing: string[]; later?: string[] };

/** `chunkSize`: every chunk that size, and the store's maxChunkSize (default: corpus-like sizes, 40 KiB at most). */
async function setup(count: number, reply: Reply, options?: Partial<DownloaderOptions>, packedReply?: (peer: string) => Promise<never> | undefined, clock: Clock = systemClock, chunkSize?: number) {
  await hashReady();
  const chunks = generateChunks(count, seededRandom(1), chunkSize === undefined ? {} : { size: chunkSize });
  const store = chunkSize === undefined ? new MemoryChunkStore() : new MemoryChunkStore({ maxChunkSize: chunkSize });
  await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
  const requests: Record<string, number> = {};
  const sizes: Record<string, number[]> = {};
  const forms: string[] = [];
  const client: { handsOverReplies?: boolean; getChunks(peer: string, params: { addresses: string[] }, callOptions?: { packed?: boolean }): Promise<ReturnType<Reply>> } = {
    async getChunks(peer: string, params: { addresses: string[] }, callOptions?: { packed?: boolean }) {
      forms.push(`${peer}:${callOptions?.packed === true ? 'packed' : 'hex'}`);
      const refusal = callOptions?.packed === true ? packedReply?.(peer) : undefined;
      if (refusal !== undefined) return refusal;
      requests[peer] = (requests[peer] ?? 0) + 1;
      (sizes[peer] ??= []).push(params.addresses.length);
      await new Promise((resolve) => setTimeout(resolve, peer === 'S' ? 40 : 5)); // S is the slow one
      return reply(peer, params.addresses);
    },
  };
  const views = handMarkedViews(() => store.sequenceLength());
  const faults: string[] = [];
  const hooks = {
    stored() {},
    called() {},
    fault: (peer: string, fault: string) => faults.push(`${peer}:${fault}`),
    reliability: () => 1,
    storeFailed() {},
  };
  const downloader = new Downloader({ store, views, client, clock, random: seededRandom(2), hooks }, options);
  return { chunks, store, views, downloader, requests, sizes, faults, forms, client };
}

/** Real timers, with the time `now` says (standing still, or moved by hand). */
function clockAt(now: () => number): Clock {
  return { now, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
}

/** Peer views marked by hand (`views.markHeld`): no inventory is ever pulled. */
function handMarkedViews(localLength: () => number): PeerViews {
  const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
  return new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength }, { maxPeers: 8 });
}

/** What one take() plans, every request's addresses (or positions) together. */
function planned(batches: Map<string, PlannedRequest>, field: 'addresses' | 'positions' = 'addresses'): (string | number)[] {
  return [...batches.values()].flatMap((request): (string | number)[] => [...request[field]]);
}

/** Peer P holds all `count` positions; the downloader runs until the store holds them, `seen` told of every batch it puts. */
/** What the store was handed for one reply: each chunk's address and position hint, and whether the bytes were handed over. */
interface HandedToStore {
  chunks: { address: string; position: number | undefined }[];
  handedOver: boolean;
}

/**
 * Downloads `count` chunks from one peer, showing `seen` each reply as the store gets it: as
 * columns (the library's stores), or as objects through putVerified (a store without the columns'
 * entry, as an embedder's own store is).
 */
async function downloadAllFromOnePeer(
  parts: { store: MemoryChunkStore; views: PeerViews; downloader: Downloader },
  count: number,
  seen: (batch: HandedToStore) => void,
  via: 'columns' | 'objects' = 'columns',
): Promise<void> {
  const { store, views, downloader } = parts;
  const receiving = store as unknown as Record<typeof storeReceived, ((batch: ReceivedBatch) => Promise<ReceivedOutcome>) | undefined>;
  if (via === 'columns') {
    const receive = store[storeReceived].bind(store);
    receiving[storeReceived] = (batch) => {
      const keys = Buffer.from(batch.keys.buffer, batch.keys.byteOffset, batch.keys.byteLength);
      const chunks = batch.hints.map((hint, i) => ({ address: keys.toString('hex', i * 20, (i + 1) * 20), position: hint < 0 ? undefined : hint }));
      seen({ chunks, handedOver: batch.handedOver });
      return receive(batch);
    };
  } else {
    receiving[storeReceived] = undefined;
    const putVerified = store.putVerified.bind(store);
    store.putVerified = (batch) => {
      seen({ chunks: batch.map((chunk) => ({ address: chunk.address, position: chunk.position })), handedOver: isHandedOver(batch) });
      return putVerified(batch);
    };
  }
  views.track('P');
  views.markHeld('P', Uint32Array.from({ length: count }, (_, i) => i), 0);
  running.push(downloader);
  downloader.pump();
  await waitFor(() => store.inventory.count === count, 'every chunk to be stored', 10_000);
}

const running: Downloader[] = [];
afterEach(() => running.splice(0).forEach((d) => d.stop()));

describe('Downloader', () => {
  it('pauses every request while the store refuses writes (a full disk) and backs no address off: all stored soon after the disk has room', async () => {
    const count = 3_000;
    const serve: Reply = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
    const byAddress = new Map<string, Uint8Array>();
    // The addresses' own back-off as by default (1 s, doubling): a refused write must not use it.
    const { chunks, store, views, downloader, requests, faults } = await setup(count, serve, { storeRetryMs: 100, maxStoreRetryMs: 300 });
    for (const c of chunks) byAddress.set(c.address, c.data);
    let full = true;
    let refusals = 0;
    const receiving = store as unknown as Record<typeof storeReceived, (batch: ReceivedBatch) => Promise<ReceivedOutcome>>;
    const receive = receiving[storeReceived].bind(store);
    receiving[storeReceived] = (batch) => {
      if (!full) return receive(batch);
      refusals++;
      return Promise.reject(new AtlasError(ErrorCodes.STORE_IO, 'no space left on the device', { errno: 'ENOSPC' }));
    };
    views.track('P');
    views.markHeld('P', Uint32Array.from({ length: count }, (_, i) => i), 0);
    running.push(downloader);
    downloader.pump();
    // Full for 3.2 s: addresses backed off per refusal would wait 1, 2, then 4 s, past the outage.
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    const asked = requests.P ?? 0;
    expect(refusals).toBeGreaterThan(0);
    // Paused between refusals (100, 200, then 300 ms): a few rounds of at most 6 requests, not a stream.
    expect(asked).toBeLessThan(6 * 20);
    full = false;
    const freedAt = Date.now();
    await waitFor(() => store.inventory.count === count, 'every chunk to be stored once the disk has room', 10_000);
    expect(Date.now() - freedAt).toBeLessThan(1_500);
    expect(faults).toEqual([]); // the peer is not blamed for our disk
  });

  it('keeps a peer busy even when rarest-first puts another peer’s sole holdings first', async () => {
    const serve: Reply = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
    const byAddress = new Map<string, Uint8Array>();
    const { chunks, views, downloader, requests } = await setup(30_000, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('S');
    views.track('T');
    views.markHeld('S', Uint32Array.from({ length: 30_000 }, (_, i) => i), 0); // S alone holds 0..19,999
    views.markHeld('T', Uint32Array.from({ length: 10_000 }, (_, i) => 20_000 + i), 0);
    running.push(downloader);
    downloader.pump();
    // S's 200 sole-holder batches take seconds at 3 in flight; T must not wait for them.
    await waitFor(() => (requests.T ?? 0) >= 3, 'the idle peer T to be asked too', 10_000);
    expect(requests.S).toBeGreaterThan(0);
    expect(requests.S).toBeLessThan(100);
  });

  it.each(['columns', 'objects'] as const)('hands the store (%s) the position each chunk was asked at, whatever order the peer answers in', async (via) => {
    const byAddress = new Map<string, Uint8Array>();
    // Every other reply comes back reversed: a walk in request order must not be assumed.
    let replies = 0;
    const serve: Reply = (_peer, addresses) => {
      const chunks = addresses.map((a) => ({ address: a, data: byAddress.get(a)! }));
      return { chunks: replies++ % 2 === 0 ? chunks : chunks.reverse(), missing: [] };
    };
    const { chunks, store, views, downloader } = await setup(600, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    const hints: [string, number | undefined][] = [];
    await downloadAllFromOnePeer({ store, views, downloader }, 600, (batch) => {
      for (const chunk of batch.chunks) hints.push([chunk.address, chunk.position]);
    }, via);
    expect(replies).toBeGreaterThan(1);
    expect(hints).toHaveLength(600);
    for (const [address, position] of hints) expect(store.addressAt(position as number), address).toBe(address);
  });

  it.each(['columns', 'objects'] as const)('hands a reply\'s chunks over to the store (%s) when its transport hands replies over, and only then', async (via) => {
    for (const handsOverReplies of [true, false, undefined]) {
      const byAddress = new Map<string, Uint8Array>();
      const serve: Reply = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
      const { chunks, store, views, downloader, client } = await setup(300, serve);
      for (const c of chunks) byAddress.set(c.address, c.data);
      if (handsOverReplies !== undefined) client.handsOverReplies = handsOverReplies;
      const handedOver: boolean[] = [];
      await downloadAllFromOnePeer({ store, views, downloader }, 300, (batch) => void handedOver.push(batch.handedOver), via);
      downloader.stop();
      expect(handedOver.length, String(handsOverReplies)).toBeGreaterThan(1);
      expect(new Set(handedOver), String(handsOverReplies)).toEqual(new Set([handsOverReplies === true]));
    }
  });

  it.each([true, false])('never has an address announced at several positions in flight twice, and stores it at all of them (store says which repeat: %s)', async (saysWhichRepeat) => {
    await hashReady();
    const [a, b, c] = generateChunks(3, seededRandom(5));
    const store = new MemoryChunkStore();
    await store.append([a, b, a, c, a].map((chunk, position) => ({ position, address: chunk!.address })));
    // A store of the embedder's own need not say which addresses repeat (isRepeatedAt is optional).
    const source = saysWhichRepeat ? store : { inventory: store.inventory, addressAt: (p: number) => store.addressAt(p), positionsOf: (address: string) => store.positionsOf(address) };
    const views = handMarkedViews(() => store.sequenceLength());
    for (const peer of ['P', 'Q']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: 5 }, (_, i) => i), 0);
    }
    const plan = new WorkPlan(source, views, seededRandom(6), DEFAULT_DOWNLOADER);
    const taken = plan.take(2, 2, 0, () => true, () => 1);
    const asked = planned(taken);
    expect(asked.filter((address) => address === a!.address)).toHaveLength(1);
    expect(new Set(asked).size).toBe(asked.length);
    // Every address is asked once: a at one of its three positions, b and c at theirs.
    expect([...asked].sort()).toEqual([a, b, c].map((chunk) => chunk!.address).sort());
    // Once the request ends, another position of a may be asked again (nothing was stored).
    for (const request of taken.values()) plan.release(request);
    const again = planned(plan.take(2, 5, 0, () => true, () => 1), 'positions');
    expect(again.filter((position) => [0, 2, 4].includes(position as number))).toHaveLength(1);
    // The position hint a downloader passes stores it once, at all three positions.
    await store.putVerified([{ address: a!.address, data: a!.data, position: 2 }]);
    expect(Array.from(store.inventory.positions())).toEqual([0, 2, 4]);
  });

  it('does not hold a position back for the failure of the address a rollback removed from it', async () => {
    await hashReady();
    const [a, b] = generateChunks(2, seededRandom(11));
    const store = new MemoryChunkStore();
    await store.append([{ position: 0, address: a!.address }]);
    const views = handMarkedViews(() => store.sequenceLength());
    views.track('P');
    views.markHeld('P', Uint32Array.of(0), 0);
    const plan = new WorkPlan(store, views, seededRandom(12), DEFAULT_DOWNLOADER);
    // A's request is in flight when the chain rolls back and announces B at position 0.
    await store.truncate(0);
    plan.truncate(0);
    await store.append([{ position: 0, address: b!.address }]);
    views.markHeld('P', Uint32Array.of(0), 0);
    plan.markStale();
    // A's reply arrives; the store refuses it (no longer announced), and A backs off.
    plan.fail(a!.address, 0, 0);
    expect(planned(plan.take(1, 5, 1, () => true, () => 1))).toEqual([b!.address]);
  });

  it('does not ask an address again at a position announced while it is in flight', async () => {
    await hashReady();
    const [a, b] = generateChunks(2, seededRandom(7));
    const store = new MemoryChunkStore();
    await store.append([a, b].map((chunk, position) => ({ position, address: chunk!.address })));
    const views = handMarkedViews(() => store.sequenceLength());
    views.track('P');
    views.markHeld('P', Uint32Array.of(0, 1), 0);
    const plan = new WorkPlan(store, views, seededRandom(8), DEFAULT_DOWNLOADER);
    const first = plan.take(1, 1, 0, () => true, () => 1);
    expect(planned(first)).toHaveLength(1);
    const inFlight = planned(first)[0] as string;
    const other = [a, b].find((chunk) => chunk!.address !== inFlight)!.address;
    // The address asked is announced again, at position 2, while its request is open.
    await store.append([{ position: 2, address: inFlight }]);
    views.markHeld('P', Uint32Array.of(0, 1, 2), 0);
    plan.markStale();
    expect(planned(plan.take(3, 5, 1_000_000, () => true, () => 1))).toEqual([other]);
    for (const request of first.values()) plan.release(request);
    expect(planned(plan.take(3, 5, 2_000_000, () => true, () => 1))).toContain(inFlight);
  });

  it('plans requests the client may send unchecked: canonical addresses read at their positions, none twice at once, frozen', async () => {
    await hashReady();
    const random = seededRandom(11);
    const distinct = generateChunks(60, seededRandom(12)).map((chunk) => chunk.address);
    // 240 positions, each address announced about four times, in random order.
    const sequence = Array.from({ length: 240 }, (_, position) => ({ position, address: distinct[Math.floor(random() * distinct.length)] as string }));
    const store = new MemoryChunkStore();
    await store.append(sequence);
    const views = handMarkedViews(() => store.sequenceLength());
    for (const peer of ['P', 'Q', 'R']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from(sequence.filter(() => random() < 0.7).map((entry) => entry.position)), 0);
    }
    const plan = new WorkPlan(store, views, seededRandom(13), { ...DEFAULT_DOWNLOADER, planWindow: 64 });
    let open: PlannedRequest[] = [];
    let checkedBatches = 0;
    for (let round = 0; round < 200; round++) {
      const batches = plan.take(1 + Math.floor(random() * 3), 1 + Math.floor(random() * 12), round, () => true, () => 1);
      for (const request of batches.values()) {
        checkedBatches++;
        expect(isCheckedAddresses(request.addresses)).toBe(true);
        expect(Object.isFrozen(request.addresses)).toBe(true);
        request.addresses.forEach((address, i) => expect(address).toBe(store.addressAt(request.positions[i] as number)));
        open.push(request);
      }
      const inFlight = open.flatMap((request) => [...request.addresses]);
      expect(new Set(inFlight).size).toBe(inFlight.length);
      // Some requests end; the rest stay in flight into the next rounds.
      open = open.filter((request) => {
        if (random() < 0.5) return true;
        plan.release(request);
        return false;
      });
      if (round % 10 === 0) plan.markStale();
    }
    expect(checkedBatches).toBeGreaterThan(100);
  });

  it('a withheld chunk (unanswered or "don’t have") clears the claim; three withholding replies in a minute are a fault', async () => {
    const { views, downloader, faults } = await setup(4, (_peer, addresses) => ({ chunks: [], missing: addresses.slice(0, 1) }));
    views.track('P');
    running.push(downloader);
    for (let round = 1; round <= 3; round++) {
      views.markHeld('P', Uint32Array.of(0, 1, 2, 3), 0); // the liar claims them all again
      downloader.inventoriesChanged();
      await waitFor(() => downloader.stats.missingReplies >= round, `reply ${round} to be handled`, 5_000);
      const view = views.get('P')!.inventory;
      expect([0, 1, 2, 3].filter((p) => view.has(p))).toEqual([]); // every claim it broke is cleared
      expect(downloader.stats.unansweredAddresses).toBe(3 * round);
      expect(faults).toEqual(round < 3 ? [] : ['P:bad-data']);
    }
  });

  it('a reply answering every address, some with "don’t have", clears exactly those claims and counts them as withheld', async () => {
    const byAddress = new Map<string, Uint8Array>();
    // Holds positions 0 and 1 only; answers every address it is asked (in the order asked).
    const held = new Set<string>();
    const serve: Reply = (_peer, addresses) => ({
      chunks: addresses.filter((a) => held.has(a)).map((a) => ({ address: a, data: byAddress.get(a)! })),
      missing: addresses.filter((a) => !held.has(a)),
    });
    const { chunks, store, views, downloader, faults } = await setup(4, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    held.add(chunks[0]!.address);
    held.add(chunks[1]!.address);
    views.track('P');
    running.push(downloader);
    for (let round = 1; round <= 3; round++) {
      views.markHeld('P', Uint32Array.of(0, 1, 2, 3), 0);
      downloader.inventoriesChanged();
      await waitFor(() => downloader.stats.missingReplies >= 2 * round, `reply ${round} to be handled`, 5_000);
      const view = views.get('P')!.inventory;
      expect([0, 1, 2, 3].filter((p) => view.has(p))).toEqual([0, 1]); // only the "don't have" claims are cleared
      expect(faults).toEqual(round < 3 ? [] : ['P:bad-data']);
    }
    expect(store.chunkCount()).toBe(2);
    expect(downloader.stats.unansweredAddresses).toBe(0);
  });

  it('sends a peer as many requests as it may have in flight at once, from the first pump on', async () => {
    const replies: (() => void)[] = [];
    const byAddress = new Map<string, Uint8Array>();
    const { chunks, store, views, downloader, client } = await setup(2_000, () => ({ chunks: [], missing: [] }), { maxInFlightPerPeer: 3, maxInFlight: 6, batchSize: 100 });
    for (const c of chunks) byAddress.set(c.address, c.data);
    const asked: number[] = [];
    // Replies wait until released: what the first pump starts is all that is in flight.
    client.getChunks = (_peer, params) => {
      asked.push(params.addresses.length);
      return new Promise((resolve) => replies.push(() => resolve({ chunks: params.addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] })));
    };
    views.track('P');
    views.markHeld('P', Uint32Array.from({ length: 2_000 }, (_, i) => i), 0);
    views.get('P')!.maxGetAddresses = 100;
    running.push(downloader);
    downloader.pump();
    await waitFor(() => asked.length >= 3, 'the first requests', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(asked).toEqual([100, 100, 100]); // three at once, to the one peer, and no more
    expect(downloader.requestsInFlight).toBe(3);
    for (const release of replies.splice(0)) release();
    await waitFor(() => store.chunkCount() === 300 && asked.length === 6, 'the next three requests', 5_000);
    expect(downloader.requestsInFlight).toBe(3);
  });

  it('asks a peer for at most what its inventory replies say it answers, and 100 when they say nothing', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const serve: Reply = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
    const { chunks, store, views, downloader, sizes, faults } = await setup(3_000, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('A');
    views.track('B');
    views.markHeld('A', Uint32Array.from({ length: 1_500 }, (_, i) => i), 0);
    views.markHeld('B', Uint32Array.from({ length: 1_500 }, (_, i) => 1_500 + i), 0);
    views.get('A')!.maxGetAddresses = 7; // as A's inventory reply would set it
    running.push(downloader);
    downloader.pump();
    await waitFor(() => store.chunkCount() === 3_000, 'every chunk', 20_000);
    expect(Math.max(...sizes.A!)).toBe(7);
    expect(Math.max(...sizes.B!)).toBe(100); // B advertised nothing: the unadvertised bound, not batchSize
    expect(DEFAULT_DOWNLOADER.batchSize).toBeGreaterThan(100);
    expect(faults).toEqual([]);
  });

  it('asks a peer whose round trip is long for wideBatchSize addresses at once, a near one for batchSize, each within what it answers', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const serve: Reply = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
    const { chunks, store, views, downloader, sizes, faults } = await setup(9_000, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    for (const [peer, from, roundTripMs, answers] of [['FAR', 0, 120, 1_000], ['NEAR', 3_000, 2, 1_000], ['SMALL', 6_000, 120, 600]] as const) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: 3_000 }, (_, i) => from + i), 0);
      // As its inventory replies and the timing of its inventory calls would set them.
      views.get(peer)!.maxGetAddresses = answers;
      views.get(peer)!.recentRoundTrips = [roundTripMs];
    }
    running.push(downloader);
    downloader.pump();
    await waitFor(() => store.chunkCount() === 9_000, 'every chunk', 20_000);
    expect(Math.max(...sizes.FAR!)).toBe(DEFAULT_DOWNLOADER.wideBatchSize);
    expect(Math.max(...sizes.NEAR!)).toBe(DEFAULT_DOWNLOADER.batchSize);
    expect(Math.max(...sizes.SMALL!)).toBe(600);
    expect(DEFAULT_DOWNLOADER.wideBatchSize).toBeGreaterThan(DEFAULT_DOWNLOADER.batchSize);
    expect(faults).toEqual([]);
  });

  it('asks again, without a fault, for the addresses a reply put off for its size', async () => {
    const byAddress = new Map<string, Uint8Array>();
    // A peer whose byte bound lets MIN_JUDGED_REPLY_CHUNKS chunks of the largest size through per reply.
    const serve: Reply = (_peer, addresses) => ({
      chunks: addresses.slice(0, MIN_JUDGED_REPLY_CHUNKS).map((address) => ({ address, data: byAddress.get(address)! })),
      missing: [],
      later: addresses.slice(MIN_JUDGED_REPLY_CHUNKS),
    });
    const { chunks, store, views, downloader, sizes, faults } = await setup(100, serve, undefined, undefined, systemClock, 512);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('P');
    views.markHeld('P', Uint32Array.from({ length: 100 }, (_, i) => i), 0);
    views.get('P')!.maxGetChunksBytes = MIN_JUDGED_REPLY_CHUNKS * 512; // as P's inventory reply would say
    running.push(downloader);
    downloader.pump();
    await waitFor(() => store.chunkCount() === 100, 'every chunk, 16 a reply', 20_000);
    expect(sizes.P!.length).toBeGreaterThanOrEqual(100 / MIN_JUDGED_REPLY_CHUNKS);
    expect(downloader.stats.putOffAddresses).toBeGreaterThan(0);
    expect(downloader.stats.unansweredAddresses).toBe(0);
    expect(views.get('P')!.inventory.count).toBe(100); // nothing put off cleared P's claims
    expect(faults).toEqual([]);
  });

  describe('plans again at once, ahead of a long window, the addresses a request gave back', () => {
    // A window far longer than what is in flight, and no re-plan for a minute: before, addresses a
    // request gave back waited for the window to run short (here, its very end).
    const options: Partial<DownloaderOptions> = {
      batchSize: 10,
      maxInFlight: 2,
      maxInFlightPerPeer: 1,
      planWindow: 400,
      replanMs: 60_000,
      hedge: { minMs: 10, maxMs: 50, initialMs: 20, slowPeerMs: 60_000 },
    };
    type Answer = (addresses: readonly string[], signal: AbortSignal | undefined) => Promise<GetChunksResult>;

    /** `batchSize`: requests' size (10; a peer whose replies may put addresses off needs more than MIN_JUDGED_REPLY_CHUNKS). */
    async function giveBack(first: string, answerFirst: Answer, batchSize = 10): Promise<{ givenBack: string[]; heldWhenStored: number }> {
      await hashReady();
      // Chunks of the store's largest size: a reply of MIN_JUDGED_REPLY_CHUNKS of them may put the rest off.
      const chunks = generateChunks(400, seededRandom(21), { size: 512 });
      const byAddress = new Map(chunks.map((chunk) => [chunk.address, chunk.data]));
      const store = new MemoryChunkStore({ maxChunkSize: 512 });
      await store.append(chunks.map((chunk, position) => ({ position, address: chunk.address })));
      const views = handMarkedViews(() => store.sequenceLength());
      const serve = async (addresses: readonly string[]) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return { chunks: addresses.map((address) => ({ address, data: byAddress.get(address)! })), missing: [] };
      };
      let givenBack: string[] | undefined;
      const client = {
        async getChunks(peer: string, params: { addresses: readonly string[] }, callOptions?: { signal?: AbortSignal }) {
          if (peer !== first || givenBack !== undefined) return serve(params.addresses);
          givenBack = [...params.addresses];
          return answerFirst(params.addresses, callOptions?.signal);
        },
      };
      // The first peer is the most reliable holder, so it gets the first request; the other is a holder too.
      const hooks = { stored() {}, called() {}, fault() {}, reliability: (peer: string) => (peer === first ? 1 : 0.4), storeFailed() {} };
      const downloader = new Downloader({ store, views, client, clock: systemClock, random: seededRandom(22), hooks }, { ...options, batchSize });
      running.push(downloader);
      for (const peer of first === 'P' ? ['P'] : [first, 'F']) {
        views.track(peer);
        views.markHeld(peer, Uint32Array.from({ length: 400 }, (_, i) => i), 0);
      }
      // P's byte bound lets MIN_JUDGED_REPLY_CHUNKS chunks through per reply (its inventory replies would say so).
      if (first === 'P') views.get('P')!.maxGetChunksBytes = MIN_JUDGED_REPLY_CHUNKS * 512;
      downloader.pump();
      await waitFor(() => givenBack !== undefined, 'the first request', 2_000);
      const back = givenBack as unknown as string[];
      await waitFor(() => back.every((address) => store.has(address)), 'the addresses given back', 10_000);
      return { givenBack: back, heldWhenStored: store.chunkCount() };
    }

    it('a hedged request\'s (its peer stalls): asked of another holder next', async () => {
      const stall: Answer = (_addresses, signal) => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
      const { givenBack, heldWhenStored } = await giveBack('S', stall);
      expect(givenBack).toHaveLength(10);
      expect(heldWhenStored).toBeLessThan(300); // 400: at the window's end
    });

    it('a BUSY peer\'s: asked of another holder next', async () => {
      const busy: Answer = async () => {
        throw new AtlasError(ErrorCodes.BUSY, 'too many requests in progress; retry later', { retryAfterMs: 60_000 });
      };
      const { givenBack, heldWhenStored } = await giveBack('B', busy);
      expect(givenBack).toHaveLength(10);
      expect(heldWhenStored).toBeLessThan(300); // 400: at the window's end
    });

    it('those a reply put off for its size: asked again next', async () => {
      const fillsItsBound: Answer = async (addresses) => {
        const held = new Map(generateChunks(400, seededRandom(21), { size: 512 }).map((c) => [c.address, c.data]));
        const sent = addresses.slice(0, MIN_JUDGED_REPLY_CHUNKS);
        return { chunks: sent.map((address) => ({ address, data: held.get(address)! })), missing: [], later: addresses.slice(MIN_JUDGED_REPLY_CHUNKS) };
      };
      const { givenBack, heldWhenStored } = await giveBack('P', fillsItsBound, 20);
      expect(givenBack).toHaveLength(20);
      expect(heldWhenStored).toBeLessThan(300); // 400: at the window's end
    });
  });

  // A bound announced below MIN_JUDGED_REPLY_CHUNKS chunks is held to that many: one byte made every such reply honest.
  it.each([['the default 4 MiB', undefined], ['one byte', 1]])('counts addresses put off far below the peer\'s byte bound as withheld (it announces %s)', async (_bound, announced) => {
    const byAddress = new Map<string, Uint8Array>();
    // One small chunk a reply, the rest "later".
    const serve: Reply = (_peer, addresses) => ({ chunks: [{ address: addresses[0]!, data: byAddress.get(addresses[0]!)! }], missing: [], later: addresses.slice(1) });
    const { chunks, views, downloader, faults } = await setup(40, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('P');
    if (announced !== undefined) views.get('P')!.maxGetChunksBytes = announced;
    running.push(downloader);
    for (let round = 1; round <= 3; round++) {
      views.markHeld('P', Uint32Array.from({ length: 40 }, (_, i) => i), 0);
      downloader.inventoriesChanged();
      await waitFor(() => downloader.stats.chunksReceived >= round, `reply ${round}`, 5_000);
    }
    await waitFor(() => faults.length > 0, 'the withholding fault', 5_000);
    expect(faults[0]).toBe('P:bad-data');
    expect(downloader.stats.putOffAddresses).toBe(0);
  });

  it('asks another holder at once for chunks a peer sent corrupt, without backing their addresses off, and not the liar again until it claims them again', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const asked: Record<string, number> = {};
    const serve: Reply = (peer, addresses) => {
      asked[peer] = (asked[peer] ?? 0) + addresses.length;
      return { chunks: addresses.map((a) => ({ address: a, data: peer === 'L' ? new Uint8Array([1, 2, 3]) : byAddress.get(a)! })), missing: [] };
    };
    // Time stands still: an address backed off would never be planned again.
    const frozen = clockAt(() => 1_000_000);
    const { chunks, store, views, downloader, faults } = await setup(20, serve, undefined, undefined, frozen);
    for (const c of chunks) byAddress.set(c.address, c.data);
    const all = Uint32Array.from({ length: 20 }, (_, i) => i);
    views.track('L');
    views.markHeld('L', all, 0);
    running.push(downloader);
    downloader.pump();
    await waitFor(() => downloader.stats.rejectedChunks === 20, 'the liar\'s reply', 2_000);
    expect(faults).toEqual(['L:bad-data']);
    views.track('H');
    views.markHeld('H', all, 0);
    downloader.inventoriesChanged();
    await waitFor(() => store.chunkCount() === 20, 'every chunk, from the honest holder', 2_000);
    expect(asked).toEqual({ L: 20, H: 20 });
  });

  it('asks the other holder at once for the addresses of a request that failed as a whole, backing off only what no one else claims', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const asked: Record<string, number> = {};
    const serve: Reply = (peer, addresses) => {
      asked[peer] = (asked[peer] ?? 0) + 1;
      if (peer === 'F') throw new AtlasError(ErrorCodes.BAD_REPLY, 'getChunks: not a reply');
      return { chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] };
    };
    // Time stands still: an address backed off would never be planned again.
    const frozen = clockAt(() => 1_000_000);
    const { chunks, store, views, downloader } = await setup(40, serve, { batchSize: 5 }, undefined, frozen);
    for (const c of chunks) byAddress.set(c.address, c.data);
    // F and H both claim positions 0-29; only F claims 30-39.
    views.track('F');
    views.markHeld('F', Uint32Array.from({ length: 40 }, (_, i) => i), 0);
    views.track('H');
    views.markHeld('H', Uint32Array.from({ length: 30 }, (_, i) => i), 0);
    running.push(downloader);
    downloader.pump();
    await waitFor(() => store.chunkCount() === 30, 'every chunk H holds, F\'s failed share included', 2_000);
    expect(asked.F).toBeGreaterThan(0);
    // What only F claims waits out its back-off instead of being asked of F in a loop.
    const failedSoFar = asked.F;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(asked.F).toBe(failedSoFar);
    expect(asked.F).toBeLessThanOrEqual(8);
    expect(store.chunkCount()).toBe(30);
  });

  it('asks each address of two holders that both fail at most twice, then backs it off (no hand-over back and forth)', async () => {
    const askedAddresses: Record<string, number> = {};
    const serve: Reply = (peer, addresses) => {
      for (const address of addresses) askedAddresses[address] = (askedAddresses[address] ?? 0) + 1;
      throw new AtlasError(ErrorCodes.UNREACHABLE, `${peer} is unreachable`);
    };
    // Time moves only when the test says: the addresses back off for a minute at least.
    let now = 1_000_000;
    const { views, downloader } = await setup(40, serve, { batchSize: 5, backoff: { ...DEFAULT_DOWNLOADER.backoff, baseMs: 60_000 } }, undefined, clockAt(() => now));
    for (const peer of ['A', 'B']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: 40 }, (_, i) => i), 0);
    }
    running.push(downloader);
    downloader.pump();
    await waitFor(() => downloader.stats.failedRequests >= 8, 'the first failures', 2_000);
    // Each holder is paused after its second failure in a row (busy-peers.ts failed()): past its
    // pauses (1, 2, 4, 8 s), well within the addresses' back-off, it is asked the rest.
    for (let step = 0; step < 4; step++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      now += 10_000;
      downloader.pump();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    const failed = downloader.stats.failedRequests;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(downloader.stats.failedRequests).toBe(failed);
    expect(Object.keys(askedAddresses)).toHaveLength(40);
    expect(Math.max(...Object.values(askedAddresses))).toBeLessThanOrEqual(2);
  });

  it('backs a spared address off, then asks the peer that failed it again, once no other holder claims it', async () => {
    const byAddress = new Map<string, Uint8Array>();
    let failures = 0;
    const serve: Reply = (peer, addresses) => {
      if (peer === 'F' && failures++ === 0) throw new AtlasError(ErrorCodes.UNREACHABLE, 'F is unreachable');
      // M claims them all but has none: each "don't have" clears its claim.
      if (peer === 'M') return { chunks: [], missing: addresses };
      return { chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] };
    };
    let now = 1_000_000;
    const clock = clockAt(() => now);
    const { chunks, store, views, downloader } = await setup(10, serve, { batchSize: 5 }, undefined, clock);
    for (const c of chunks) byAddress.set(c.address, c.data);
    for (const peer of ['F', 'M']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: 10 }, (_, i) => i), 0);
    }
    running.push(downloader);
    downloader.pump();
    await waitFor(() => failures >= 1 && downloader.stats.missingReplies >= 5, 'F\'s failure and M\'s "don\'t have"', 2_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // What F failed went to M, which has none of it: F alone claims it now. After a back-off it is F's again.
    now += 60_000;
    downloader.inventoriesChanged();
    await waitFor(() => store.chunkCount() === 10, 'every chunk, from F', 2_000);
  });

  it('forgets a spared position once it is stored, by whatever way it came', async () => {
    await hashReady();
    const chunks = generateChunks(10, seededRandom(3));
    const store = new MemoryChunkStore();
    await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
    const views = handMarkedViews(() => store.sequenceLength());
    for (const peer of ['F', 'G']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: 10 }, (_, i) => i), 0);
    }
    const plan = new WorkPlan(store, views, seededRandom(4), DEFAULT_DOWNLOADER);
    const taken = plan.take(1, 10, 0, (peer) => peer === 'F', () => 1);
    const request = taken.get('F')!;
    plan.failRequest(request, 0, 'F');
    plan.release(request, 'all', 'F');
    expect(plan.sparedCount).toBe(10);
    // Stored by another way (a source's backfill, a hedged request's late reply), not through this plan's requests.
    await store.putVerified(chunks.slice(0, 6).map((c) => ({ address: c.address, data: c.data })));
    plan.markStale();
    plan.take(1, 10, 1_000, () => false, () => 1);
    expect(plan.sparedCount).toBe(4);
    // Past the back-off's ceiling the rest go too: once no other peer claims them they are never
    // planned again to be backed off, and peers failing requests for chunks nobody stores filled the map for good.
    views.untrack('G', 1_000);
    plan.markStale();
    plan.take(1, 10, 1_000 + 600_000, () => false, () => 1);
    expect(plan.sparedCount).toBe(0);
  });

  it('does not believe a liar\'s claims to the chunks it sent corrupt again before refutedClaimMs, whatever it offers', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const asked: Record<string, number> = {};
    const serve: Reply = (peer, addresses) => {
      asked[peer] = (asked[peer] ?? 0) + addresses.length;
      return { chunks: addresses.map((a) => ({ address: a, data: peer === 'L' ? new Uint8Array([1, 2, 3]) : byAddress.get(a)! })), missing: [] };
    };
    let now = 1_000_000;
    const clock = clockAt(() => now);
    const { chunks, store, views, downloader } = await setup(20, serve, { refutedClaimMs: 60_000 }, undefined, clock);
    for (const c of chunks) byAddress.set(c.address, c.data);
    const all = Uint32Array.from({ length: 20 }, (_, i) => i);
    views.track('L');
    views.markHeld('L', all, now);
    running.push(downloader);
    downloader.pump();
    await waitFor(() => downloader.stats.rejectedChunks === 20, 'the liar\'s reply', 2_000);
    // It offers them all again (a seed is never blocked): not believed, not asked.
    now += 59_000;
    expect(views.markHeld('L', all, now)).toBe(0);
    expect(views.get('L')!.inventory.count).toBe(0);
    downloader.inventoriesChanged();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(asked).toEqual({ L: 20 });
    // Its time is up: its claims count again, and it is asked again.
    now += 2_000;
    expect(views.markHeld('L', all, now)).toBe(20);
    downloader.inventoriesChanged();
    await waitFor(() => downloader.stats.rejectedChunks === 40, 'the liar asked again', 2_000);
    expect(store.chunkCount()).toBe(0);
  });

  it('plans a chunk a peer sent corrupt again at once, ahead of the window, and only with the holders still claiming it', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const lies: string[] = [];
    const serve: Reply = (peer, addresses) => ({
      chunks: addresses.map((a) => {
        if (peer !== 'L') return { address: a, data: byAddress.get(a)! };
        lies.push(a);
        if (!liedAt.has(a)) liedAt.set(a, storeRef.count());
        return { address: a, data: new Uint8Array([1, 2, 3]) };
      }),
      missing: [],
    });
    // How many chunks the store held when each lied-about address was lied about, and when stored.
    const liedAt = new Map<string, number>();
    const storeRef = { count: () => 0 };
    const { chunks, store, views, downloader } = await setup(3_000, serve, { batchSize: 50 });
    storeRef.count = () => store.chunkCount();
    for (const c of chunks) byAddress.set(c.address, c.data);
    const storedAt = new Map<string, number>();
    const receive = store[storeReceived].bind(store);
    (store as unknown as Record<typeof storeReceived, (batch: ReceivedBatch) => Promise<ReceivedOutcome>>)[storeReceived] = async (batch) => {
      const outcome = await receive(batch);
      const keys = Buffer.from(batch.keys.buffer, batch.keys.byteOffset, batch.keys.byteLength);
      for (let i = 0; i < batch.count; i++) storedAt.set(keys.toString('hex', i * 20, (i + 1) * 20), store.chunkCount());
      return outcome;
    };
    const all = Uint32Array.from({ length: 3_000 }, (_, i) => i);
    for (const peer of ['L', 'H']) {
      views.track(peer);
      views.markHeld(peer, all, 0);
    }
    running.push(downloader);
    downloader.pump();
    await waitFor(() => store.chunkCount() === 3_000, 'every chunk', 10_000);
    expect(lies.length).toBeGreaterThan(0);
    // Every chunk L lied about came from H soon after, not at the window's end (3,000 chunks later).
    const lags = [...new Set(lies)].map((address) => (storedAt.get(address) ?? Infinity) - (liedAt.get(address) ?? 0));
    expect(Math.max(...lags)).toBeLessThan(600);
  });

  it('sets a BUSY peer aside for its pause and asks another holder at once, without backing the addresses off', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const times: Record<string, number[]> = {};
    const serve: Reply = (peer, addresses) => {
      (times[peer] ??= []).push(Date.now());
      if (peer === 'B') throw new AtlasError(ErrorCodes.BUSY, 'too many requests in progress; retry later', { retryAfterMs: 400 });
      return { chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] };
    };
    const { chunks, store, views, downloader, faults } = await setup(20, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('B');
    views.markHeld('B', Uint32Array.from({ length: 20 }, (_, i) => i), 0);
    running.push(downloader);
    const started = Date.now();
    downloader.pump();
    await waitFor(() => (times.B?.length ?? 0) >= 1, 'the busy peer to be asked', 2_000);
    views.track('C');
    views.markHeld('C', Uint32Array.from({ length: 20 }, (_, i) => i), 0);
    downloader.inventoriesChanged();
    // Backed off, the addresses would wait 1-2 s; set aside, B's share goes to C now.
    await waitFor(() => store.chunkCount() === 20, 'every chunk, from the other holder', 2_000);
    expect(Date.now() - started).toBeLessThan(900);
    expect(times.B).toHaveLength(1); // no second request to B within its 400 ms pause
    expect(downloader.stats.failedRequests).toBe(1);
    expect(faults).toEqual([]);
  });

  it('does not ask again in hex for a refused packed request whose addresses were hedged to another holder', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const serve: Reply = (_peer, addresses) => ({ chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] });
    // P said it reads packed addresses, answers a packed request only after 80 ms, and refuses it.
    const refuseLate = (peer: string) =>
      peer === 'P' ? new Promise<never>((_resolve, reject) => setTimeout(() => reject(new AtlasError(ErrorCodes.BAD_REQUEST, 'expected an array')), 80)) : undefined;
    const { chunks, store, views, downloader, forms } = await setup(20, serve, { hedge: { ...DEFAULT_DOWNLOADER.hedge, initialMs: 20, minMs: 10 } }, refuseLate);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('P');
    views.markHeld('P', Uint32Array.from({ length: 20 }, (_, i) => i), 0);
    (views.get('P') as PeerView).addressForm = 'packed';
    running.push(downloader);
    downloader.pump();
    await waitFor(() => forms.length >= 1, 'the packed request to P', 2_000);
    views.track('Q');
    views.markHeld('Q', Uint32Array.from({ length: 20 }, (_, i) => i), 0);
    downloader.inventoriesChanged();
    await waitFor(() => store.chunkCount() === 20, 'every chunk, from Q once the request to P was hedged', 2_000);
    await new Promise((resolve) => setTimeout(resolve, 150)); // P's refusal has come by now
    expect(forms.filter((form) => form.startsWith('P:'))).toEqual(['P:packed']);
    expect(views.packsAddresses('P')).toBe(false);
  });

  it('asks a busy sole holder again when its pause ends, with nothing else to wake it', async () => {
    const byAddress = new Map<string, Uint8Array>();
    const refusals: Record<string, number> = {};
    const pause: Record<string, number> = { A: 300, B: 600 };
    const serve: Reply = (peer, addresses) => {
      refusals[peer] = (refusals[peer] ?? 0) + 1;
      if (refusals[peer] === 1) throw new AtlasError(ErrorCodes.BUSY, 'busy', { retryAfterMs: pause[peer] });
      return { chunks: addresses.map((a) => ({ address: a, data: byAddress.get(a)! })), missing: [] };
    };
    const { chunks, store, views, downloader, faults } = await setup(40, serve);
    for (const c of chunks) byAddress.set(c.address, c.data);
    views.track('A');
    views.track('B');
    views.markHeld('A', Uint32Array.from({ length: 20 }, (_, i) => i), 0);
    views.markHeld('B', Uint32Array.from({ length: 20 }, (_, i) => 20 + i), 0);
    running.push(downloader);
    downloader.pump();
    await waitFor(() => store.chunkCount() === 40, 'both holders asked again after their pauses', 3_000);
    expect(refusals).toEqual({ A: 2, B: 2 });
    expect(faults).toEqual([]);
  });

  it('keeps hedged requests still open within maxInFlight more, and open requests within maxPendingWrites: 32 stalling holders cannot make it hold more replies', async () => {
    await hashReady();
    const count = 20_000;
    const chunks = generateChunks(count, seededRandom(1));
    const store = new MemoryChunkStore();
    await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
    let open = 0;
    let mostOpen = 0;
    const stalled: (() => void)[] = [];
    const client = {
      // A call ends with its reply, or when it is aborted (a given-up hedged request), as the transport's do.
      async getChunks(_peer: string, _params: unknown, callOptions?: { signal?: AbortSignal }): Promise<{ chunks: never[]; missing: string[] }> {
        open++;
        mostOpen = Math.max(mostOpen, open);
        try {
          await new Promise<void>((resolve, reject) => {
            stalled.push(resolve); // a reply just before the deadline, in the end
            callOptions?.signal?.addEventListener('abort', () => reject(callOptions.signal?.reason), { once: true });
          });
        } finally {
          open--;
        }
        return { chunks: [], missing: [] };
      },
    };
    const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
    const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength: () => count }, { maxPeers: 32 });
    const all = Uint32Array.from({ length: count }, (_, i) => i);
    for (let i = 0; i < 8; i++) views.track(`n${i}`);
    for (let i = 0; i < 24; i++) views.trackPassive(`p${i}`, Date.now() + 600_000); // admitted peers known from their offers
    const hooks = { stored() {}, called() {}, fault() {}, reliability: () => 1, storeFailed() {} };
    const hedge = { minMs: 10, maxMs: 10, initialMs: 10, slowPeerMs: 60_000 };
    for (const options of [{ hedge }, { hedge, maxPendingWrites: 8 }]) {
      open = 0;
      mostOpen = 0;
      for (const peer of [...Array.from({ length: 8 }, (_, i) => `n${i}`), ...Array.from({ length: 24 }, (_, i) => `p${i}`)]) views.markHeld(peer, all, 0);
      const downloader = new Downloader({ store, views, client, clock: systemClock, random: seededRandom(2), hooks }, options);
      running.push(downloader);
      downloader.pump();
      await new Promise((resolve) => setTimeout(resolve, 400)); // 40 hedge delays
      expect(mostOpen).toBeLessThanOrEqual(Math.min(2 * DEFAULT_DOWNLOADER.maxInFlight, options.maxPendingWrites ?? Infinity));
      expect(mostOpen).toBeGreaterThan(DEFAULT_DOWNLOADER.maxInFlight - 1); // hedging goes on, within the bound
      downloader.stop();
      stalled.splice(0).forEach((release) => release());
      await new Promise((resolve) => setTimeout(resolve, 20)); // the late replies settle (and clear the claims they withheld)
    }
  });

  it('plans nothing while every position is held', async () => {
    const { chunks, store, views, downloader } = await setup(10, () => ({ chunks: [], missing: [] }));
    await store.putMany(chunks.map((c) => c.data));
    views.track('P');
    views.markHeld('P', Uint32Array.from({ length: 10 }, (_, i) => i), 0);
    const take = vi.spyOn(WorkPlan.prototype, 'take');
    running.push(downloader);
    downloader.pump();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(take).not.toHaveBeenCalled();
    take.mockRestore();
  });

  it('draws among healthy holders instead of pinning the healthiest', async () => {
    const { chunks, store, views } = await setup(2_000, () => ({ chunks: [], missing: [] }));
    for (const peer of ['A', 'B', 'C']) {
      views.track(peer);
      views.markHeld(peer, Uint32Array.from({ length: chunks.length }, (_, i) => i), 0);
    }
    const plan = new WorkPlan(store, views, seededRandom(4), DEFAULT_DOWNLOADER);
    const health: Record<string, number> = { A: 1, B: 0.9, C: 0.2 };
    const won: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      // One request slot at a time, every peer free: the draw alone decides.
      for (const [peer, planned] of plan.take(1, 10, 0, () => true, (p) => health[p] ?? 0)) {
        won[peer] = (won[peer] ?? 0) + 1;
        plan.release(planned);
        for (const address of planned.addresses) plan.succeed(address);
      }
    }
    // A (health 1) and B (0.9) are both healthy: a fair draw between them; C (0.2) loses to both.
    expect(won.A).toBeGreaterThan(60);
    expect(won.B).toBeGreaterThan(60);
    expect(won.C ?? 0).toBe(0);
  });
});
