/**
 * The replicator's policy on its own: push or offer, offers from peers not yet admitted, chunks
 * already held when the chain announces them, rollback and quarantine, and how a failed inventory
 * refresh is classified. Driven through its narrow interfaces with in-memory fakes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { decodePositions, encodePositions } from '../../src/inventory/varint.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { maxReplyBytesOf } from '../../src/protocol/reply-bounds.js';
import { RELAY_REFUSED_MS } from '../../src/sync/peer-view.js';
import { seededRandom, silentLogger, systemClock, type Clock, type Logger, type Random } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { VerifiedReader } from '../../src/store/verified-read.js';
import { quietRefreshPeriod } from '../../src/sync/peer-view.js';
import { refreshFault, Replicator, type ReplicatorOptions, type ReplicatorPeers, type StoredOutcome } from '../../src/sync/replicator.js';
import type { CallOptions, Transport } from '../../src/transport/types.js';
import { steppedClock } from '../support/clock.js';

const RELAY = '127.0.0.2:7000';
const STRANGER = '127.0.0.3:7000';
const NEIGHBOUR = '127.0.0.4:7000';

/** Records every call; `inventory` fails with `inventoryError` when set, other calls answer at once. */
class FakeTransport implements Transport {
  readonly address = '127.0.0.1:7000';
  /** Its calls end at once unless `answer` holds one (which then ends on its signal). */
  readonly honoursTimeout = true;
  readonly calls: { peer: string; method: string; params: Record<string, unknown> }[] = [];
  inventoryError: Error | undefined;
  /** Answers a call where it returns something; the defaults below otherwise. */
  answer: ((peer: string, method: string, params: Record<string, unknown>, options?: CallOptions) => unknown) | undefined;
  async listen(): Promise<string> {
    return this.address;
  }
  async call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    this.calls.push({ peer, method, params: params as Record<string, unknown> });
    const answered = this.answer?.(peer, method, params as Record<string, unknown>, options);
    if (answered !== undefined) return answered;
    if (method === 'offer') return { wanted: 0 };
    if (method === 'inventory' && this.inventoryError) throw this.inventoryError;
    return {};
  }
  async close(): Promise<void> {}
  sent(method: string, peer: string) {
    return this.calls.filter((c) => c.method === method && c.peer === peer);
  }
  offered(peer: string): number[] {
    return this.sent('offer', peer).flatMap((c) => [...decodePositions(c.params.added as Uint8Array, { maxCount: 100_000 })]);
  }
}

/** The overlay as the replicator sees it: a set of admitted peers, and a record of what it was told. */
class FakePeers implements ReplicatorPeers {
  readonly known = new Set<string>();
  readonly calls: [string, boolean][] = [];
  readonly penalised: [string, string][] = [];
  readonly contacted: string[] = [];
  recordCall(peer: string, ok: boolean): void {
    this.calls.push([peer, ok]);
  }
  health(): number {
    return 1;
  }
  dropStaller(): void {}
  penalise(peer: string, code: string): void {
    this.penalised.push([peer, code]);
  }
  isKnownPeer(peer: string): boolean {
    return this.known.has(peer);
  }
  contact(peer: string): void {
    this.contacted.push(peer);
  }
  isSeed(): boolean {
    return false;
  }
  livePeers(max: number): string[] {
    return [...this.known].slice(0, max);
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));
const started: Replicator[] = [];
afterEach(() => started.splice(0).forEach((r) => r.stop()));

/** A replicator over a store that has 4 positions announced, none held. */
async function setup(logger: Logger = silentLogger, clock: Clock = systemClock, random: Random = seededRandom(2), options: ReplicatorOptions = {}) {
  await hashReady();
  const chunks = generateChunks(4, seededRandom(1));
  const store = new MemoryChunkStore();
  await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
  const transport = new FakeTransport();
  const peers = new FakePeers();
  const seen = { stored: [] as string[], lengths: [] as number[], quarantined: [] as string[] };
  const client = new ProtocolClient(transport);
  // As the node wires it: what leaves the node is read through the verified reader, which reports a corrupt chunk to the replicator.
  const reader = new VerifiedReader(store, { corrupt: (chunk) => replicator.quarantined(chunk) });
  const replicator: Replicator = new Replicator(
    {
      store,
      readVerified: (address) => reader.readOne(address),
      client,
      clock,
      random,
      logger,
      peers,
      self: () => transport.address,
      events: {
        stored: (chunks, from) => seen.stored.push(...chunks.outcomes().map((o) => `${o.address}<-${from}`)),
        sequenceChanged: (length) => seen.lengths.push(length),
        quarantined: (chunk) => seen.quarantined.push(chunk.address),
        inventoryRead() {},
        failed() {},
      },
    },
    { audit: { everyMs: 0 }, ...options },
  );
  started.push(replicator);
  const put = async (index: number): Promise<StoredOutcome[]> =>
    (await store.putMany([chunks[index]!.data])).filter((o): o is StoredOutcome => o.ok);
  return { chunks, store, transport, peers, seen, replicator, put, client };
}

describe('Replicator', () => {
  it('pushes the bytes of a chunk its author put, and only offers one relayed by a peer', async () => {
    const { transport, replicator, put, seen } = await setup();
    replicator.pulled(RELAY, true); // a puller that asked for our offers
    replicator.received(await put(0), undefined, '127.0.0.9:1'); // from its author
    await settle();
    expect(transport.sent('putChunks', RELAY)).toHaveLength(1);
    expect(transport.offered(RELAY)).toEqual([]);

    replicator.received(await put(1), '127.0.0.8:1', '127.0.0.9:1'); // relayed by 127.0.0.8:1
    await settle();
    expect(transport.sent('putChunks', RELAY)).toHaveLength(1);
    expect(transport.offered(RELAY)).toEqual([1]);
    expect(seen.stored.map((s) => s.split('<-')[1])).toEqual(['127.0.0.9:1', '127.0.0.8:1']);
  });

  it('pushes only bytes that hash to their address: a chunk damaged in the store after its put is quarantined, not pushed', async () => {
    const { transport, replicator, put, store, chunks, seen } = await setup();
    replicator.pulled(RELAY, true);
    const outcomes = await put(0);
    const raw = store.rawChunk(chunks[0]!.address) as Uint8Array;
    raw[0] = (raw[0] as number) ^ 0x10; // damaged between the write and the push
    replicator.received(outcomes, undefined, '127.0.0.9:1');
    await settle();
    expect(transport.sent('putChunks', RELAY)).toHaveLength(0);
    expect(seen.quarantined).toEqual([chunks[0]!.address]);
    expect(store.has(chunks[0]!.address)).toBe(false);
  });

  it('offers onward only a chunk it fetched, verified and stored, never what a peer merely offered', async () => {
    const { replicator, transport, peers, chunks, store } = await setup();
    const JUNK_SOURCE = '127.0.0.5:7000';
    transport.answer = (peer, method, params) => {
      if (method !== 'getChunks') return undefined;
      const addresses = params.addresses as string[];
      // The junk source sends other bytes under the asked address.
      const bytesOf = (address: string) => chunks.find((c) => c.address === address)!.data;
      const data = (address: string) => (peer === JUNK_SOURCE ? new Uint8Array(bytesOf(address).byteLength).fill(7) : bytesOf(address));
      return { chunks: addresses.map((address) => ({ address, data: data(address) })), missing: [] };
    };
    replicator.start();
    replicator.pulled(RELAY, true);
    peers.known.add(JUNK_SOURCE);
    expect(replicator.offered(JUNK_SOURCE, Uint32Array.of(0))).toBe(1);
    await settle();
    expect(transport.sent('getChunks', JUNK_SOURCE).length).toBeGreaterThan(0);
    expect(store.inventory.has(0)).toBe(false);
    expect(peers.penalised.map(([peer]) => peer)).toContain(JUNK_SOURCE);
    expect(transport.offered(RELAY)).toEqual([]); // neither the offer nor the junk is relayed

    peers.known.add(STRANGER);
    replicator.offered(STRANGER, Uint32Array.of(1));
    await settle();
    expect(store.inventory.has(1)).toBe(true);
    expect(transport.offered(RELAY)).toEqual([1]); // relayed once verified and stored
  });

  it('when every neighbour refuses to offer to it, asks a peer of its table instead, and drops one that refuses too', async () => {
    const { replicator, transport, peers } = await setup();
    const inventory = { epoch: 'e', version: 1 };
    const full = new Set([NEIGHBOUR, STRANGER]);
    transport.answer = (peer, method, params) => {
      if (method === 'inventory') return { sequenceLength: 4, inventory, bytes: new Uint8Array(1) };
      if (method !== 'inventoryChanges') return undefined;
      return { complete: true, sequenceLength: 4, inventory, added: new Uint8Array(0), offering: params.offers !== false && !full.has(peer) };
    };
    const TABLE_PEER = '127.0.0.6:7000';
    peers.known.add(NEIGHBOUR).add(STRANGER).add(TABLE_PEER); // livePeers: in this order
    replicator.start();
    replicator.neighborAdded(NEIGHBOUR);
    await settle();
    expect(replicator.views.get(NEIGHBOUR)?.relay).toBe(false); // it refused
    expect(replicator.views.has(STRANGER)).toBe(false); // asked as an extra relay at once; it refused too: dropped
    expect(transport.sent('inventoryChanges', STRANGER).map((c) => c.params.offers)).toEqual([true]);
    replicator.tick(); // the next round tries another peer of the table, not the one that refused
    await settle();
    expect(replicator.views.get(TABLE_PEER)?.relay).toBe(true);
    expect(transport.sent('inventoryChanges', STRANGER)).toHaveLength(1);
    expect(replicator.views.neighbors()).toEqual([NEIGHBOUR]); // an extra relay is not a neighbour
  });

  it('asks a peer promoted to relay for offers at once, even when a refresh sent before the promotion was under way', async () => {
    // A draw that never picks a later neighbour as relay: the first three tracked are the relays.
    const { replicator, transport, peers } = await setup(silentLogger, systemClock, () => 0.999);
    const inventory = { epoch: 'e', version: 1 };
    const [first, second, third, fourth] = ['127.0.0.11:7000', '127.0.0.12:7000', '127.0.0.13:7000', '127.0.0.14:7000'] as const;
    let releaseFourth: () => void = () => undefined;
    const fourthHeld = new Promise<void>((resolve) => (releaseFourth = resolve));
    transport.answer = (peer, method, params) => {
      if (method === 'inventory') return { sequenceLength: 4, inventory, bytes: new Uint8Array(1) };
      if (method !== 'inventoryChanges') return undefined;
      const reply = { complete: true, sequenceLength: 4, inventory, added: new Uint8Array(0), offering: params.offers !== false && peer !== first };
      // The fourth neighbour's first changes call is slow: it is still under way when the first refuses.
      if (peer === fourth && transport.sent('inventoryChanges', fourth).length === 1) return fourthHeld.then(() => reply);
      return reply;
    };
    peers.known.add(first).add(second).add(third).add(fourth);
    replicator.start();
    // Three relays (the first of them will refuse), then the fourth, tracked as no relay.
    for (const peer of [second, third, first, fourth]) replicator.neighborAdded(peer);
    await settle();
    expect(replicator.views.get(first)?.relay).toBe(false); // it refused
    expect(replicator.views.get(fourth)?.relay).toBe(true); // promoted in its place
    const asked = () => transport.sent('inventoryChanges', fourth).map((c) => c.params.offers === true);
    expect(asked()).toEqual([false]); // the call under way was sent before the promotion
    releaseFourth();
    await settle();
    expect(asked()).toEqual([false, true]); // asked again at once, not at the next refresh 15 s later
  });

  it('plans from a new neighbour\'s whole vector before asking for the changes made meanwhile, and not again when they bring nothing', async () => {
    const { replicator, transport, peers } = await setup();
    const inventory = { epoch: 'e', version: 1 };
    let releaseChanges: () => void = () => undefined;
    const changesHeld = new Promise<void>((resolve) => (releaseChanges = resolve));
    transport.answer = (_peer, method, _params, options) => {
      if (method === 'inventory') return { sequenceLength: 4, inventory, bytes: Uint8Array.of(0xf0) }; // holds positions 0-3
      if (method === 'inventoryChanges') return changesHeld.then(() => ({ complete: true, sequenceLength: 4, inventory, added: new Uint8Array(0) }));
      // Chunk requests are only watched: each ends when the replicator stops.
      if (method === 'getChunks') return new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason)));
      return undefined;
    };
    const downloader = (replicator as unknown as { downloader: { inventoriesChanged(): void } }).downloader;
    const inventoriesChanged = downloader.inventoriesChanged.bind(downloader);
    let told = 0;
    downloader.inventoriesChanged = () => {
      told++;
      inventoriesChanged();
    };
    peers.known.add(NEIGHBOUR);
    replicator.start();
    replicator.neighborAdded(NEIGHBOUR);
    await settle();
    // The chunks were asked for while the changes call was still unanswered.
    expect(transport.sent('inventoryChanges', NEIGHBOUR)).toHaveLength(1);
    expect(transport.sent('getChunks', NEIGHBOUR).length).toBeGreaterThan(0);
    expect(told).toBe(1);
    releaseChanges();
    await settle();
    expect(told).toBe(1); // the changes brought nothing new: the plan stands
  });

  it('keeps an offer from a caller not yet admitted, asks to admit it, and replays the offer once it is', async () => {
    const { replicator, peers } = await setup();
    expect(replicator.offered(STRANGER, Uint32Array.of(0, 2))).toBe(0);
    expect(peers.contacted).toEqual([STRANGER]);
    expect(replicator.views.has(STRANGER)).toBe(false);

    peers.known.add(STRANGER);
    replicator.peerAdmitted(STRANGER);
    const view = replicator.views.get(STRANGER);
    expect(view?.inventory.has(0)).toBe(true);
    expect(view?.inventory.has(2)).toBe(true);
    expect(view?.inventory.has(1)).toBe(false);
  });

  it('keeps no more of an early offer than its earlyContacts bound says', async () => {
    const { replicator, peers } = await setup(silentLogger, systemClock, seededRandom(2), { earlyContacts: { maxPositions: 1 } });
    replicator.offered(STRANGER, Uint32Array.of(0, 2));
    peers.known.add(STRANGER);
    replicator.peerAdmitted(STRANGER);
    const view = replicator.views.get(STRANGER);
    expect(view?.inventory.has(0)).toBe(true);
    expect(view?.inventory.has(2)).toBe(false);
  });

  it('counts as wanted only offered positions that are announced and not held', async () => {
    const { replicator, peers, put } = await setup();
    await put(1);
    peers.known.add(STRANGER);
    // 1 is held, 7 and 2^32 - 1 are past our sequence: only 0 and 3 are wanted.
    expect(replicator.offered(STRANGER, Uint32Array.of(0, 1, 3, 7, 0xffffffff))).toBe(2);
    expect(peers.contacted).toEqual([]);
  });

  it('answers each offer as one lookup a position would: past our sequence dropped, held not wanted, a repeated position counted each time', async () => {
    const { replicator, peers, put } = await setup();
    await put(1);
    await put(2);
    peers.known.add(STRANGER);
    expect(replicator.offered(STRANGER, Uint32Array.of(0, 1, 2, 3))).toBe(2);
    expect(replicator.offered(STRANGER, Uint32Array.of(1, 2))).toBe(0); // all held
    expect(replicator.offered(STRANGER, Uint32Array.of(4, 5, 0xffffffff))).toBe(0); // all past our sequence
    expect(replicator.offered(STRANGER, new Uint32Array(0))).toBe(0);
    // Not a list from the wire (those are strictly ascending): offers joined while their sender was checked may repeat positions.
    expect(replicator.offered(STRANGER, Uint32Array.of(3, 0, 3, 1, 9, 0, 2))).toBe(4);
    const view = replicator.views.get(STRANGER);
    expect(view?.inventory.length).toBe(4);
    expect([...(view?.inventory.positions() ?? [])]).toEqual([0, 1, 2, 3]);
  });

  it('offers a chunk already held when the chain announces it again', async () => {
    const { replicator, store, chunks, transport, put, seen } = await setup();
    await put(0);
    replicator.pulled(RELAY, true);
    const version = replicator.log.version;
    // Announced again at 4 and 6, with a chunk not held between them.
    await store.append([chunks[0]!, chunks[2]!, chunks[0]!].map((chunk, i) => ({ position: 4 + i, address: chunk.address })));
    replicator.appended(4, 3);
    await settle();
    expect([...(replicator.log.since(version) ?? [])]).toEqual([4, 6]);
    expect(transport.offered(RELAY)).toEqual([4, 6]);
    expect(seen.lengths).toEqual([7]);
  });

  it('starts a new log epoch on a rollback, so peers read our whole vector again', async () => {
    const warnings: string[] = [];
    const { replicator, seen } = await setup({ ...silentLogger, warn: (message) => warnings.push(message) });
    const epoch = replicator.log.epoch;
    replicator.rolledBack(2);
    expect(replicator.log.epoch).not.toBe(epoch);
    expect(seen.lengths).toEqual([2]);
    expect(warnings).toEqual(['chain rolled back']);
  });

  it('forgets what a view claimed past a rollback: an honest peer is not asked for the new announcements there, nor counted as withholding them', async () => {
    const { replicator, transport, peers, chunks, store } = await setup();
    const reannounced = generateChunks(2, seededRandom(99));
    // The neighbour holds positions 2 and 3 (chunks 2 and 3), and answers honestly.
    const held = new Map([chunks[2]!, chunks[3]!].map((c) => [c.address, c.data]));
    const asked: string[] = [];
    let inventory = { epoch: 'e', version: 1 };
    transport.answer = (_peer, method, params) => {
      if (method === 'inventory') return { sequenceLength: 4, inventory, bytes: Uint8Array.of(0x30) };
      if (method === 'inventoryChanges') return { complete: (params.since as { epoch: string }).epoch === inventory.epoch, sequenceLength: 4, inventory, added: new Uint8Array(0) };
      if (method !== 'getChunks') return undefined;
      const addresses = params.addresses as string[];
      asked.push(...addresses);
      return { chunks: addresses.filter((a) => held.has(a)).map((address) => ({ address, data: held.get(address)! })), missing: addresses.filter((a) => !held.has(a)) };
    };
    peers.known.add(NEIGHBOUR);
    replicator.start();
    replicator.neighborAdded(NEIGHBOUR);
    await settle();
    expect(store.inventory.has(2) && store.inventory.has(3)).toBe(true);
    // The chain rolls positions 2 and 3 back, at both nodes, and announces two other chunks there.
    await store.truncate(2);
    replicator.rolledBack(2);
    held.clear();
    inventory = { epoch: 'f', version: 1 };
    await store.append(reannounced.map((c, i) => ({ position: 2 + i, address: c.address })));
    replicator.appended(2, 2);
    await settle();
    expect(asked.filter((a) => reannounced.some((c) => c.address === a))).toEqual([]);
    expect(peers.calls.filter(([peer, ok]) => peer === NEIGHBOUR && !ok)).toEqual([]);
    expect(replicator.views.get(NEIGHBOUR)?.inventory.has(2)).toBe(false);
  });

  it('starts a new log epoch when a quarantine cleared bits, and not when it cleared none', async () => {
    const { replicator, chunks, seen } = await setup();
    const epoch = replicator.log.epoch;
    replicator.quarantined({ address: chunks[0]!.address, positions: [] });
    expect(replicator.log.epoch).toBe(epoch);
    replicator.quarantined({ address: chunks[1]!.address, positions: [1] });
    expect(replicator.log.epoch).not.toBe(epoch);
    expect(seen.quarantined).toEqual([chunks[0]!.address, chunks[1]!.address]);
  });

  it('classifies a malformed refresh reply as bad data and anything else as unresponsiveness', () => {
    expect(refreshFault(new AtlasError(ErrorCodes.BAD_REPLY, 'x'))).toBe('bad-data');
    expect(refreshFault(new AtlasError(ErrorCodes.TIMEOUT, 'x'))).toBe('unresponsive');
    expect(refreshFault(new AtlasError(ErrorCodes.UNREACHABLE, 'x'))).toBe('unresponsive');
  });

  it.each([
    ['penalises a neighbour whose inventory is malformed, without counting an unanswered call', ErrorCodes.BAD_REPLY, [[NEIGHBOUR, ErrorCodes.BAD_REPLY]], []],
    ['counts a neighbour that times out a refresh as an unanswered call, without penalising it', ErrorCodes.TIMEOUT, [], [[NEIGHBOUR, false]]],
  ] as const)('%s', async (_title, code, penalised, calls) => {
    const { replicator, transport, peers } = await setup();
    transport.inventoryError = new AtlasError(code, 'refresh failed');
    replicator.start();
    replicator.neighborAdded(NEIGHBOUR);
    await settle();
    expect(transport.sent('inventory', NEIGHBOUR).length).toBeGreaterThan(0);
    expect(peers.penalised).toEqual(penalised);
    expect(peers.calls).toEqual(calls);
  });

  it('runs its calls under one signal of its own, shared in the transport, which stop() aborts; the client\'s other calls go on', async () => {
    const { replicator, transport, client } = await setup();
    const held: (CallOptions | undefined)[] = [];
    transport.answer = (_peer, method, _params, options) => {
      if (method !== 'inventory') return undefined;
      held.push(options);
      const signal = options?.signal;
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    };
    replicator.start();
    replicator.neighborAdded(NEIGHBOUR);
    replicator.neighborAdded(RELAY);
    await settle();
    expect(held).toHaveLength(2);
    // One signal for both refreshes, the replicator's: no signal made for each call.
    const shared = held[0]?.signal;
    expect(shared).toBeInstanceOf(AbortSignal);
    expect(held[1]?.signal).toBe(shared);
    expect(held[0]?.timeoutMs).toBe(10_000);
    const owners = client.inventory(STRANGER, { offset: 0, length: 1 }, { timeoutMs: 50 }).then(() => 'resolved', (e: unknown) => (e as AtlasError).code);
    await settle();
    expect(held).toHaveLength(3);
    expect(held[2]).toEqual({ timeoutMs: 50, maxReplyBytes: maxReplyBytesOf('inventory', client.limits) }); // the client's own call: not the replicator's signal
    replicator.stop();
    expect(shared?.aborted).toBe(true);
    expect(shared?.reason).toMatchObject({ code: ErrorCodes.CLOSED });
    expect(await owners).toBe(ErrorCodes.TIMEOUT); // the client's own call went on to its deadline
  });

  it('refreshes nothing before start and after stop', async () => {
    const { replicator, transport } = await setup();
    replicator.neighborAdded(NEIGHBOUR);
    await settle();
    expect(transport.sent('inventory', NEIGHBOUR)).toEqual([]);
    replicator.start();
    replicator.stop();
    replicator.neighborRemoved(NEIGHBOUR);
    replicator.neighborAdded(NEIGHBOUR);
    await settle();
    expect(transport.sent('inventory', NEIGHBOUR)).toEqual([]);
  });
});

describe('Replicator: quiet neighbours are refreshed less often', () => {
  const BASE = 15_000;
  const QUIET_MAX = 60_000;

  /** A neighbour whose changes replies bring nothing unless `added` is set; the clock steps by hand. */
  async function quietNeighbour() {
    const clock = steppedClock();
    const context = await setup(silentLogger, clock);
    const inventory = { epoch: 'e', version: 1 };
    const next = { added: [] as number[] };
    context.transport.answer = (_peer, method, params) => {
      if (method === 'inventory') return { sequenceLength: 4, inventory, bytes: new Uint8Array(1) };
      if (method !== 'inventoryChanges') return undefined;
      const added = encodePositions(next.added.splice(0));
      return { complete: true, sequenceLength: 4, inventory, added, offering: params.offers === true };
    };
    const flush = async () => {
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    /** Ticks once a second for `ms`; returns the times (from the start of the run) of the changes calls made. */
    const run = async (ms: number): Promise<number[]> => {
      const start = clock.now();
      const before = context.transport.sent('inventoryChanges', NEIGHBOUR).length;
      const times: number[] = [];
      for (let t = 0; t < ms; t += 1_000) {
        clock.advance(1_000);
        context.replicator.tick();
        await flush();
        while (context.transport.sent('inventoryChanges', NEIGHBOUR).length > before + times.length) times.push(clock.now() - start);
      }
      return times;
    };
    context.replicator.start();
    context.replicator.neighborAdded(NEIGHBOUR); // whole vector, then changes: not quiet
    await flush();
    return { ...context, next, run };
  }

  it('pulls one neighbour every relaylessRefreshMs (2 s), the least recently read, while every neighbour refuses to offer to us', async () => {
    const clock = steppedClock();
    const { replicator, transport, peers } = await setup(silentLogger, clock);
    const inventory = { epoch: 'e', version: 1 };
    let full = true; // every neighbour's offer targets are full
    transport.answer = (_peer, method, params) => {
      if (method === 'inventory') return { sequenceLength: 4, inventory, bytes: new Uint8Array(1) };
      if (method !== 'inventoryChanges') return undefined;
      return { complete: true, sequenceLength: 4, inventory, added: new Uint8Array(0), offering: params.offers === true && !full };
    };
    const neighbours = ['127.0.0.21:7000', '127.0.0.22:7000', '127.0.0.23:7000', '127.0.0.24:7000'];
    for (const peer of neighbours) peers.known.add(peer);
    replicator.start();
    for (const peer of neighbours) replicator.neighborAdded(peer);
    await settle();
    const calls = () => neighbours.map((peer) => transport.sent('inventoryChanges', peer).length);
    const tickFor = async (ms: number) => {
      for (let t = 0; t < ms; t += 1_000) {
        clock.advance(1_000);
        replicator.tick();
        await settle();
      }
    };
    await tickFor(3_000); // the refusals come in and relays are sought again
    const before = calls();
    await tickFor(12_000); // below the 15 s refresh period: only the relayless pulls
    const pulled = calls().map((n, i) => n - before[i]!);
    expect(pulled.reduce((a, b) => a + b, 0)).toBe(6); // one every 2 s
    expect(Math.max(...pulled) - Math.min(...pulled)).toBeLessThanOrEqual(1); // in turn, the least recently read first
    full = false; // room again: after RELAY_REFUSED_MS the neighbours are asked, and offer
    await tickFor(RELAY_REFUSED_MS);
    expect(replicator.views.relaysMissing()).toBe(0);
    const offering = calls();
    await tickFor(12_000);
    expect(calls()).toEqual(offering); // relays offer: no pulls before the 15 s refresh
  });

  it('doubles the period after each empty refresh, up to quietInventoryRefreshMs (60 s), and keeps asking its relay for offers', async () => {
    const { run, transport } = await quietNeighbour();
    const times = await run(300_000);
    expect(times).toEqual([15_000, 45_000, 105_000, 165_000, 225_000, 285_000]);
    // Every refresh still asks for offers: the relay slot (pullerTtlMs, 120 s) never lapses.
    expect(transport.sent('inventoryChanges', NEIGHBOUR).every((c) => c.params.offers === true)).toBe(true);
  });

  it('a tick reads no view while none is due: the views are passed over only when a refresh comes due or a view changes', async () => {
    const q = await quietNeighbour();
    // Relays complete (three neighbours): otherwise every tick looks for one in the peer table.
    q.replicator.neighborAdded('127.0.0.5:7000');
    q.replicator.neighborAdded('127.0.0.6:7000');
    expect(await q.run(165_000)).toEqual([15_000, 45_000, 105_000, 165_000]); // backed off to 60 s
    let passes = 0;
    const expire = q.replicator.views.expirePassive.bind(q.replicator.views);
    q.replicator.views.expirePassive = (now: number) => {
      passes++;
      expire(now);
    };
    expect(await q.run(120_000)).toEqual([60_000, 120_000]);
    // 120 ticks: a pass when a refresh of one of the three comes due and one after it ends, not 120.
    expect(passes).toBeGreaterThan(0);
    expect(passes).toBeLessThanOrEqual(12);
    q.peers.known.add(NEIGHBOUR);
    q.replicator.offered(NEIGHBOUR, Uint32Array.of(1)); // a change: back to the base period at once
    const before = passes;
    expect(await q.run(15_000)).toEqual([15_000]);
    expect(passes).toBeGreaterThan(before);
  });

  it.each([
    ['a non-empty reply', async (q: Awaited<ReturnType<typeof quietNeighbour>>) => void q.next.added.push(2)],
    ['an offer from the neighbour', async (q: Awaited<ReturnType<typeof quietNeighbour>>) => void q.replicator.offered(NEIGHBOUR, Uint32Array.of(1))],
    ['a chunk stored', async (q: Awaited<ReturnType<typeof quietNeighbour>>) => q.replicator.received(await q.put(0), undefined, '127.0.0.9:1')],
    ['a new announcement on our chain', async (q: Awaited<ReturnType<typeof quietNeighbour>>) => {
      await q.store.append([{ position: 4, address: q.chunks[0]!.address }]);
      q.replicator.appended(4, 1);
    }],
  ])('goes back to the base period (15 s) after %s', async (what, change) => {
    const q = await quietNeighbour();
    q.peers.known.add(NEIGHBOUR);
    expect(await q.run(165_000)).toEqual([15_000, 45_000, 105_000, 165_000]); // backed off to 60 s
    await change(q);
    const after = await q.run(60_000);
    // A non-empty reply takes effect at the refresh that brings it (60 s on); the others at once.
    if (what === 'a non-empty reply') {
      expect(after).toEqual([60_000]);
      expect(await q.run(30_000)).toEqual([15_000]);
    } else {
      expect(after).toEqual([15_000, 45_000]); // then it backs off again: 30 s
    }
  });

  it('quietRefreshPeriod: doubles from the base period up to the bound, and never goes below the base period', () => {
    expect([0, 1, 2, 3, 10, 100].map((quiet) => quietRefreshPeriod(quiet, BASE, QUIET_MAX))).toEqual([15_000, 30_000, 60_000, 60_000, 60_000, 60_000]);
    expect([0, 5].map((quiet) => quietRefreshPeriod(quiet, BASE, BASE))).toEqual([15_000, 15_000]);
    expect(quietRefreshPeriod(3, BASE, 1_000)).toBe(BASE); // never faster than the base period
  });
});
