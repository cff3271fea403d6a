/**
 * Offers sized to the network: a node asks only a few of the peers it tracks for offers (its
 * relays), those alone offer to it, and a peer met for the first time hears our recent changes.
 */
import { describe, expect, it } from 'vitest';
import { decodePositions } from '../../src/inventory/varint.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { systemClock } from '../../src/runtime.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { Pusher } from '../../src/sync/pusher.js';
import type { Transport } from '../../src/transport/types.js';

/** Records every call and answers at once. */
class RecordingPeers implements Transport {
  readonly address = 'self';
  readonly calls: { peer: string; method: string; params: Record<string, unknown> }[] = [];
  async listen(): Promise<string> {
    return this.address;
  }
  async call(peer: string, method: string, params: unknown): Promise<unknown> {
    this.calls.push({ peer, method, params: params as Record<string, unknown> });
    if (method === 'offer') return { wanted: 0 };
    if (method === 'inventory') return { sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, bytes: new Uint8Array(1) };
    if (method === 'inventoryChanges') return { complete: true, sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, added: new Uint8Array(0) };
    return {};
  }
  async close(): Promise<void> {}
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
const offered = (peers: RecordingPeers, peer: string) =>
  peers.calls.filter((c) => c.method === 'offer' && c.peer === peer).flatMap((c) => [...decodePositions(c.params.added as Uint8Array, { maxCount: 100_000 })]);

describe('the pusher', () => {
  it('offers only to pullers that asked for offers, and pushes a client put to every target', async () => {
    const peers = new RecordingPeers();
    const pusher = new Pusher(new ProtocolClient(peers), systemClock, () => 'self', () => false);
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

  it('never evicts a relay puller for one that asked for no offers', async () => {
    const peers = new RecordingPeers();
    const pusher = new Pusher(new ProtocolClient(peers), systemClock, () => 'self', () => false, { maxTargets: 4 });
    for (let i = 0; i < 4; i++) pusher.addPuller(`relay-${i}`, true);
    for (let i = 0; i < 100; i++) pusher.addPuller(`quiet-${i}`, false);
    pusher.offer([1]);
    await settle();
    expect(new Set(peers.calls.filter((c) => c.method === 'offer').map((c) => c.peer))).toEqual(new Set(['relay-0', 'relay-1', 'relay-2', 'relay-3']));
    pusher.stop();
  });

  it('offers our most recent changes to a peer met for the first time, once, bounded', async () => {
    const peers = new RecordingPeers();
    const recent = Array.from({ length: 10_000 }, (_, i) => i);
    const pusher = new Pusher(new ProtocolClient(peers), systemClock, () => 'self', (_peer, p) => p === 3, { firstContactPositions: 100 }, (max) => recent.slice(-max));
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
  });
});

describe('peer views', () => {
  it('asks the first three tracked peers for offers, the others only pull; a lost relay is replaced', async () => {
    const peers = new RecordingPeers();
    const views = new PeerViews(new ProtocolClient(peers), DEFAULT_LIMITS, 16, () => 'self', () => 8);
    for (const peer of ['a', 'b', 'c', 'd', 'e']) views.track(peer);
    for (const peer of ['a', 'b', 'c', 'd', 'e']) await views.refresh(peer, 0);
    const asked = (peer: string) => peers.calls.filter((c) => c.method === 'inventoryChanges' && c.peer === peer).map((c) => c.params.offers);
    expect(['a', 'b', 'c', 'd', 'e'].map((p) => asked(p).at(-1))).toEqual([true, true, true, false, false]);
    const promoted = views.untrack('b');
    expect(promoted).toBe('d');
    await views.refresh('d', 1);
    expect(asked('d').at(-1)).toBe(true);
    expect(views.untrack('e')).toBeUndefined(); // not a relay: nobody is promoted
  });

  it('asks a seed for offers only while no other tracked peer can take its place', () => {
    const views = new PeerViews(new ProtocolClient(new RecordingPeers()), DEFAULT_LIMITS, 16, () => 'self', () => 8, 2);
    views.track('seed', { lastResort: true });
    expect(views.get('seed')!.relay).toBe(true); // a node that knows only its seed needs its offers
    views.track('a');
    views.track('b'); // takes the seed's place
    expect(['seed', 'a', 'b'].map((p) => views.get(p)!.relay)).toEqual([false, true, true]);
    expect(views.untrack('a')).toBe('seed'); // the seed again, as nothing else is left
  });

  it('remembers what an untracked peer offered until it expires, never refreshes it, and gives way to tracked peers', () => {
    const views = new PeerViews(new ProtocolClient(new RecordingPeers()), DEFAULT_LIMITS, 2, () => 'self', () => 8);
    expect(views.trackPassive('x', 1_000)).toBe(true);
    expect(views.markHeld('x', Uint32Array.of(2, 5))).toBe(2);
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
});
