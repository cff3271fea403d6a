/**
 * A peer list may spell an admitted peer otherwise than the table does ("127.0.0.3:080" for
 * "127.0.0.3:80"): the random walk then stands at that spelling. A neighbour is the table's peer
 * whatever the spelling the walk reached it under: it takes one neighbour slot, and it leaves the
 * neighbour set when the table removes it (blocked for its offences).
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

describe('overlay: peers spelt otherwise in peer lists', () => {
  it('a neighbour reached under another spelling is the table peer: one slot, dropped when the peer is blocked', async () => {
    const clock = steppedClock();
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
        if (method === 'ping') return { protocol: PROTOCOL_VERSION, network: 'main', sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: DIGEST, inventory: { epoch: 'e', version: 0 } };
        if (method === 'peers') return { peers: lists.get(who) ?? [] };
        throw new Error(`unexpected ${method}`);
      },
    };
    const neighbors = new Set<string>();
    const lifetime = new AbortController();
    const overlay = new Overlay({
      client: new ProtocolClient(transport),
      network: 'main',
      sequence: { sequenceLength: () => 0, sequenceDigest: () => DIGEST },
      clock,
      random: seededRandom(11),
      logger: silentLogger,
      neighbors: 4,
      neighborRenewMs: 10_000,
      walk: { stepsPerRound: 4 },
      seeds: [SEED],
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
