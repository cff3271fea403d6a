/** Refuted claims: per peer, until a deadline that each new refutation extends; at most MAX_REFUTED_PEERS peers, MAX_REFUTED_PEERS_PER_HOST of one host. */
import { describe, expect, it } from 'vitest';
import { MAX_REFUTED_PEERS, MAX_REFUTED_PEERS_PER_HOST, RefutedClaims } from '../../src/sync/refuted-claims.js';

describe('RefutedClaims', () => {
  it('answers a peer\'s refuted positions until their time is up, a new refutation extending the earlier ones', () => {
    const claims = new RefutedClaims();
    claims.refute('p', [3], 0, 100);
    claims.refute('p', [9], 50, 200);
    expect([...claims.of('p', 150)!.toUint32Array()]).toEqual([3, 9]);
    expect(claims.of('p', 200)).toBeUndefined();
    expect(claims.size).toBe(0);
    claims.refute('p', [4], 300, 400); // a new refutation after expiry starts afresh
    expect([...claims.of('p', 350)!.toUint32Array()]).toEqual([4]);
    expect(claims.of('q', 350)).toBeUndefined();
  });

  it('remembers at most MAX_REFUTED_PEERS peers, forgetting the one refuted least recently', () => {
    const claims = new RefutedClaims();
    for (let i = 0; i <= MAX_REFUTED_PEERS; i++) claims.refute(`p${i}`, [i], 0, 1_000);
    expect(claims.size).toBe(MAX_REFUTED_PEERS);
    expect(claims.of('p0', 1)).toBeUndefined();
    expect([...claims.of(`p${MAX_REFUTED_PEERS}`, 1)!.toUint32Array()]).toEqual([MAX_REFUTED_PEERS]);
  });

  it('drops positions a rollback takes away, and a peer left with none', () => {
    const claims = new RefutedClaims();
    claims.refute('p', [2, 10], 0, 1_000);
    claims.refute('q', [12], 0, 1_000);
    claims.truncate(10);
    expect([...claims.of('p', 1)!.toUint32Array()]).toEqual([2]);
    expect(claims.of('q', 1)).toBeUndefined();
    expect(claims.size).toBe(1);
  });

  it('keeps one host on many ports from pushing out other peers\' refutations: its own oldest goes, its newest is kept', () => {
    const claims = new RefutedClaims();
    claims.refute('seed.example:8000', [1], 0, 1_000);
    claims.refute('198.51.100.9:8000', [2], 0, 1_000);
    for (let port = 1; port <= MAX_REFUTED_PEERS + 10; port++) claims.refute(`203.0.113.7:${port}`, [port], 1, 1_000);
    expect([...(claims.of('seed.example:8000', 2)?.toUint32Array() ?? [])]).toEqual([1]);
    expect([...(claims.of('198.51.100.9:8000', 2)?.toUint32Array() ?? [])]).toEqual([2]);
    expect(claims.size).toBe(2 + MAX_REFUTED_PEERS_PER_HOST);
    const last = MAX_REFUTED_PEERS + 10;
    for (let port = last - MAX_REFUTED_PEERS_PER_HOST + 1; port <= last; port++) expect([...claims.of(`203.0.113.7:${port}`, 2)!.toUint32Array()]).toEqual([port]);
    expect(claims.of(`203.0.113.7:${last - MAX_REFUTED_PEERS_PER_HOST}`, 2)).toBeUndefined();
    // An IPv6 /64 is one host; a peer refuted again is its host's newest, not evicted next.
    for (let i = 1; i <= MAX_REFUTED_PEERS_PER_HOST; i++) claims.refute(`[2001:db8::${i}]:8000`, [i], 1, 1_000);
    claims.refute('[2001:db8::1]:8000', [50], 1, 1_000);
    claims.refute('[2001:db8::99]:8000', [99], 1, 1_000);
    expect([...claims.of('[2001:db8::1]:8000', 2)!.toUint32Array()]).toEqual([1, 50]);
    expect(claims.of('[2001:db8::2]:8000', 2)).toBeUndefined();
  });

  it('makes room in a full host by its expired refutations first', () => {
    const claims = new RefutedClaims();
    for (let port = 1; port <= MAX_REFUTED_PEERS_PER_HOST; port++) claims.refute(`203.0.113.7:${port}`, [port], 0, port <= 2 ? 10 : 1_000);
    claims.refute('203.0.113.7:99', [99], 20, 1_000);
    for (let port = 3; port <= MAX_REFUTED_PEERS_PER_HOST; port++) expect(claims.of(`203.0.113.7:${port}`, 21)).toBeDefined();
    expect(claims.size).toBe(MAX_REFUTED_PEERS_PER_HOST - 1);
  });

  it('spares loopback hosts, where tests and simulations play many peers on one machine, and counts bare names apart', () => {
    const claims = new RefutedClaims();
    for (let port = 1; port <= 20; port++) {
      claims.refute(`127.0.0.1:${port}`, [port], 0, 1_000);
      claims.refute(`localhost:${port}`, [port], 0, 1_000);
      claims.refute(`[::1]:${port}`, [port], 0, 1_000);
      claims.refute(`node${port}`, [port], 0, 1_000);
    }
    expect(claims.size).toBe(80);
    expect(claims.of('127.0.0.1:1', 1)).toBeDefined();
    expect(claims.of('localhost:1', 1)).toBeDefined();
    expect(claims.of('[::1]:1', 1)).toBeDefined();
    expect(claims.of('node1', 1)).toBeDefined();
  });

  it('drops a host\'s refutations that a rollback empties from its count', () => {
    const claims = new RefutedClaims();
    for (let port = 1; port <= MAX_REFUTED_PEERS_PER_HOST; port++) claims.refute(`203.0.113.7:${port}`, [100 + port], 0, 1_000);
    claims.truncate(50);
    expect(claims.size).toBe(0);
    claims.refute('203.0.113.7:1', [1], 1, 1_000);
    claims.refute('203.0.113.7:2', [2], 1, 1_000);
    expect(claims.size).toBe(2);
  });
});
