/**
 * The peer table holds at most maxPeersPerHost peers of one host (an IP; an IPv6 /64): one machine
 * answering ping on many ports cannot fill it and shut honest newcomers out (review finding: one
 * IP took 999 of 1,000 places in 500 s). Loopback is spared unless perHostPeersOnLoopback.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isAtlasError } from '../../src/errors.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { hostOf, isLoopbackHost, MAX_ADDRESSES_PER_HOST } from '../../src/peers/host-key.js';
import { PEER_TABLE_DEFAULTS, PeerTable, type PeerTableOptions } from '../../src/peers/table.js';
import type { PingResult } from '../../src/protocol/messages.js';
import { seededRandom } from '../../src/runtime.js';
import { steppedClock } from '../support/clock.js';

const ATTACKER = '93.184.216.34';
const PING: PingResult = { protocol: 1, network: 'main', sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: '', inventory: { epoch: 'e', version: 0 } };

function table(options: Partial<PeerTableOptions> = {}) {
  const clock = steppedClock();
  return { clock, table: new PeerTable({ clock, random: seededRandom(1), network: 'main', protocolVersion: 1, ...options }) };
}

/** admit's error code, or 'added' / 'known'. */
function admit(t: PeerTable, address: string): string {
  try {
    return t.admit(address, PING) ? 'added' : 'known';
  } catch (error) {
    return isAtlasError(error) ? error.code : String(error);
  }
}

function countOf(t: PeerTable, host: string): number {
  return t.addresses().filter((peer) => hostOf(peer) === host).length;
}

describe('PeerTable: peers per host', () => {
  it('defaults to MAX_ADDRESSES_PER_HOST (4), loopback spared', () => {
    expect(PEER_TABLE_DEFAULTS.maxPeersPerHost).toBe(MAX_ADDRESSES_PER_HOST);
    expect(PEER_TABLE_DEFAULTS.perHostPeersOnLoopback).toBe(false);
  });

  it('one public host answering on every port it names holds maxPeersPerHost places; an honest newcomer still gets in', () => {
    // The repro at a fifth of the scale: a table of 200, which the host filled in 100 rounds.
    const { clock, table: t } = table({ seeds: ['8.8.8.8:6264'], maxPeers: 200 });
    let port = 10_000;
    for (let round = 0; round < 100; round++) {
      t.addCandidates(Array.from({ length: 80 }, () => `${ATTACKER}:${port++}`));
      for (const candidate of t.nextCandidates(10)) admit(t, candidate);
      clock.advance(2_000);
    }
    expect(countOf(t, ATTACKER)).toBe(MAX_ADDRESSES_PER_HOST);
    expect(t.size).toBe(1 + MAX_ADDRESSES_PER_HOST);
    expect(t.addCandidate('1.1.1.1:6264')).toBe('queued');
    expect(t.nextCandidates(10)).toEqual(['1.1.1.1:6264']); // none of the host's ports waits any more
    expect(admit(t, '1.1.1.1:6264')).toBe('added');
  });

  it('a host at its cap: its candidates are not queued (host-full), and admitting one more port is BUSY, remembered as a refusal', () => {
    const { table: t } = table();
    for (let port = 1; port <= 4; port++) expect(admit(t, `${ATTACKER}:${port}`)).toBe('added');
    expect(t.addCandidate(`${ATTACKER}:5`)).toBe('host-full');
    expect(admit(t, `${ATTACKER}:5`)).toBe(ErrorCodes.BUSY);
    expect(t.addCandidate(`${ATTACKER}:5`)).toBe('recent');
    expect(admit(t, `${ATTACKER}:1`)).toBe('known'); // a peer already in the table is refreshed, not refused
    expect(countOf(t, ATTACKER)).toBe(4);
    // A place given back (removed, blocked, evicted) may be taken by another of its ports.
    t.block(`${ATTACKER}:2`);
    expect(t.addCandidate(`${ATTACKER}:6`)).toBe('queued');
    expect(admit(t, `${ATTACKER}:6`)).toBe('added');
    expect(admit(t, `${ATTACKER}:7`)).toBe(ErrorCodes.BUSY);
  });

  it('counts an IPv6 /64 as one host, and IPv4-mapped IPv6 as its IPv4', () => {
    const { table: t } = table({ maxPeersPerHost: 2 });
    expect(admit(t, '[2a00:1450:4001:2::1]:6264')).toBe('added');
    expect(admit(t, '[2a00:1450:4001:2:ffff::9]:6264')).toBe('added');
    expect(admit(t, '[2a00:1450:4001:2::3]:7000')).toBe(ErrorCodes.BUSY);
    expect(admit(t, '[2a00:1450:4001:3::1]:6264')).toBe('added'); // another /64
    expect(admit(t, `${ATTACKER}:1`)).toBe('added');
    expect(admit(t, `[::ffff:${ATTACKER}]:2`)).toBe('added');
    expect(admit(t, `${ATTACKER}:3`)).toBe(ErrorCodes.BUSY);
  });

  it('counts seeds in their host, but never refuses or removes a seed for it', () => {
    const { table: t } = table({ seeds: [`${ATTACKER}:1`, `${ATTACKER}:2`, `${ATTACKER}:3`, `${ATTACKER}:4`, `${ATTACKER}:5`] });
    expect(countOf(t, ATTACKER)).toBe(5);
    expect(admit(t, `${ATTACKER}:6`)).toBe(ErrorCodes.BUSY);
    expect(admit(t, `${ATTACKER}:1`)).toBe('known');
    t.block(`${ATTACKER}:1`);
    t.block(`${ATTACKER}:2`);
    expect(admit(t, `${ATTACKER}:7`)).toBe('added'); // 3 seeds + 1
    expect(admit(t, `${ATTACKER}:8`)).toBe(ErrorCodes.BUSY);
    t.unblock(`${ATTACKER}:1`); // a seed comes back past the cap
    expect(countOf(t, ATTACKER)).toBe(5);
  });

  it('follows our own address leaving the table', () => {
    let self: string | undefined;
    const { table: t } = table({ self: () => self });
    for (let port = 1; port <= 4; port++) admit(t, `${ATTACKER}:${port}`);
    expect(admit(t, `${ATTACKER}:9`)).toBe(ErrorCodes.BUSY);
    self = `${ATTACKER}:1`; // it was us
    expect(t.addresses()).toHaveLength(3);
    expect(admit(t, `${ATTACKER}:9`)).toBe('added');
  });

  it('spares loopback (a local cluster on one address) unless perHostPeersOnLoopback', () => {
    const local = table({ policy: LOCAL_ADDRESS_POLICY });
    for (let port = 1; port <= 20; port++) expect(admit(local.table, `127.0.0.1:${port}`)).toBe('added');
    for (let port = 1; port <= 20; port++) expect(admit(local.table, `[::1]:${port}`)).toBe('added');
    for (let port = 1; port <= 20; port++) expect(admit(local.table, `localhost:${port}`)).toBe('added');
    for (let port = 1; port <= 6; port++) expect(admit(local.table, `192.168.1.5:${port}`)).toBe(port <= 4 ? 'added' : ErrorCodes.BUSY); // private is not loopback
    const capped = table({ policy: LOCAL_ADDRESS_POLICY, perHostPeersOnLoopback: true });
    for (let port = 1; port <= 6; port++) expect(admit(capped.table, `127.0.0.66:${port}`)).toBe(port <= 4 ? 'added' : ErrorCodes.BUSY);
    expect(capped.table.addCandidate('127.0.0.66:9')).toBe('host-full');
    expect(['127.0.0.1', '127.9.9.9', hostOf('[::1]:1'), 'localhost', 'a.localhost'].every(isLoopbackHost)).toBe(true);
    expect(['8.8.8.8', '192.168.1.5', hostOf('[2001:db8::1]:1'), 'example.com', 'node-a'].some(isLoopbackHost)).toBe(false);
  });

  it('refuses a bad or misspelt setting with INVALID_OPTION naming it', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxPeersPerHost: 0 }, 'peerTable.maxPeersPerHost'],
      [{ maxPeersPerHost: 1.5 }, 'peerTable.maxPeersPerHost'],
      [{ maxPeersPerHost: '4' }, 'peerTable.maxPeersPerHost'],
      [{ maxPeerPerHost: 4 }, 'peerTable.maxPeerPerHost'],
      [{ perHostPeersOnLoopback: 1 }, 'peerTable.perHostPeersOnLoopback'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        table(options as Partial<PeerTableOptions>);
      } catch (e) {
        error = e;
      }
      expect(error, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
    expect(table({ maxPeersPerHost: 1_000 }).table.limits.maxPeersPerHost).toBe(1_000); // "no cap" is maxPeers
  });
});
