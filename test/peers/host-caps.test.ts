/**
 * One host naming many ports of itself, over time, holds at most a few entries in each list a
 * remote party can grow: the peer table's pending candidates (fed by peer lists and by callers'
 * first contacts through the overlay) and the offers kept for callers not yet admitted. Honest
 * hosts keep getting in meanwhile.
 */
import { describe, expect, it } from 'vitest';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { hostOf, MAX_ADDRESSES_PER_HOST } from '../../src/peers/host-key.js';
import { Overlay } from '../../src/peers/overlay.js';
import { PEER_TABLE_DEFAULTS, PeerTable } from '../../src/peers/table.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { silentLogger, seededRandom } from '../../src/runtime.js';
import { EarlyContacts } from '../../src/sync/early-contacts.js';
import { Pusher } from '../../src/sync/pusher.js';
import type { Transport } from '../../src/transport/types.js';
import { steppedClock } from '../support/clock.js';

const ATTACKER = '127.0.0.66';
/** A transport nothing is sent over (the pusher sends nothing before it has an address of its own). */
const nullTransport: Transport = {
  address: undefined,
  listen: async () => '127.0.0.1:1',
  close: async () => {},
  call: async () => {
    throw new Error('nothing is sent in these tests');
  },
};
const fromAttacker = (address: string) => hostOf(address) === ATTACKER;

describe('per-host caps', () => {
  it('reads the host of IPv4, IPv6 (its /64), host names and bare names', () => {
    expect(hostOf('127.0.0.66:7')).toBe('127.0.0.66');
    expect(hostOf('[2001:db8:1:2::5]:7')).toBe(hostOf('[2001:db8:1:2:ffff::9]:8'));
    expect(hostOf('[::ffff:127.0.0.66]:7')).toBe('127.0.0.66');
    expect(hostOf('Node.Example:7')).toBe('node.example');
    expect(hostOf('node-a')).toBe('node-a');
  });

  it('peer table: a host announcing 20,000 ports over 100 rounds keeps at most maxPendingPerHost pending; honest candidates are still checked', () => {
    const clock = steppedClock();
    const table = new PeerTable({ clock, random: seededRandom(3), network: 'main', policy: LOCAL_ADDRESS_POLICY });
    let port = 1;
    let mostPending = 0;
    const checked: string[] = [];
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 200; i++) table.addCandidate(`${ATTACKER}:${port++}`);
      if (round % 10 === 0) expect(table.addCandidate(`127.0.0.${10 + round / 10}:7000`)).toBe('queued');
      mostPending = Math.max(mostPending, table.pendingCandidates().filter(fromAttacker).length);
      checked.push(...table.nextCandidates(10));
      clock.advance(1_000);
    }
    expect(mostPending).toBe(MAX_ADDRESSES_PER_HOST);
    expect(table.addCandidate(`${ATTACKER}:${port}`)).toBe('queued'); // its queue drained: one more may wait
    expect(checked.filter((peer) => !fromAttacker(peer))).toHaveLength(10); // every honest one, each in its round
    expect(checked.filter(fromAttacker).length).toBeLessThanOrEqual(100 * MAX_ADDRESSES_PER_HOST);
  });

  it('peer table: a host whose 5,000 ports are all refused keeps at most maxRecentPerHost refusals, and pushes out no other host’s', () => {
    const clock = steppedClock();
    const table = new PeerTable({ clock, random: seededRandom(4), network: 'main', policy: LOCAL_ADDRESS_POLICY });
    const honest = '127.0.0.9:7000';
    table.refuse(honest, 'NETWORK_MISMATCH');
    for (let port = 1; port <= 5_000; port++) {
      table.addCandidate(`${ATTACKER}:${port}`);
      table.refuse(`${ATTACKER}:${port}`, 'UNREACHABLE'); // its check failed
      if (port % 100 === 0) clock.advance(1_000); // 50 s in all, well within refusalMs
    }
    expect(table.addCandidate(honest)).toBe('recent');
    let remembered = 0;
    for (let port = 1; port <= 5_000; port++) if (table.addCandidate(`${ATTACKER}:${port}`) === 'recent') remembered++;
    expect(remembered).toBe(PEER_TABLE_DEFAULTS.maxRecentPerHost);
  });

  it('overlay: first contacts from 5,000 ports of one host over 50 rounds get it at most 4 checks per round; an honest caller is checked at once', async () => {
    const clock = steppedClock();
    const pinged: string[] = [];
    const transport: Transport = {
      address: '127.0.0.1:1',
      listen: async () => '127.0.0.1:1',
      close: async () => {},
      async call(peer, method) {
        pinged.push(peer);
        if (method !== 'ping') return { peers: [] };
        // Every caller answers on another network: refused, and remembered as refused.
        return { protocol: 1, network: 'other', sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: '', inventory: { epoch: 'e', version: 0 } };
      },
    };
    const lifetime = new AbortController();
    const overlay = new Overlay({
      client: new ProtocolClient(transport),
      network: 'main',
      sequence: { sequenceLength: () => 0, sequenceDigest: () => '' },
      clock,
      random: seededRandom(5),
      logger: silentLogger,
      neighbors: 4,
      neighborRenewMs: 60_000,
      seeds: [],
      self: () => '127.0.0.1:1',
      signal: lifetime.signal,
      table: { limits: { maxPeers: 100, maxPending: 800, refusalMs: 600_000 }, addressPolicy: LOCAL_ADDRESS_POLICY, blocklist: new Blocklist() },
      events: { peerAdded() {}, peerRemoved() {}, neighborAdded() {}, neighborRemoved() {} },
    });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    let port = 1;
    let mostPending = 0;
    let mostAttackerChecks = 0;
    let leastAttackerChecks = Infinity;
    for (let round = 0; round < 50; round++) {
      pinged.length = 0;
      for (let i = 0; i < 100; i++) {
        overlay.contact(`${ATTACKER}:${port++}`);
        if (round === 25 && i === 50) overlay.contact('127.0.0.9:7000');
        await settle();
      }
      mostPending = Math.max(mostPending, overlay.pendingCount());
      const checks = pinged.filter(fromAttacker).length;
      mostAttackerChecks = Math.max(mostAttackerChecks, checks);
      leastAttackerChecks = Math.min(leastAttackerChecks, checks);
      expect(checks).toBeLessThanOrEqual(MAX_ADDRESSES_PER_HOST); // first-contact checks
      if (round === 25) expect(pinged).toContain('127.0.0.9:7000');
      await overlay.round(); // admissions: the host's few queued candidates
      clock.advance(5_000);
    }
    expect(mostPending).toBeLessThanOrEqual(MAX_ADDRESSES_PER_HOST + 1);
    // The cap is what held the attacker back: it was reached, and the host was still checked every round.
    expect(mostAttackerChecks).toBe(MAX_ADDRESSES_PER_HOST);
    expect(leastAttackerChecks).toBeGreaterThan(0);
    expect(mostPending).toBeGreaterThan(0);
    lifetime.abort();
  });

  it('early contacts: offers from 5,000 ports of one host over time keep at most maxPeersPerHost callers of it; an honest caller\'s offer is kept', () => {
    const early = new EarlyContacts({ ttlMs: 10_000 });
    let now = 0;
    for (let port = 1; port <= 5_000; port++) {
      early.offered(`${ATTACKER}:${port}`, Uint32Array.of(port), now);
      if (port === 2_500) early.offered('127.0.0.9:7000', Uint32Array.of(1, 2, 3), now);
      if (port === 3_000) expect([...(early.take('127.0.0.9:7000', now) ?? [])]).toEqual([1, 2, 3]); // admitted 5 s later
      now += 10; // 1,000 offers per ttl: the host's oldest expire and new ports take their places
      expect(early.size).toBeLessThanOrEqual(MAX_ADDRESSES_PER_HOST + 1);
    }
    expect(early.take(`${ATTACKER}:1`, now)).toBeUndefined();
  });

  it('early contacts: offers from one host under 5,000 host names count in the host they came from; an honest caller\'s offer is kept', () => {
    const early = new EarlyContacts({ ttlMs: 10_000 });
    for (let i = 0; i < 5_000; i++) early.offered(`n${i}.evil.example:6264`, Uint32Array.of(i), 0, ATTACKER);
    expect(early.size).toBe(MAX_ADDRESSES_PER_HOST);
    early.offered('127.0.0.9:7000', Uint32Array.of(1, 2, 3), 0, '127.0.0.9');
    expect([...(early.take('127.0.0.9:7000', 0) ?? [])]).toEqual([1, 2, 3]);
    // A name taken (its caller admitted) gives its host's place back.
    expect([...(early.take('n0.evil.example:6264', 0) ?? [])]).toEqual([0]);
    early.offered('n9999.evil.example:6264', Uint32Array.of(7), 0, ATTACKER);
    expect(early.take('n9999.evil.example:6264', 0)).toBeDefined();
  });

  it('pusher: one host under 100 host names holds at most MAX_PULLERS_PER_HOST of 8 offer targets; the other places stay for other hosts', () => {
    const pusher = new Pusher({ client: new ProtocolClient(nullTransport), clock: steppedClock(), self: () => undefined, peerInventory: () => undefined, recent: () => [] }, { maxTargets: 8 });
    for (let i = 0; i < 100; i++) expect(pusher.addPuller(`n${i}.evil.example:6264`, true, ATTACKER)).toBe(true); // each takes its host's oldest place
    const others = [9, 10, 11, 12, 13].map((host) => pusher.addPuller(`127.0.0.${host}:7000`, true, `127.0.0.${host}`));
    expect(others).toEqual([true, true, true, true, false]); // 4 places were left, then the targets are full
  });

  it('pusher: names stated from two hosts in turn count in each host\'s places as they move, never past the cap', () => {
    const pusher = new Pusher({ client: new ProtocolClient(nullTransport), clock: steppedClock(), self: () => undefined, peerInventory: () => undefined, recent: () => [] }, { maxTargets: 8 });
    const [first, second] = ['127.0.0.66', '127.0.0.67'];
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 4; i++) pusher.addPuller(`n${round * 4 + i}.evil.example:6264`, true, first);
      for (let i = 0; i < 4; i++) pusher.addPuller(`n${round * 4 + i}.evil.example:6264`, true, second); // the same names, from the other host
    }
    // Each host holds 4 places at most, so honest hosts get in (the second host took all 8 when a moved name was not counted).
    const others = [9, 10, 11].map((host) => pusher.addPuller(`127.0.0.${host}:7000`, true, `127.0.0.${host}`));
    expect(others.filter(Boolean).length).toBeGreaterThan(0);
  });
});
