/**
 * The overlay's neighbours. A peer list may spell an admitted peer otherwise than the table does ("127.0.0.3:080" for
 * "127.0.0.3:80"): the random walk then stands at that spelling. A neighbour is the table's peer
 * whatever the spelling the walk reached it under: it takes one neighbour slot, and it leaves the
 * neighbour set when the table removes it (blocked for its offences). A seed neighbour that
 * stops answering gives its place to a live seed.
 */
import { describe, expect, it } from 'vitest';
import { canonicalPeerAddress, LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { Overlay } from '../../src/peers/overlay.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { silentLogger, seededRandom } from '../../src/runtime.js';
import type { Transport } from '../../src/transport/types.js';
import { steppedClock } from '../support/clock.js';

const SELF = '127.0.0.1:80';
const SEED = '127.0.0.2:80';
const ATTACKER = '127.0.0.3:80';
const DIGEST = 'ab'.repeat(20);

/** An overlay over `transport`, its neighbours kept in `neighbors`; `seeds`, `neighbors` (count) and renewal as given. */
function overlayOver(transport: Transport, neighbors: Set<string>, options: { seeds: string[]; count: number; renewMs: number; stepsPerRound: number; seed: number }) {
  const clock = steppedClock();
  const lifetime = new AbortController();
  const overlay = new Overlay({
    client: new ProtocolClient(transport),
    network: 'main',
    sequence: { sequenceLength: () => 0, sequenceDigest: () => DIGEST },
    clock,
    random: seededRandom(options.seed),
    logger: silentLogger,
    neighbors: options.count,
    neighborRenewMs: options.renewMs,
    walk: { stepsPerRound: options.stepsPerRound },
    seeds: options.seeds,
    self: () => SELF,
    signal: lifetime.signal,
    table: { limits: { maxPeers: 100, maxPending: 800, refusalMs: 600_000 }, addressPolicy: LOCAL_ADDRESS_POLICY, blocklist: new Blocklist() },
    events: {
      peerAdded() {},
      peerRemoved() {},
      neighborAdded: (peer) => void neighbors.add(peer),
      neighborRemoved: (peer) => void neighbors.delete(peer),
    },
  });
  return { overlay, clock, lifetime };
}

/** Runs up to `count` maintenance rounds 2 s apart, fewer when `done` says so before one; `after` runs after each. */
async function rounds(overlay: Overlay, clock: { advance(ms: number): void }, count: number, done: () => boolean = () => false, after: () => void = () => {}): Promise<void> {
  for (let round = 0; round < count && !done(); round++) {
    await overlay.round();
    after();
    clock.advance(2_000);
  }
}

/** A ping reply of an empty node. */
const pong = () => ({ protocol: PROTOCOL_VERSION, network: 'main', sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: DIGEST, inventory: { epoch: 'e', version: 0 } });

describe('overlay: peers spelt otherwise in peer lists', () => {
  it('a neighbour reached under another spelling is the table peer: one slot, dropped when the peer is blocked', async () => {
    const lists = new Map<string, string[]>([
      [SEED, [ATTACKER]],
      [ATTACKER, ['127.0.0.3:080', '127.0.0.3:0080', '127.0.0.3:00080']],
    ]);
    const transport: Transport = {
      address: SELF,
      listen: async () => SELF,
      close: async () => {},
      async call(peer, method) {
        const who = canonicalPeerAddress(peer) as string;
        if (method === 'ping') return pong();
        if (method === 'peers') return { peers: lists.get(who) ?? [] };
        throw new Error(`unexpected ${method}`);
      },
    };
    const neighbors = new Set<string>();
    const { overlay, clock, lifetime } = overlayOver(transport, neighbors, { seeds: [SEED], count: 4, renewMs: 10_000, stepsPerRound: 4, seed: 11 });
    overlay.start();
    let mostAttackerSlots = 0;
    for (let round = 0; round < 60; round++) {
      await overlay.round();
      const slots = [...neighbors].filter((peer) => canonicalPeerAddress(peer) === ATTACKER).length;
      mostAttackerSlots = Math.max(mostAttackerSlots, slots);
      clock.advance(2_000);
    }
    expect(overlay.isKnownPeer(ATTACKER)).toBe(true); // admitted from the seed's list
    expect(mostAttackerSlots).toBeGreaterThan(0); // and it was a neighbour
    // Every neighbour is named as the table names it, and no peer holds two slots.
    for (const peer of neighbors) expect(canonicalPeerAddress(peer)).toBe(peer);
    expect(mostAttackerSlots).toBeLessThanOrEqual(1);
    // Blocked for its offences: it is no neighbour any more, under any spelling.
    for (let i = 0; i < 3; i++) overlay.penalise(ATTACKER, 'HASH_MISMATCH');
    expect(overlay.isKnownPeer(ATTACKER)).toBe(false);
    expect([...neighbors].filter((peer) => canonicalPeerAddress(peer) === ATTACKER)).toEqual([]);
    expect(overlay.neighbors().filter((peer) => canonicalPeerAddress(peer) === ATTACKER)).toEqual([]);
    lifetime.abort();
  });
});

describe('overlay: the seed neighbour', () => {
  it('a node just started takes its seed neighbour before its walk has heard back from anyone', async () => {
    // Every walk step hangs until released: the seed must be a neighbour meanwhile, so what it
    // holds is read while the walk goes on, not one round trip later.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    const transport: Transport = {
      address: SELF,
      listen: async () => SELF,
      close: async () => {},
      async call(_peer, method) {
        calls.push(method);
        await released;
        if (method === 'ping') return pong();
        if (method === 'peers') return { peers: [] };
        throw new Error(`unexpected ${method}`);
      },
    };
    const neighbors = new Set<string>();
    const { overlay, lifetime } = overlayOver(transport, neighbors, { seeds: [SEED], count: 4, renewMs: 10_000, stepsPerRound: 4, seed: 7 });
    overlay.start();
    const round = overlay.round();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(['peers']); // the walk's first step is under way, unanswered
    expect([...neighbors]).toEqual([SEED]);
    release();
    await round;
    expect([...neighbors]).toEqual([SEED]);
    lifetime.abort();
  });

  it('gives a seed neighbour that stopped answering its slot to a live seed, without waiting for renewal', async () => {
    const seeds = ['127.0.0.2:80', '127.0.0.4:80'];
    const down = new Set<string>();
    const transport: Transport = {
      address: SELF,
      listen: async () => SELF,
      close: async () => {},
      async call(peer, method) {
        if (down.has(canonicalPeerAddress(peer) as string)) throw new Error('connection refused');
        if (method === 'ping') return pong();
        if (method === 'peers') return { peers: seeds.filter((seed) => seed !== canonicalPeerAddress(peer)) };
        throw new Error(`unexpected ${method}`);
      },
    };
    const neighbors = new Set<string>();
    const { overlay, clock, lifetime } = overlayOver(transport, neighbors, { seeds, count: 1, renewMs: 3_600_000, stepsPerRound: 2, seed: 5 });
    overlay.start();
    await rounds(overlay, clock, 5, () => neighbors.size > 0);
    expect(neighbors.size).toBe(1);
    const first = [...neighbors][0]!;
    const other = seeds.find((seed) => seed !== first)!;
    // The first stops answering; the node's calls to its neighbour fail (as its refreshes would).
    down.add(first);
    for (let i = 0; i < 10; i++) overlay.recordCall(first, false);
    await rounds(overlay, clock, 3);
    expect([...neighbors]).toEqual([other]);
    lifetime.abort();
  });
});

describe('overlay: a seed that cannot serve gives its neighbour slot up', () => {
  /** A transport where each peer lists `lists`' entry and peers in `down` refuse every call. */
  function listingTransport(lists: Map<string, string[]>, down: Set<string>): Transport {
    return {
      address: SELF,
      listen: async () => SELF,
      close: async () => {},
      async call(peer, method) {
        const who = canonicalPeerAddress(peer) as string;
        if (down.has(who)) throw new Error('connection refused');
        if (method === 'ping') return pong();
        if (method === 'peers') return { peers: lists.get(who) ?? [] };
        throw new Error(`unexpected ${method}`);
      },
    };
  }

  it('a seed benched as a staller is not taken back as the seed neighbour: another seed takes the slot', async () => {
    const seeds = ['127.0.0.2:80', '127.0.0.4:80'];
    const lists = new Map(seeds.map((seed) => [seed, seeds.filter((other) => other !== seed)]));
    const neighbors = new Set<string>();
    const { overlay, clock, lifetime } = overlayOver(listingTransport(lists, new Set()), neighbors, { seeds, count: 1, renewMs: 3_600_000, stepsPerRound: 2, seed: 5 });
    overlay.start();
    await rounds(overlay, clock, 5, () => neighbors.size > 0);
    const staller = [...neighbors][0]!;
    const other = seeds.find((seed) => seed !== staller)!;
    overlay.dropStaller(staller); // it answers every ping and peer list, but stalls chunk requests
    // Not at the next round, nor as the walk's sample.
    await rounds(overlay, clock, 20, undefined, () => expect(neighbors.has(staller)).toBe(false));
    expect([...neighbors]).toEqual([other]);
    lifetime.abort();
  });

  it('the only seed, down, leaves its slot to a live peer, and is taken back once it answers again', async () => {
    const peer = '127.0.0.5:80';
    const lists = new Map([
      [SEED, [peer]],
      [peer, [SEED]],
    ]);
    const down = new Set<string>();
    const neighbors = new Set<string>();
    const { overlay, clock, lifetime } = overlayOver(listingTransport(lists, down), neighbors, { seeds: [SEED], count: 1, renewMs: 3_600_000, stepsPerRound: 2, seed: 3 });
    overlay.start();
    await rounds(overlay, clock, 10, () => neighbors.has(SEED) && overlay.isKnownPeer(peer));
    expect([...neighbors]).toEqual([SEED]);
    expect(overlay.isKnownPeer(peer)).toBe(true);
    down.add(SEED);
    for (let i = 0; i < 10; i++) overlay.recordCall(SEED, false);
    await rounds(overlay, clock, 3);
    expect([...neighbors]).toEqual([peer]);
    // Back up: once its failures leave the health window it counts as live again and is the seed neighbour.
    down.delete(SEED);
    await rounds(overlay, clock, 400, () => neighbors.has(SEED));
    expect(neighbors.has(SEED)).toBe(true);
    lifetime.abort();
  });
});
