/**
 * The pusher's policy: who hears of our new chunks (neighbours, pullers, relays), as bytes or as
 * offers, bounded per target, and what a peer met for the first time is told.
 */
import { describe, expect, it } from 'vitest';
import { bitmaps, type Bitmap, type ReadonlyBitmap } from '../../src/inventory/bitmap.js';
import { decodePositions } from '../../src/inventory/varint.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { systemClock, type Clock } from '../../src/runtime.js';
import { MAX_PULLERS_PER_HOST, Pusher, type PusherComponents } from '../../src/sync/pusher.js';
import type { Transport } from '../../src/transport/types.js';
import { RecordingPeers } from '../support/recording-peers.js';
import { steppedClock } from '../support/clock.js';

/** Every peer takes nothing offered and saves every chunk pushed. */
const acceptAll = (method: string, params: Record<string, unknown>): unknown => {
  if (method === 'offer') return { wanted: 0 };
  if (method === 'putChunks') return { saved: (params.chunks as unknown[]).map(() => true) };
  return {};
};

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
const offered = (peers: RecordingPeers, peer: string) =>
  peers.calls.filter((c) => c.method === 'offer' && c.peer === peer).flatMap((c) => [...decodePositions(c.params.added as Uint8Array, { maxCount: 100_000 })]);
const pushedTo = (peers: RecordingPeers) => new Set(peers.calls.filter((c) => c.method === 'putChunks').map((c) => c.peer));

/** A pusher's parts over `peers`: it knows of no holdings and has no recent changes to greet with. */
function parts(peers: Transport, clock: Clock = systemClock): PusherComponents {
  return { client: new ProtocolClient(peers), clock, self: () => 'self', peerInventory: () => undefined, recent: () => [] };
}

describe('the pusher', () => {
  it('drops the offers still queued for positions a rollback removed', async () => {
    const answers: (() => void)[] = [];
    const peers = new RecordingPeers(() => new Promise((resolve) => answers.push(() => resolve({ wanted: 0 }))));
    const pusher = new Pusher(parts(peers), { neighborOffers: 0 });
    pusher.addPuller('relay', true);
    pusher.offer([5]); // in flight: what follows queues behind it
    pusher.offer([90, 900]);
    pusher.rolledBack(100);
    await settle();
    answers.shift()?.();
    await settle();
    expect(offered(peers, 'relay')).toEqual([5, 90]);
    answers.shift()?.();
    pusher.stop();
  });

  it('keeps the calls to one host\'s pullers to MAX_PULLERS_PER_HOST, evicted ones included: a host naming a new port in each pull, its calls never answered, leaves the other slots to honest relays', async () => {
    const started: string[] = [];
    const stalling: Transport = {
      address: 'self',
      listen: async () => 'self',
      close: async () => {},
      call(peer, _method, _params, options) {
        started.push(peer);
        if (peer.startsWith('127.0.0.5:')) return Promise.resolve({ wanted: 0 });
        // The attacker's listener takes the call and never answers: it ends only when the pusher stops.
        return new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('stopped')), { once: true }));
      },
    };
    const pusher = new Pusher({ ...parts(stalling), recent: () => [1, 2, 3] }, { maxTargets: 64 });
    for (let port = 10_000; port < 10_100; port++) pusher.addPuller(`127.0.0.9:${port}`, true, '127.0.0.9');
    // The same machine stating addresses of other hosts, which never answer either: its calls count where they came from.
    for (let i = 0; i < 100; i++) pusher.addPuller(`127.0.9.${i}:6264`, true, '127.0.0.9');
    expect(pusher.addPuller('127.0.0.5:6264', true, '127.0.0.5')).toBe(true);
    await settle();
    expect(started.filter((peer) => !peer.startsWith('127.0.0.5:')).length).toBe(MAX_PULLERS_PER_HOST);
    expect(started).toContain('127.0.0.5:6264');
    pusher.offer([4]);
    await settle();
    expect(started.filter((peer) => peer === '127.0.0.5:6264').length).toBe(2);
    pusher.stop();
  });

  it('offers only to pullers that asked for offers (no neighbour offers), and pushes a client put to every target', async () => {
    const peers = new RecordingPeers(acceptAll);
    const pusher = new Pusher(parts(peers), { neighborOffers: 0 });
    pusher.addNeighbor('neighbour');
    pusher.addPuller('relay', true);
    pusher.addPuller('quiet', false);
    pusher.offer([7]);
    await settle();
    expect(offered(peers, 'relay')).toEqual([7]);
    expect(offered(peers, 'quiet')).toEqual([]);
    expect(offered(peers, 'neighbour')).toEqual([]);
    pusher.push([{ data: new Uint8Array(10), positions: [8] }]);
    await settle();
    expect(new Set(peers.calls.filter((c) => c.method === 'putChunks').map((c) => c.peer))).toEqual(new Set(['neighbour', 'relay', 'quiet']));
    pusher.stop();
  });

  it('counts the chunks of push calls answered, and the offer and push calls that failed apart', async () => {
    const peers = new RecordingPeers((method, params) => {
      if (method === 'offer') throw new Error('offer refused');
      if ((params.chunks as unknown[]).length > 2) throw new Error('TOO_MANY'); // a peer answering at most 2 a call
      return { saved: (params.chunks as unknown[]).map(() => true) };
    });
    const small = new Pusher(parts(peers), { neighborOffers: 0, pushBatch: 2 });
    small.addNeighbor('n');
    small.push([1, 2, 3, 4, 5].map((i) => ({ data: new Uint8Array(10).fill(i), positions: [i] })));
    await settle();
    expect({ chunksPushed: small.chunksPushed, failedCalls: small.failedCalls }).toEqual({ chunksPushed: 5, failedCalls: 0 });
    small.stop();
    const large = new Pusher(parts(peers), { neighborOffers: 0, pushBatch: 5 });
    large.addNeighbor('n');
    large.addPuller('relay', true);
    large.push([1, 2, 3].map((i) => ({ data: new Uint8Array(10).fill(i), positions: [i] })));
    large.offer([9]);
    await settle();
    // Neither the refused pushes nor the refused offer count as delivered.
    expect({ chunksPushed: large.chunksPushed, failedCalls: large.failedCalls, offersSent: large.offersSent }).toEqual({ chunksPushed: 0, failedCalls: 3, offersSent: 1 });
    large.stop();
  });

  it('offers each batch to neighborOffers neighbours in turn, besides the relays, skipping those known to hold it', async () => {
    const peers = new RecordingPeers(acceptAll);
    const holds = new Map<string, Bitmap>([['n2', bitmaps.create([1, 2, 3])]]);
    const pusher = new Pusher({ ...parts(peers), peerInventory: (peer) => holds.get(peer) }, { neighborOffers: 1 });
    for (const n of ['n1', 'n2', 'n3']) pusher.addNeighbor(n);
    pusher.addPuller('relay', true);
    for (const position of [1, 2, 3]) {
      pusher.offer([position]);
      await settle();
    }
    expect(offered(peers, 'relay')).toEqual([1, 2, 3]);
    // One neighbour a batch, in turn; n2 already holds them all, so its turn passes to n3, and the
    // turn after that is n1's again (not n3's twice).
    expect([offered(peers, 'n1'), offered(peers, 'n2'), offered(peers, 'n3')]).toEqual([[1, 3], [], [2]]);
    holds.set('n1', bitmaps.create([4])).set('n3', bitmaps.create([4]));
    holds.get('n2')!.add(4);
    pusher.offer([4]); // every neighbour holds it: nobody but the relay hears of it
    await settle();
    expect(offered(peers, 'relay')).toEqual([1, 2, 3, 4]);
    expect(peers.calls.filter((c) => c.method === 'offer')).toHaveLength(4 + 3); // 4 to the relay, 3 to neighbours
    pusher.stop();
    for (const bitmap of holds.values()) bitmaps.release(bitmap);
  });

  it('checks a large batch against a neighbour\'s inventory with one bitmap operation, with the answers a test a position gives', async () => {
    const batch = Array.from({ length: 40 }, (_, i) => 100 + i * 3);
    const holdings = new Map<string, number[]>([
      ['full', [...batch, 7]],
      ['partial', batch.slice(0, 39)], // lacks the last one
    ]);
    const run = async (withBitmapCheck: boolean) => {
      const peers = new RecordingPeers(acceptAll);
      const tested: string[] = [];
      const inventories = new Map([...holdings].map(([peer, held]) => [peer, bitmaps.create(held)]));
      // Each inventory as the pusher sees it, counting its tests a position.
      const seen = new Map(
        [...inventories].map(([peer, inventory]) => [
          peer,
          {
            has: (p: number) => (tested.push(peer), inventory.has(p)),
            andCardinality: (other: ReadonlyBitmap) => inventory.andCardinality(other),
          } as unknown as ReadonlyBitmap,
        ]),
      );
      const pusher = new Pusher({ ...parts(peers), peerInventory: (peer) => seen.get(peer) }, { neighborOffers: 2, bitmapCheckFrom: withBitmapCheck ? 64 : Infinity });
      for (const n of ['full', 'partial', 'unknown']) pusher.addNeighbor(n);
      await settle(); // the first-contact offers (nothing recent) are done
      tested.length = 0;
      pusher.offer(Uint32Array.from(batch));
      await settle();
      pusher.stop();
      for (const bitmap of inventories.values()) bitmaps.release(bitmap);
      return { offered: ['full', 'partial', 'unknown'].map((peer) => offered(peers, peer)), fullTested: tested.filter((peer) => peer === 'full').length };
    };
    const byPosition = await run(false);
    const byBitmap = await run(true);
    // The same offers either way: the neighbour holding all is skipped, the others hear of what they lack.
    expect(byBitmap.offered).toEqual(byPosition.offered);
    expect(byBitmap.offered).toEqual([[], [batch[39]], batch]);
    // The neighbour holding all took 40 tests a position without its inventory, none with it.
    expect([byPosition.fullTested, byBitmap.fullTested]).toEqual([40, 0]);
  });

  it('never evicts a relay puller for one that asked for no offers', async () => {
    const peers = new RecordingPeers(acceptAll);
    const pusher = new Pusher(parts(peers), { maxTargets: 4 });
    for (let i = 0; i < 4; i++) pusher.addPuller(`relay-${i}`, true);
    for (let i = 0; i < 100; i++) pusher.addPuller(`quiet-${i}`, false);
    pusher.offer([1]);
    await settle();
    expect(new Set(peers.calls.filter((c) => c.method === 'offer').map((c) => c.peer))).toEqual(new Set(['relay-0', 'relay-1', 'relay-2', 'relay-3']));
    pusher.stop();
  });

  it('offers our most recent changes to a peer met for the first time, once, bounded', async () => {
    const peers = new RecordingPeers(acceptAll);
    const recent = Array.from({ length: 10_000 }, (_, i) => i);
    const holdsThree = bitmaps.create([3]);
    const pusher = new Pusher({ ...parts(peers), peerInventory: () => holdsThree, recent: (max) => recent.slice(-max) }, { firstContactPositions: 100 });
    pusher.addNeighbor('new');
    pusher.addPuller('new', true); // the same peer again: no second greeting
    await settle();
    const greeting = offered(peers, 'new');
    expect(greeting).toHaveLength(100);
    expect(greeting[0]).toBe(9_900);
    pusher.addPuller('other', true);
    await settle();
    expect(offered(peers, 'other')).toHaveLength(100);
    expect(peers.calls.filter((c) => c.method === 'offer')).toHaveLength(2);
    pusher.stop();
    bitmaps.release(holdsThree);
  });
});


describe('the pusher, further', () => {
  it('sends nothing before we have an address of our own', async () => {
    const peers = new RecordingPeers(acceptAll);
    let self: string | undefined;
    const pusher = new Pusher({ ...parts(peers), self: () => self, recent: () => [1, 2] });
    pusher.addNeighbor('n');
    pusher.offer([1]);
    pusher.push([{ data: new Uint8Array(4), positions: [2] }]);
    await settle();
    expect(peers.calls).toEqual([]);
    self = 'self';
    pusher.push([{ data: new Uint8Array(4), positions: [2] }]);
    await settle();
    expect(pushedTo(peers)).toEqual(new Set(['n']));
    pusher.stop();
  });

  it('neither pushes nor offers what a target is known to hold', async () => {
    const peers = new RecordingPeers(acceptAll);
    // 'full' holds every position the test offers or pushes; every other peer holds 5.
    const [full, fiveOnly] = [bitmaps.create([4, 5, 6]), bitmaps.create([5])];
    const pusher = new Pusher({ ...parts(peers), peerInventory: (peer) => (peer === 'full' ? full : fiveOnly) });
    pusher.addPuller('full', true);
    pusher.addPuller('partial', true);
    pusher.offer([4, 5, 6]);
    pusher.push([{ data: new Uint8Array(8), positions: [5] }]);
    await settle();
    expect(offered(peers, 'full')).toEqual([]);
    expect(offered(peers, 'partial')).toEqual([4, 6]);
    expect(pushedTo(peers).size).toBe(0);
    pusher.stop();
    bitmaps.release(full);
    bitmaps.release(fiveOnly);
  });

  it('stops offering to a puller pullerTtlMs after its last pull, and keeps a removed neighbour while it pulls', async () => {
    const peers = new RecordingPeers(acceptAll);
    const clock = steppedClock(0);
    const pusher = new Pusher(parts(peers, clock), { pullerTtlMs: 1_000 });
    pusher.addPuller('p', true);
    pusher.addNeighbor('n');
    pusher.addPuller('n', true);
    pusher.removeNeighbor('n'); // still pulling: stays a target
    clock.advance(999);
    pusher.offer([1]);
    await settle();
    expect([offered(peers, 'p'), offered(peers, 'n')]).toEqual([[1], [1]]);
    clock.advance(2);
    pusher.offer([2]);
    await settle();
    expect([offered(peers, 'p'), offered(peers, 'n')]).toEqual([[1], [1]]);
    pusher.stop();
  });

  it('never displaces a neighbour for a puller', async () => {
    const peers = new RecordingPeers(acceptAll);
    const pusher = new Pusher(parts(peers), { maxTargets: 2 });
    pusher.addNeighbor('n1');
    pusher.addNeighbor('n2');
    for (let i = 0; i < 50; i++) pusher.addPuller(`p${i}`, true);
    pusher.push([{ data: new Uint8Array(4), positions: [1] }]);
    await settle();
    expect(pushedTo(peers)).toEqual(new Set(['n1', 'n2']));
    pusher.stop();
  });
  it('refuses a relay when full rather than evict a live one, says so, and lets in one once a relay stopped pulling', async () => {
    const peers = new RecordingPeers(acceptAll);
    const clock = steppedClock(0);
    const pusher = new Pusher(parts(peers, clock), { maxTargets: 4, pullerTtlMs: 1_000 });
    expect([0, 1, 2, 3].map((i) => pusher.addPuller(`relay-${i}`, true))).toEqual([true, true, true, true]);
    expect(pusher.addPuller('late', true)).toBe(false); // told: it asks another peer
    expect(pusher.addPuller('quiet', false)).toBe(false); // asked for no offers: it never hears any
    for (let round = 0; round < 10; round++) expect(pusher.addPuller('late', true)).toBe(false); // pulling again changes nothing
    pusher.offer([1]);
    await settle();
    expect(new Set(peers.calls.filter((c) => c.method === 'offer').map((c) => c.peer))).toEqual(new Set(['relay-0', 'relay-1', 'relay-2', 'relay-3']));
    expect(pusher.addPuller('relay-0', true)).toBe(true); // a relay that pulls again is still one

    clock.advance(600);
    for (const i of [0, 1, 2]) pusher.addPuller(`relay-${i}`, true);
    clock.advance(600); // relay-3 has not pulled for 1,200 ms: its slot is free
    expect(pusher.addPuller('late', true)).toBe(true);
    pusher.offer([2]);
    await settle();
    expect(offered(peers, 'late')).toEqual([2]);
    expect(offered(peers, 'relay-3')).toEqual([1]);
    pusher.stop();
  });

  it('keeps offering to its relays while callers from many hosts keep pulling for offers', async () => {
    const peers = new RecordingPeers(acceptAll);
    const clock = steppedClock(0);
    const pusher = new Pusher(parts(peers, clock), { maxTargets: 8, pullerTtlMs: 1_000 });
    const relays = Array.from({ length: 6 }, (_, i) => `10.0.0.${i}:1`);
    for (const relay of relays) expect(pusher.addPuller(relay, true)).toBe(true);
    let refused = 0;
    for (let round = 0; round < 200; round++) {
      clock.advance(100);
      if (round % 5 === 0) for (const relay of relays) expect(pusher.addPuller(relay, true)).toBe(true);
      // 50 attacking hosts, a new port each round: they take the two free slots, nothing more.
      for (let host = 0; host < 50; host++) if (!pusher.addPuller(`10.1.${host}.${round % 250}:${round}`, true)) refused++;
    }
    expect(refused).toBeGreaterThan(200 * 50 - 200 * 2);
    pusher.offer([9]);
    await settle();
    for (const relay of relays) expect(offered(peers, relay)).toEqual([9]);
    expect(peers.calls.filter((c) => c.method === 'offer').length).toBeLessThanOrEqual(8); // never more targets than maxTargets
    pusher.stop();
  });

  it('lets a peer of our table displace a stranger that took a relay slot first, never another known relay', async () => {
    const peers = new RecordingPeers(acceptAll);
    const clock = steppedClock(0);
    const known = new Set(['10.9.0.1:1', '10.9.0.2:1', '10.9.0.3:1']);
    const pusher = new Pusher({ ...parts(peers, clock), isKnownPeer: (peer) => known.has(peer) }, { maxTargets: 8, pullerTtlMs: 120_000 });
    // Strangers from 8 hosts take every slot first, and keep pulling.
    const squatters = Array.from({ length: 8 }, (_, i) => `10.2.${i}.1:1`);
    for (const squatter of squatters) expect(pusher.addPuller(squatter, true)).toBe(true);
    expect(pusher.addPuller('10.3.0.1:1', true)).toBe(false); // another stranger: refused, as before
    // Peers we admitted get in, each in a stranger's place.
    for (const peer of known) expect(pusher.addPuller(peer, true)).toBe(true);
    clock.advance(1_000);
    for (const squatter of squatters) pusher.addPuller(squatter, true); // pulling again does not win a slot back
    for (const peer of known) expect(pusher.addPuller(peer, true)).toBe(true);
    pusher.offer([5]);
    await settle();
    for (const peer of known) expect(offered(peers, peer)).toEqual([5]);
    expect(squatters.filter((s) => offered(peers, s).length > 0)).toHaveLength(5);
    // With every slot held by known relays, a known newcomer is refused like anyone.
    for (let i = 4; i <= 8; i++) known.add(`10.9.0.${i}:1`);
    for (let i = 4; i <= 8; i++) expect(pusher.addPuller(`10.9.0.${i}:1`, true)).toBe(true);
    known.add('10.9.0.9:1');
    expect(pusher.addPuller('10.9.0.9:1', true)).toBe(false);
    pusher.stop();
  });

  it('lets a neighbour of ours displace a relay, which hears of it at its next pull', async () => {
    const peers = new RecordingPeers(acceptAll);
    const pusher = new Pusher(parts(peers), { maxTargets: 2 });
    pusher.addPuller('r1', true);
    pusher.addPuller('r2', true);
    pusher.addNeighbor('n');
    const relaysLeft = ['r1', 'r2'].filter((r) => pusher.addPuller(r, true));
    expect(relaysLeft).toHaveLength(1); // the displaced one is refused, the other still hears offers
    pusher.push([{ data: new Uint8Array(4), positions: [1] }]);
    await settle();
    expect(pushedTo(peers)).toEqual(new Set(['n', ...relaysLeft]));
    pusher.stop();
  });

  it("one host's pullers give way by the pusher's own rule: the least recently pulled first, never a relay for a puller that asks for no offers", async () => {
    const peers = new RecordingPeers(acceptAll);
    const clock = steppedClock(0);
    const pusher = new Pusher(parts(peers, clock));
    for (let port = 1; port <= 4; port++) {
      pusher.addPuller(`127.0.0.1:${port}`, true);
      clock.advance(1_000);
    }
    pusher.addPuller('127.0.0.1:1', true); // pulls again: now the most recent
    pusher.addPuller('127.0.0.1:5', true); // the host is full: 127.0.0.1:2 pulled least recently
    pusher.addPuller('127.0.0.1:6', false); // asks for no offers: displaces no relay of its host
    pusher.offer([3]);
    await settle();
    for (const port of [1, 3, 4, 5]) expect(offered(peers, `127.0.0.1:${port}`)).toEqual([3]);
    expect(offered(peers, '127.0.0.1:2')).toEqual([]);
    pusher.push([{ data: new Uint8Array(10), positions: [4] }]);
    await settle();
    expect(pushedTo(peers).has('127.0.0.1:6')).toBe(false);
    pusher.stop();
  });
});
