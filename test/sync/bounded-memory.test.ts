/**
 * What the downloader's helpers remember about peers is bounded and forgotten in time: slow peers
 * (hedge), withholding strikes (omissions), back-off entries, and offers from callers not yet
 * admitted (early contacts). Each is driven past its bound by many distinct peers.
 */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/sync/backoff.js';
import { EarlyContacts } from '../../src/sync/early-contacts.js';
import { DEFAULT_HEDGE, HedgeTimer, MAX_SLOW_PEERS, MAX_TIMED_PEERS } from '../../src/sync/hedge.js';
import { MAX_OMISSION_PEERS, OmissionLedger } from '../../src/sync/omissions.js';

describe('bounded memories of the downloader', () => {
  it('hedge: a slow peer is slow for slowPeerMs or until it answers; at most MAX_SLOW_PEERS remembered', () => {
    const hedge = new HedgeTimer({ ...DEFAULT_HEDGE, slowPeerMs: 1_000 });
    hedge.hedged('p', 0);
    expect([hedge.isSlow('p', 999), hedge.isSlow('p', 1_000)]).toEqual([true, false]);
    hedge.hedged('q', 0);
    hedge.replied('q', 10);
    expect(hedge.isSlow('q', 1)).toBe(false);
    for (let i = 0; i <= MAX_SLOW_PEERS; i++) hedge.hedged(`peer-${i}`, 0);
    expect(hedge.isSlow('peer-0', 1)).toBe(false); // the least recently hedged gave way
    expect(hedge.isSlow(`peer-${MAX_SLOW_PEERS}`, 1)).toBe(true);
  });

  it('hedge: at most MAX_TIMED_PEERS peers\' reply times remembered, the least recently heard forgotten first', () => {
    const hedge = new HedgeTimer(DEFAULT_HEDGE);
    hedge.replied('first', 4_000);
    for (let i = 0; i < MAX_TIMED_PEERS; i++) hedge.replied(`peer-${i}`, 600);
    expect(hedge.timedPeers).toBe(MAX_TIMED_PEERS);
    // 'first' gave way: it gets the delay of every peer's replies together again, not its own 4 s.
    expect(hedge.delay('first')).toBe(hedge.delay());
    expect(hedge.delay('first')).toBeLessThan(DEFAULT_HEDGE.maxMs);
  });

  it('omissions: strikes outside the window are forgotten; at most MAX_OMISSION_PEERS peers are held', () => {
    const ledger = new OmissionLedger({ maxOmissions: 3, windowMs: 100 });
    expect([ledger.record('p', 0), ledger.record('p', 50)]).toEqual([false, false]);
    expect(ledger.count('p', 99)).toBe(2);
    expect(ledger.record('p', 120)).toBe(false); // the strike at 0 left the window
    expect(ledger.record('p', 130)).toBe(true); // three within 100 ms: a fault, and the count restarts
    expect(ledger.count('p', 130)).toBe(0);
    ledger.record('first', 200);
    for (let i = 0; i < MAX_OMISSION_PEERS; i++) ledger.record(`peer-${i}`, 200);
    expect(ledger.count('first', 200)).toBe(0);
    expect(ledger.count(`peer-${MAX_OMISSION_PEERS - 1}`, 200)).toBe(1);
  });

  it('back-off: failures add up across release times until success; the least recently failed key goes first', () => {
    const backoff = new Backoff<string>({ baseMs: 100, maxMs: 10_000, maxEntries: 2 }, () => 0);
    expect(backoff.fail('a', 0)).toBe(100);
    expect([backoff.blocked('a', 99), backoff.blocked('a', 100)]).toEqual([true, false]);
    expect(backoff.fail('a', 500)).toBe(700); // the second failure doubles, long after the first's release
    backoff.fail('b', 0);
    backoff.fail('a', 800); // 'a' is now the most recent
    backoff.fail('c', 0);
    expect([backoff.failures('a'), backoff.failures('b'), backoff.failures('c')]).toEqual([3, 0, 1]);
    backoff.succeed('a');
    expect([backoff.failures('a'), backoff.releaseAt('a'), backoff.size]).toEqual([0, 0, 1]);
  });

  it('early contacts: an offer waits ttlMs for its caller\'s admission; bounded in callers and positions', () => {
    const early = new EarlyContacts({ maxPeers: 2, maxPositions: 3, ttlMs: 1_000 });
    early.offered('a', Uint32Array.of(1, 2), 0);
    early.offered('a', Uint32Array.of(3, 4), 500); // merged up to maxPositions; the first offer's deadline stays
    expect([...(early.take('a', 900) ?? [])]).toEqual([1, 2, 3]);
    expect(early.take('a', 900)).toBeUndefined(); // taken once
    early.offered('b', Uint32Array.of(1), 0);
    for (let t = 100; t < 1_000; t += 100) early.offered('b', Uint32Array.of(t), t); // offering again keeps no place
    expect(early.take('b', 1_000)).toBeUndefined();
    early.offered('late', Uint32Array.of(7), 0);
    expect(early.take('late', 1_000)).toBeUndefined(); // admitted after the wait: heard of at the next refresh
    for (let i = 0; i < 100; i++) early.offered(`caller-${i}`, Uint32Array.of(i), 2_000);
    expect(early.size).toBe(2);
    expect(early.take('caller-0', 2_000)).toBeUndefined();
    expect([...(early.take('caller-99', 2_000) ?? [])]).toEqual([99]);
  });
});
