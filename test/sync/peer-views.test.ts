/**
 * Peer views: what we believe each tracked peer holds, read incrementally or whole, clamped to our
 * own sequence; which tracked peers are asked for offers (relays); views known from offers only.
 */
import { describe, expect, it } from 'vitest';
import { encodePositions } from '../../src/inventory/varint.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { seededRandom } from '../../src/runtime.js';
import { RELAY_REFUSED_MS, ROUND_TRIP_SAMPLES } from '../../src/sync/peer-view.js';
import { minJudgedReplyBytes, PeerViews, type PeerViewsComponents } from '../../src/sync/peer-views.js';
import type { Transport, TransportService } from '../../src/transport/types.js';
import { RecordingPeers } from '../support/recording-peers.js';

/** A peer of 8 positions holding none, with nothing new. */
const eightEmpty = (method: string): unknown => {
  if (method === 'inventory') return { sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, bytes: new Uint8Array(1) };
  if (method === 'inventoryChanges') return { complete: true, sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, added: new Uint8Array(0) };
  return {};
};

/** A peer that claims a sequence of 2^32 - 1 positions, all held. */
class BoastingPeer implements Transport {
  readonly address = 'me';
  requests: { method: string; params: unknown }[] = [];
  async listen(_service: TransportService): Promise<string> {
    return this.address;
  }
  async call(_peer: string, method: string, params: unknown): Promise<unknown> {
    this.requests.push({ method, params });
    const huge = 0xffff_ffff;
    const inventory = { epoch: 'boast', version: 1 };
    if (method === 'inventory') {
      const { length } = params as { length: number };
      return { sequenceLength: huge, inventory, bytes: new Uint8Array(length).fill(0xff) };
    }
    if (method === 'inventoryChanges') return { complete: true, sequenceLength: huge, inventory: { epoch: 'boast', version: 2 }, added: Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0x0f) };
    return { protocol: PROTOCOL_VERSION };
  }
  async close(): Promise<void> {}
}

/** Peers of eight empty positions; those in `full` have no room to offer to us and say so. */
class RefusingPeers extends RecordingPeers {
  readonly full = new Set<string>();
  constructor() {
    super(eightEmpty);
  }
  override async call(peer: string, method: string, params: unknown): Promise<unknown> {
    const reply = (await super.call(peer, method, params)) as Record<string, unknown>;
    const asked = params as { from?: string; offers?: boolean };
    if (method !== 'inventoryChanges' || asked.from === undefined) return reply;
    return { ...reply, offering: asked.offers !== false && !this.full.has(peer) };
  }
}

/** A peer whose every call `call` answers. */
function answering(call: Transport['call']): Transport {
  return { address: 'self', listen: async () => 'self', close: async () => {}, call };
}

/** The views' parts over `peers`: we are "self" with a sequence of 8. */
function parts(peers: Transport): PeerViewsComponents {
  return { client: new ProtocolClient(peers), limits: DEFAULT_LIMITS, self: () => 'self', localLength: () => 8 };
}

describe('PeerViews', () => {
  it('clamps a view to our own sequence length, whatever the peer claims', async () => {
    const transport = new BoastingPeer();
    const views = new PeerViews({ ...parts(transport), self: () => 'me', localLength: () => 1_000 }, { maxPeers: 4 });
    views.track('boaster');
    const whole = await views.refresh('boaster', 0);
    expect(whole.full).toBe(true);
    expect(views.get('boaster')!.inventory.length).toBe(1_000);
    expect(views.get('boaster')!.inventory.count).toBe(1_000);
    // One page of 125 bytes, not 2^32 / 8; then the changes made meanwhile (which registers us).
    expect(transport.requests.map((r) => r.method)).toEqual(['inventory', 'inventoryChanges']);
    expect((transport.requests[0]!.params as { length: number }).length).toBe(125);

    await views.refresh('boaster', 1); // incremental: a position far beyond our sequence
    expect(views.get('boaster')!.inventory.length).toBe(1_000);
    expect(views.markHeld('boaster', Uint32Array.of(5, 999, 4_000_000_000), 0)).toBe(0);
  });

  it('ends a read at a page shorter than asked: a peer whose every page claims a vector one byte longer costs a call or two, not one a byte', async () => {
    const methods: string[] = [];
    const dripping = answering(async (_peer, method, params) => {
      methods.push(method);
      const inventory = { epoch: 'e', version: 1 };
      if (method === 'inventory') {
        // A valid reply to this very request: the vector ends one byte past the offset asked.
        const { offset } = params as { offset: number };
        return { sequenceLength: 8 * (offset + 1), inventory, bytes: Uint8Array.of(0xff) };
      }
      if (method === 'inventoryChanges') return { complete: true, sequenceLength: 1_000_000, inventory, added: new Uint8Array(0) };
      return {};
    });
    const views = new PeerViews({ ...parts(dripping), localLength: () => 1_000_000 }, { maxPeers: 4 });
    views.track('dripper');
    await views.refresh('dripper', 0); // whole: a vector of 8 positions, then its changes (the full length)
    await views.refresh('dripper', 1); // incremental: reads the tail the changes claimed
    expect(methods.filter((method) => method === 'inventory').length).toBeLessThanOrEqual(3);
    expect(views.get('dripper')!.inventory.count).toBeLessThanOrEqual(16);
  });

  it('takes how many addresses a peer answers per getChunks call from its inventory replies (100 when they say nothing)', async () => {
    let advertised: number | undefined = 250;
    const peers = new RecordingPeers((method) => {
      const reply = eightEmpty(method) as Record<string, unknown>;
      return method === 'inventory' && advertised !== undefined ? { ...reply, maxGetAddresses: advertised } : reply;
    });
    const views = new PeerViews(parts(peers), { maxPeers: 4 });
    views.track('p');
    expect(views.get('p')!.maxGetAddresses).toBe(100); // nothing read yet
    await views.refresh('p', 0);
    expect(views.get('p')!.maxGetAddresses).toBe(250);
    // A restarted peer (new epoch) is read whole again; this time it says nothing.
    advertised = undefined;
    views.get('p')!.version = undefined;
    await views.refresh('p', 1);
    expect(views.get('p')!.maxGetAddresses).toBe(100);
  });

  it('keeps the shortest time of a peer\'s recent inventory calls as its round trip: a whole read\'s first call and each changes read, never a read in pages as a whole', async () => {
    let now = 0;
    let delay = 0;
    const timed = answering(async (_peer, method, params) => {
      now += delay;
      const inventory = { epoch: 'e', version: 1 };
      if (method === 'inventory') {
        // A vector of 8,000 positions: one call when pages hold 1,000 bytes, several when they hold 100.
        const { offset, length } = params as { offset: number; length: number };
        return { sequenceLength: 8_000, inventory, bytes: new Uint8Array(Math.min(length, 1_000 - offset)) };
      }
      if (method === 'inventoryChanges') return { complete: true, sequenceLength: 8_000, inventory, added: new Uint8Array(0) };
      return {};
    });
    const views = new PeerViews({ ...parts(timed), localLength: () => 8_000, now: () => now }, { maxPeers: 4 });
    views.track('p');
    expect(views.roundTripMs('p')).toBeUndefined(); // nothing timed yet
    delay = 90;
    let afterWhole: number | undefined;
    await views.refresh('p', 0, undefined, () => (afterWhole = views.roundTripMs('p'))); // whole (one call, 90 ms), then its changes (90 ms)
    expect(afterWhole).toBe(90);
    expect(views.roundTripMs('p')).toBe(90);
    delay = 40;
    await views.refresh('p', 1); // changes: 40 ms, shorter
    expect(views.roundTripMs('p')).toBe(40);
    delay = 70;
    await views.refresh('p', 2); // longer: the shortest stays
    expect(views.roundTripMs('p')).toBe(40);
    // The route lengthened for good: once the shorter times have left the window, the longer one shows.
    for (let version = 3; version < 3 + ROUND_TRIP_SAMPLES - 2; version++) await views.refresh('p', version);
    expect(views.roundTripMs('p')).toBe(40);
    await views.refresh('p', 3 + ROUND_TRIP_SAMPLES);
    expect(views.roundTripMs('p')).toBe(70);

    // Read in pages of 100 bytes: ten calls of 5 ms, timed by the first alone (5 ms, not 50).
    const paged = new PeerViews({ ...parts(timed), limits: { ...DEFAULT_LIMITS, maxInventoryBytes: 100 }, localLength: () => 8_000, now: () => now }, { maxPeers: 4 });
    paged.track('q');
    delay = 5;
    let afterPages: number | undefined;
    await paged.refresh('q', 0, undefined, () => (afterPages = paged.roundTripMs('q')));
    expect(afterPages).toBe(5);
    // A call that fails is not timed.
    const failing = new PeerViews({ ...parts(answering(async () => ((now += 3), Promise.reject(new Error('refused'))))), localLength: () => 8_000, now: () => now }, { maxPeers: 4 });
    failing.track('f');
    await failing.refresh('f', 0).catch(() => undefined);
    expect(failing.roundTripMs('f')).toBeUndefined();
    // Without a clock, nothing is timed.
    const untimed = new PeerViews(parts(timed), { maxPeers: 4 });
    untimed.track('r');
    await untimed.refresh('r', 0);
    expect(untimed.roundTripMs('r')).toBeUndefined();
  });

  it('tracks at most maxPeers, and counts peers known from offers against the bound until a tracked one needs the room', () => {
    const views = new PeerViews(parts(new RecordingPeers(eightEmpty)), { maxPeers: 3 });
    expect(['a', 'b', 'c', 'd'].map((p) => views.track(p))).toEqual([true, true, true, false]);
    expect(views.trackPassive('x', 10)).toBe(false);
    views.untrack('c');
    expect(views.trackPassive('x', 10)).toBe(true);
    expect(views.neighbors()).toEqual(['a', 'b']);
    expect(views.track('d')).toBe(true); // evicts x
    expect(views.peers()).toEqual(['a', 'b', 'd']);
  });

  it('keeps an offer that arrives during a whole read, and reads the tail once our sequence grows', async () => {
    let length = 8;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const peer = answering(async (_peer, method, params) => {
      const { offset } = params as { offset?: number };
      calls.push(method === 'inventory' ? `inventory@${offset}` : method);
      if (method === 'inventory' && offset === 0) {
        await gate;
        return { sequenceLength: 16, inventory: { epoch: 'e', version: 1 }, bytes: Uint8Array.of(0x80) }; // position 0 (bits are MSB first)
      }
      if (method === 'inventory') return { sequenceLength: 16, inventory: { epoch: 'e', version: 2 }, bytes: Uint8Array.of(0x01) }; // position 15
      return { complete: true, sequenceLength: 16, inventory: { epoch: 'e', version: 2 }, added: encodePositions(Uint32Array.of()) };
    });
    const views = new PeerViews({ ...parts(peer), localLength: () => length });
    views.track('p');
    const whole = views.refresh('p', 0);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(views.markHeld('p', Uint32Array.of(3), 0)).toBe(1); // offered while the read is under way
    release();
    await whole;
    const view = views.get('p')!;
    expect([view.inventory.has(0), view.inventory.has(3), view.covered]).toEqual([true, true, 8]);
    length = 16; // our chain grew: bits 8..15 predate the version we hold, so they are read
    await views.refresh('p', 1);
    expect([view.inventory.length, view.inventory.has(15), view.covered]).toEqual([16, true, 16]);
    expect(calls).toEqual(['inventory@0', 'inventoryChanges', 'inventoryChanges', 'inventory@1']);
  });

  it('a rollback during a tail read leaves the view covering only what it kept, so the cut part is read again, a reorganisation\'s new branch included', async () => {
    let length = 8;
    let release: () => void = () => {};
    let gate = Promise.resolve();
    const peer = answering(async (_peer, method, params) => {
      const { offset } = params as { offset?: number };
      if (method === 'inventory' && offset === 0) return { sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, bytes: Uint8Array.of(0xff) };
      if (method === 'inventory') {
        await gate;
        return { sequenceLength: 16, inventory: { epoch: 'e', version: 2 }, bytes: Uint8Array.of(0xff) };
      }
      return { complete: true, sequenceLength: 16, inventory: { epoch: 'e', version: 2 }, added: encodePositions(Uint32Array.of()) };
    });
    const views = new PeerViews({ ...parts(peer), localLength: () => length });
    views.track('p');
    await views.refresh('p', 0);
    length = 16; // our chain grew: the tail 8..15 is read...
    gate = new Promise<void>((resolve) => (release = resolve));
    const tail = views.refresh('p', 1);
    await new Promise((resolve) => setTimeout(resolve, 1));
    length = 10; // ...and rolled back to 10 while that read is under way
    views.truncate(10);
    length = 16; // the new branch came at once (a reorganisation): the same length again
    views.markHeld('p', Uint32Array.of(11), 1); // and an offer grew the view back meanwhile
    release();
    await tail;
    const view = views.get('p')!;
    expect([view.covered, view.inventory.has(12)]).toEqual([10, false]); // 10..15 of the old branch were dropped from what it read
    gate = Promise.resolve();
    await views.refresh('p', 2);
    expect([view.covered, view.inventory.has(12), view.inventory.has(15)]).toEqual([16, true, true]); // read again
  });

  it('keeps the claims a peer lost by sending corrupt bytes out of its view, through whole and incremental reads, until their time is up', async () => {
    let version = 1;
    // A peer claiming all 8 positions, in whole reads and in every change list.
    const peer = answering(async (_peer, method) => {
      if (method === 'inventory') return { sequenceLength: 8, inventory: { epoch: 'e', version }, bytes: Uint8Array.of(0xff) };
      return { complete: true, sequenceLength: 8, inventory: { epoch: 'e', version: ++version }, added: encodePositions(Uint32Array.of(0, 1, 2, 3, 4, 5, 6, 7)) };
    });
    const views = new PeerViews(parts(peer));
    views.track('p');
    await views.refresh('p', 0);
    expect(views.get('p')!.inventory.count).toBe(8);
    views.refute('p', [2, 5], 10, 1_000);
    const held = () => [...views.get('p')!.inventory.positions()];
    expect(held()).toEqual([0, 1, 3, 4, 6, 7]);
    await views.refresh('p', 500); // incremental
    expect(held()).toEqual([0, 1, 3, 4, 6, 7]);
    views.get('p')!.version = undefined; // as after the peer restarted: read whole
    await views.refresh('p', 900);
    expect(held()).toEqual([0, 1, 3, 4, 6, 7]);
    await views.refresh('p', 1_010);
    expect(held()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps a refutation for its full time when the peer\'s view is dropped and made again, and forgets what a rollback takes away', async () => {
    let length = 8;
    const views = new PeerViews({ ...parts(answering(async (_peer, method) => eightEmpty(method))), localLength: () => length }, { maxPeers: 4 });
    const all = Uint32Array.of(0, 1, 2, 3, 4, 5, 6, 7);
    // Known only from its offers: such a view expires, and the next offer makes a new one.
    expect(views.trackPassive('o', 60_000)).toBe(true);
    views.markHeld('o', all, 0);
    views.refute('o', [6, 7], 1_000, 600_000);
    views.expirePassive(61_000);
    expect(views.has('o')).toBe(false);
    expect(views.trackPassive('o', 121_000)).toBe(true);
    expect(views.markHeld('o', all, 61_000)).toBe(6);
    // Tracked as a neighbour (a new view, read whole from now on): still not believed.
    views.track('o');
    expect(views.markHeld('o', all, 62_000)).toBe(6);
    // Our sequence rolled back to 7 positions; when it grows again, position 7 names another
    // chunk, which the peer may well hold: believed. Position 6 is still refuted.
    length = 7;
    views.truncate(7);
    expect(views.get('o')!.inventory.length).toBe(7);
    length = 8;
    expect(views.markHeld('o', all, 63_000)).toBe(1);
    expect([...views.get('o')!.inventory.positions()]).toEqual([0, 1, 2, 3, 4, 5, 7]);
  });

  it('says what a whole read brought before asking for the changes made meanwhile, so it can be planned from at once', async () => {
    let releaseChanges: () => void = () => {};
    const changesGate = new Promise<void>((resolve) => (releaseChanges = resolve));
    const calls: string[] = [];
    const peer = answering(async (_peer, method) => {
      calls.push(method);
      if (method === 'inventory') return { sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, bytes: Uint8Array.of(0xe0) }; // positions 0, 1, 2
      await changesGate;
      return { complete: true, sequenceLength: 8, inventory: { epoch: 'e', version: 2 }, added: encodePositions(Uint32Array.of(5)) };
    });
    const views = new PeerViews(parts(peer));
    views.track('p');
    const told: { added: number; held: number[]; calls: string[] }[] = [];
    const refresh = views.refresh('p', 0, undefined, (added) => {
      const inventory = views.get('p')!.inventory;
      told.push({ added, held: [0, 1, 2, 5].filter((p) => inventory.has(p)), calls: [...calls] });
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Told once the whole vector was in (its three positions in the view), and the changes asked
    // for after that are still unanswered.
    expect(told).toEqual([{ added: 3, held: [0, 1, 2], calls: ['inventory'] }]);
    expect(calls).toEqual(['inventory', 'inventoryChanges']);
    releaseChanges();
    const outcome = await refresh;
    expect([outcome.full, outcome.added]).toEqual([true, 4]);
    expect(views.get('p')!.inventory.has(5)).toBe(true);
    // An incremental refresh reads no whole vector, and says nothing early.
    await views.refresh('p', 1, undefined, () => told.push({ added: -1, held: [], calls: [] }));
    expect(told).toHaveLength(1);
  });

  it('asks three tracked peers for offers, the others only pull; a lost relay is replaced by one of the others', async () => {
    const peers = new RecordingPeers(eightEmpty);
    const views = new PeerViews({ ...parts(peers), random: seededRandom(3) }, { maxPeers: 16 });
    const all = ['a', 'b', 'c', 'd', 'e'];
    for (const peer of all) views.track(peer);
    for (const peer of all) await views.refresh(peer, 0);
    const asked = (peer: string) => peers.calls.filter((c) => c.method === 'inventoryChanges' && c.peer === peer).map((c) => c.params.offers);
    const relays = all.filter((peer) => asked(peer).at(-1) === true);
    expect(relays).toHaveLength(3);
    expect(all.filter((peer) => asked(peer).at(-1) === false)).toHaveLength(2);
    const promoted = views.untrack(relays[0]!);
    expect(all.filter((peer) => !relays.includes(peer))).toContain(promoted);
    await views.refresh(promoted!, 1);
    expect(asked(promoted!).at(-1)).toBe(true);
    const pullerOnly = all.find((peer) => !relays.includes(peer) && peer !== promoted)!;
    expect(views.untrack(pullerOnly)).toBeUndefined(); // not a relay: nobody is promoted
  });

  it('keeps its relays a uniform draw among its neighbours, whatever order they were tracked in', () => {
    const runs = 4_000;
    const chosen = new Array<number>(8).fill(0);
    for (let seed = 1; seed <= runs; seed++) {
      const views = new PeerViews({ ...parts(new RecordingPeers(eightEmpty)), random: seededRandom(seed) }, { maxPeers: 16 });
      for (let i = 0; i < 8; i++) views.track(`p${i}`);
      for (let i = 0; i < 8; i++) if (views.get(`p${i}`)!.relay) chosen[i]!++;
      expect(views.relaysMissing()).toBe(0);
    }
    // Each of the 8 is one of the 3 relays with probability 3/8 (standard deviation 0.008 here).
    for (const count of chosen) expect(Math.abs(count / runs - 3 / 8)).toBeLessThan(0.04);
  });

  it('replaces a relay that refused to offer to us, and asks it again only RELAY_REFUSED_MS later', async () => {
    const peers = new RefusingPeers();
    peers.full.add('a');
    // A draw that never picks a later neighbour: the first three tracked are the relays.
    const views = new PeerViews({ ...parts(peers), random: () => 0.999 }, { maxPeers: 16 });
    for (const peer of ['a', 'b', 'c', 'd']) views.track(peer);
    const first = await views.refresh('a', 0); // whole vector, then the changes that register us
    expect(first.relayRefused).toBe(true);
    expect(views.get('a')!.relay).toBe(false);
    expect(views.topUpRelays(0)).toEqual(['d']);
    expect(views.untrack('d', 10)).toBeUndefined(); // 'a' refused until RELAY_REFUSED_MS: nobody left to promote
    expect(views.relaysMissing()).toBe(1);
    await views.refresh('a', 20);
    const asked = peers.calls.filter((c) => c.method === 'inventoryChanges' && c.peer === 'a').map((c) => c.params.offers);
    expect(asked).toEqual([true, false]); // not asked for offers while it refuses
    expect(views.topUpRelays(RELAY_REFUSED_MS - 1)).toEqual([]);
    expect(views.topUpRelays(RELAY_REFUSED_MS + 1)).toEqual(['a']); // it may have room again
    peers.full.clear();
    expect((await views.refresh('a', RELAY_REFUSED_MS + 2)).relayRefused).toBeUndefined();
    expect(views.get('a')!.relay).toBe(true);
  });

  it('tracks a non-neighbour as an extra relay only while relays are missing, never as a neighbour, until it becomes one', () => {
    const views = new PeerViews(parts(new RecordingPeers(eightEmpty)), { maxPeers: 3, relays: 2 });
    views.track('a');
    views.trackPassive('p', 1_000);
    views.trackPassive('q', 2_000);
    expect(views.relaysMissing()).toBe(1);
    expect(views.trackExtraRelay('a', 0)).toBe(false); // already tracked
    expect(views.trackExtraRelay('x', 0)).toBe(true); // the passive view closest to expiry made room
    expect([views.has('p'), views.has('q')]).toEqual([false, true]);
    expect(views.trackExtraRelay('y', 0)).toBe(false); // two relays: enough
    expect([views.get('x')!.relay, views.neighbors()]).toEqual([true, ['a']]); // not audited as a neighbour
    views.track('x'); // chosen as a neighbour since
    expect(views.neighbors()).toEqual(['a', 'x']);
    expect(views.untrack('x')).toBeUndefined(); // a passive view is never promoted
    expect(views.relaysMissing()).toBe(1);
    expect(views.trackExtraRelay('z', 0)).toBe(true);
    views.track('n'); // a new neighbour takes the extra relay's place
    expect([views.has('z'), views.get('n')!.relay, views.relaysMissing()]).toEqual([false, true, 0]);
  });

  it('drops an extra relay that refuses, and remembers at most maxPeers such refusals', async () => {
    const peers = new RefusingPeers();
    const views = new PeerViews(parts(peers), { maxPeers: 2, relays: 1 });
    for (const peer of ['x0', 'x1', 'x2']) {
      peers.full.add(peer);
      expect(views.trackExtraRelay(peer, 0)).toBe(true);
      expect((await views.refresh(peer, 0)).relayRefused).toBe(true);
      expect(views.has(peer)).toBe(false);
    }
    expect(views.trackExtraRelay('x2', 1)).toBe(false); // refused a moment ago
    expect(views.trackExtraRelay('x0', 1)).toBe(true); // the oldest refusal was forgotten: the bound is 2
  });

  it('asks a seed for offers only while no other tracked peer can take its place', () => {
    const views = new PeerViews(parts(new RecordingPeers(eightEmpty)), { maxPeers: 16, relays: 2 });
    views.track('seed', { lastResort: true });
    expect(views.get('seed')!.relay).toBe(true); // a node that knows only its seed needs its offers
    views.track('a');
    views.track('b'); // takes the seed's place
    expect(['seed', 'a', 'b'].map((p) => views.get(p)!.relay)).toEqual([false, true, true]);
    expect(views.untrack('a')).toBe('seed'); // the seed again, as nothing else is left
  });

  it('remembers what an untracked peer offered until it expires, never refreshes it, and gives way to tracked peers', () => {
    const views = new PeerViews(parts(new RecordingPeers(eightEmpty)), { maxPeers: 2 });
    expect(views.trackPassive('x', 1_000)).toBe(true);
    expect(views.markHeld('x', Uint32Array.of(2, 5), 0)).toBe(2);
    expect(views.get('x')!.refreshedAt).toBe(Infinity);
    expect(views.get('x')!.relay).toBe(false);
    views.track('a');
    expect(views.track('b')).toBe(true); // the passive view made room
    expect(views.has('x')).toBe(false);
    expect(views.trackPassive('y', 1_000)).toBe(false); // full of tracked peers
    views.untrack('b');
    views.trackPassive('y', 1_000);
    views.expirePassive(999);
    expect(views.has('y')).toBe(true);
    views.expirePassive(1_001);
    expect(views.has('y')).toBe(false);
  });

  it('judges a put-off reply against at least 16 of our largest chunks, never more than 640 KiB', () => {
    const views = new PeerViews(parts(new RecordingPeers(() => ({}))), { maxPeers: 4 });
    views.track('p');
    const KiB = 1024;
    views.get('p')!.maxGetChunksBytes = 1; // announced to make every put-off look honest
    expect(views.putOffHonest('p', 1_000, 40 * KiB)).toBe(false);
    expect(views.putOffHonest('p', 600 * KiB + 1, 40 * KiB)).toBe(true); // within a chunk of 640 KiB
    expect(minJudgedReplyBytes(300)).toBe(16 * 300);
    // Large chunks: an honest peer's default 4 MiB bound is its bound, not 16 of our 1 MiB chunks.
    views.get('p')!.maxGetChunksBytes = 4 * 1024 * KiB;
    expect(views.putOffHonest('p', 3.5 * 1024 * KiB, 1024 * KiB)).toBe(true);
  });
});
