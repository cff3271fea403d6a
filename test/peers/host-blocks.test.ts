/**
 * Penalties counted per host: a host blocked on one port cannot come straight back on the next,
 * and one host penalised on thousands of ports cannot push other liars' blocks out of the list.
 */
import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { LOCAL_ADDRESS_POLICY, type AddressPolicyOptions } from '../../src/peers/address-policy.js';
import { Blocklist, peerBlocklist } from '../../src/peers/blocklist.js';
import { PEER_TABLE_DEFAULTS, PeerTable } from '../../src/peers/table.js';
import { PROTOCOL_VERSION, type PingResult } from '../../src/protocol/messages.js';
import { seededRandom } from '../../src/runtime.js';
import { steppedClock } from '../support/clock.js';

const ping = (): PingResult => ({ protocol: PROTOCOL_VERSION, network: 'main', sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: '', inventory: { epoch: 'e', version: 0 } }) as PingResult;

function makeTable(options: { seeds?: string[]; perHostPeersOnLoopback?: boolean; policy?: Partial<AddressPolicyOptions> } = {}) {
  const clock = steppedClock(1_000_000);
  const table = new PeerTable({ clock, random: seededRandom(5), network: 'main', self: '9.9.9.9:6264', ...options });
  return { clock, table };
}

/** A table where 1.2.3.4 holds maxPeersPerHost penalty blocks: its next penalised port blocks it whole. */
function tableWithFullIp(): PeerTable {
  const { table } = makeTable();
  for (let i = 1; i <= PEER_TABLE_DEFAULTS.maxPeersPerHost; i++) {
    table.admit(`1.2.3.4:${i}`, ping());
    table.penalise(`1.2.3.4:${i}`, 'HASH_MISMATCH');
  }
  return table;
}

/** Whether admitting `peer` is refused as BLOCKED. */
function refusedAsBlocked(table: PeerTable, peer: string): boolean {
  try {
    table.admit(peer, ping());
    return false;
  } catch (error) {
    return isAtlasError(error) && error.code === 'BLOCKED';
  }
}

describe('blocks per IP and per /64', () => {
  it('a host penalised on more ports than maxPeersPerHost is blocked whole, and its flood pushes out no other liar’s block', () => {
    const { clock, table } = makeTable();
    for (const liar of ['5.6.7.8:6264', '5.6.7.9:6264']) {
      table.admit(liar, ping());
      table.penalise(liar, 'HASH_MISMATCH');
    }
    // One host cycling ports, each blocked on its first corrupt chunk, for as long as it is let in.
    let port = 10_000;
    let penalised = 0;
    for (let cycle = 0; cycle < 2_500; cycle++) {
      for (let i = 0; i < PEER_TABLE_DEFAULTS.maxPeersPerHost; i++) {
        const peer = `1.2.3.4:${port++}`;
        if (refusedAsBlocked(table, peer)) continue;
        table.penalise(peer, 'HASH_MISMATCH');
        penalised++;
      }
      clock.advance(1_000);
    }
    // Without the host's block: 10,000 ports admitted and penalised, the 10,000-entry list full, both liars let back in.
    expect(penalised).toBe(PEER_TABLE_DEFAULTS.maxPeersPerHost + 1);
    expect(table.isBlocked('1.2.3.4:1')).toBe(true);
    expect(table.isBlocked('5.6.7.8:6264')).toBe(true);
    expect(table.isBlocked('5.6.7.9:6264')).toBe(true);
    expect(refusedAsBlocked(table, '5.6.7.8:6264')).toBe(true);
    expect(table.isBlocked('1.2.3.5:10000')).toBe(false); // the host next door is not
  });

  it('blocking a host whole removes its other peers from the table and its candidates from the queue', () => {
    const table = tableWithFullIp();
    for (let i = 0; i < 3; i++) table.admit(`1.2.3.4:${100 + i}`, ping());
    table.addCandidate('1.2.3.4:200');
    table.admit('1.2.3.4:300', ping());
    expect(table.penalise('1.2.3.4:300', 'HASH_MISMATCH')?.reason).toBe('penalised');
    expect(table.addresses().filter((peer) => peer.startsWith('1.2.3.4:'))).toEqual([]);
    expect(table.pendingCandidates()).toEqual([]);
    expect(table.addCandidate('1.2.3.4:201')).toBe('blocked');
  });

  it('a host blocked whole is let in again when its block ends, or when the host unblocks one of its addresses', () => {
    const { clock, table } = makeTable();
    let port = 1_000;
    const blockAll = () => {
      for (let i = 0; i <= PEER_TABLE_DEFAULTS.maxPeersPerHost; i++) {
        const peer = `1.2.3.4:${port++}`;
        table.admit(peer, ping());
        table.penalise(peer, 'HASH_MISMATCH');
      }
      expect(table.isBlocked('1.2.3.4:1')).toBe(true);
    };
    blockAll();
    clock.advance(PEER_TABLE_DEFAULTS.blockMs + 1);
    expect(table.isBlocked('1.2.3.4:1')).toBe(false);
    blockAll();
    expect(table.unblock('1.2.3.4:1')).toBe(true);
    expect(table.isBlocked('1.2.3.4:2')).toBe(false);
  });

  it('spares the seeds’ hosts, and loopback unless perHostPeersOnLoopback', () => {
    const penaliseMany = (table: PeerTable, host: string) => {
      for (let i = 0; i < 2 * PEER_TABLE_DEFAULTS.maxPeersPerHost; i++) {
        const peer = `${host}:${20_000 + i}`;
        if (!refusedAsBlocked(table, peer)) table.penalise(peer, 'HASH_MISMATCH');
      }
    };
    const seeded = makeTable({ seeds: ['1.2.3.4:6264'] }).table;
    penaliseMany(seeded, '1.2.3.4');
    expect(seeded.isBlocked('1.2.3.4:6264')).toBe(false);
    expect(seeded.isBlocked('1.2.3.4:20000')).toBe(true); // each penalised port still is

    const local = makeTable({ policy: LOCAL_ADDRESS_POLICY }).table;
    penaliseMany(local, '127.0.0.1');
    expect(local.isBlocked('127.0.0.1:7')).toBe(false);
    const strict = makeTable({ perHostPeersOnLoopback: true, policy: LOCAL_ADDRESS_POLICY }).table;
    penaliseMany(strict, '127.0.0.1');
    expect(strict.isBlocked('127.0.0.1:7')).toBe(true);
  });

  it('an explicit block is never widened to the host, and counts in no host’s penalties', () => {
    const clock = steppedClock(0);
    const blocklist = peerBlocklist({ maxBlocked: 100, maxPeersPerHost: 2, perHostPeersOnLoopback: false }, []);
    for (let port = 1; port <= 10; port++) blocklist.block(`1.2.3.4:${port}`, Number.POSITIVE_INFINITY);
    expect(blocklist.isBlocked('1.2.3.4:11', clock.now())).toBe(false);
    expect(blocklist.penalise('1.2.3.4:20', 100, clock.now())).toBe('address');
    expect(blocklist.penalise('1.2.3.4:21', 100, clock.now())).toBe('address');
    expect(blocklist.penalise('1.2.3.4:22', 50, clock.now())).toBe('ip');
    expect(blocklist.isBlocked('1.2.3.4:23', 49)).toBe(true);
    expect(blocklist.isBlocked('1.2.3.4:23', 50)).toBe(false);
    expect(blocklist.isBlocked('1.2.3.4:11', 100)).toBe(false);
    expect(new Blocklist().isBlocked('1.2.3.4:1', 0)).toBe(false);
  });

  it('an IPv6 address cycling ports blocks its own IP, not its /64 neighbours; a /64 is blocked whole only past ipsPerNetwork of its IPs', () => {
    const blocklist = new Blocklist(1_000, { portsPerHost: 2, ipsPerNetwork: 3 });
    const penaliseIp = (ip: string) => {
      const scopes = [1, 2, 3].map((port) => blocklist.penalise(`[${ip}]:${port}`, 1_000, 0));
      return scopes.at(-1);
    };
    expect(penaliseIp('2001:db8:1:2::a')).toBe('ip');
    expect(blocklist.isBlocked('[2001:db8:1:2::a]:99', 1)).toBe(true);
    expect(blocklist.isBlocked('[2001:db8:1:2::b]:99', 1)).toBe(false); // another customer of the same /64
    expect(penaliseIp('2001:db8:1:2::b')).toBe('ip');
    expect(penaliseIp('2001:db8:1:2::c')).toBe('ip');
    expect(penaliseIp('2001:db8:1:2::d')).toBe('network');
    expect(blocklist.isBlocked('[2001:db8:1:2::ffff]:1', 1)).toBe(true);
    expect(blocklist.isBlocked('[2001:db8:1:3::a]:1', 1)).toBe(false);
    expect(blocklist.unblock('[2001:db8:1:2::ffff]:1')).toBe(true);
    expect(blocklist.isBlocked('[2001:db8:1:2::ffff]:1', 1)).toBe(false);
  });

  it('evicting two unhealthy peers of one IP in one round, the first blocking the IP whole, removes both without throwing', () => {
    const table = tableWithFullIp();
    // Two more ports of it: one with an offence, one that just fails its calls, both below minHealth.
    table.admit('1.2.3.4:100', ping());
    table.admit('1.2.3.4:101', ping());
    table.penalise('1.2.3.4:100', 'BAD_REPLY');
    for (let i = 0; i < 30; i++) {
      table.recordCall('1.2.3.4:100', false);
      table.recordCall('1.2.3.4:101', false);
    }
    table.recordCall('1.2.3.4:101', true);
    const removed = table.evictUnhealthy();
    expect(removed.map((r) => r.peer)).toContain('1.2.3.4:100');
    expect(table.addresses().filter((peer) => peer.startsWith('1.2.3.4:'))).toEqual([]);
    expect(table.isBlocked('1.2.3.4:101')).toBe(true);
  });
});
