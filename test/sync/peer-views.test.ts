/**
 * Peer views: what we believe each tracked peer holds, read incrementally or whole, clamped to our
 * own sequence; which tracked peers are asked for offers (relays); views known from offers only.
 */
import { describe, expect, it } from 'vitest';
import { encodePositions } from '../../src/inventory/varint.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { PeerViews, type PeerViewsComponents } from '../../src/sync/peer-views.js';
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
    expect(views.markHeld('boaster', Uint32Array.of(5, 999, 4_000_000_000))).toBe(0);
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
    const peer: Transport = {
      address: 'self',
      listen: async () => 'self',
      close: async () => {},
      async call(_peer, method, params) {
        const { offset } = params as { offset?: number };
        calls.push(method === 'inventory' ? `inventory@${offset}` : method);
        if (method === 'inventory' && offset === 0) {
          await gate;
          return { sequenceLength: 16, inventory: { epoch: 'e', version: 1 }, bytes: Uint8Array.of(0x80) }; // position 0 (bits are MSB first)
        }
        if (method === 'inventory') return { sequenceLength: 16, inventory: { epoch: 'e', version: 2 }, bytes: Uint8Array.of(0x01) }; // position 15
        return { complete: true, sequenceLength: 16, inventory: { epoch: 'e', version: 2 }, added: encodePositions(Uint32Array.of()) };
      },
    };
    const views = new PeerViews({ ...parts(peer), localLength: () => length });
    views.track('p');
    const whole = views.refresh('p', 0);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(views.markHeld('p', Uint32Array.of(3))).toBe(1); // offered while the read is under way
    release();
    await whole;
    const view = views.get('p')!;
    expect([view.inventory.has(0), view.inventory.has(3), view.covered]).toEqual([true, true, 8]);
    length = 16; // our chain grew: bits 8..15 predate the version we hold, so they are read
    await views.refresh('p', 1);
    expect([view.inventory.length, view.inventory.has(15), view.covered]).toEqual([16, true, 16]);
    expect(calls).toEqual(['inventory@0', 'inventoryChanges', 'inventoryChanges', 'inventory@1']);
  });

  it('asks the first three tracked peers for offers, the others only pull; a lost relay is replaced', async () => {
    const peers = new RecordingPeers(eightEmpty);
    const views = new PeerViews(parts(peers), { maxPeers: 16 });
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
