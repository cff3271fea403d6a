import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isAtlasError, type ErrorCode } from '../../src/errors.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { PeerTable, type PeerChange, type PeerTableOptions } from '../../src/peers/table.js';
import type { PingResult } from '../../src/protocol/messages.js';
import { seededRandom, type Clock } from '../../src/runtime.js';

const HOUR = 3_600_000;

class ManualClock implements Clock {
  constructor(public time = 1_000_000) {}
  now(): number {
    return this.time;
  }
  setTimeout(): unknown {
    throw new Error('the peer table sets no timers');
  }
  clearTimeout(): void {}
  advance(ms: number): void {
    this.time += ms;
  }
}

function ping(overrides: Partial<PingResult> = {}): PingResult {
  return {
    protocol: 1,
    network: 'main',
    sequenceLength: 0,
    chunkCount: 0,
    digestLength: 0,
    digest: '00'.repeat(20),
    inventory: { epoch: 'e', version: 0 },
    ...overrides,
  };
}

/** Public addresses, so the default address policy admits them. */
function pub(i: number): string {
  return `8.8.${Math.floor(i / 250)}.${(i % 250) + 1}:6264`;
}

function setup(options: Partial<PeerTableOptions> = {}) {
  const clock = new ManualClock();
  const changes: PeerChange[] = [];
  const table = new PeerTable({
    clock,
    random: seededRandom(7),
    network: 'main',
    onChange: (change) => changes.push(change),
    ...options,
  });
  return { clock, table, changes };
}

function codeOf(run: () => unknown): ErrorCode | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    if (!isAtlasError(error)) throw error;
    return error.code;
  }
}

/** Admits `peer` and gives it `ok` successes and `failed` failures beyond the admitting ping. */
function admitWith(table: PeerTable, peer: string, failed = 0, ok = 0): void {
  table.admit(peer, ping());
  for (let i = 0; i < failed; i++) table.recordCall(peer, false);
  for (let i = 0; i < ok; i++) table.recordCall(peer, true);
}

describe('PeerTable: seeds', () => {
  it('holds the seeds from the start, canonical and de-duplicated, without events', () => {
    const { table, changes } = setup({ seeds: ['[::0001]:80', 'Seed.Example.org:6264', '[::1]:80'] });
    expect(table.addresses()).toEqual(['[::1]:80', 'seed.example.org:6264']);
    expect(table.seeds()).toEqual(['[::1]:80', 'seed.example.org:6264']);
    expect(table.get('[::1]:80')).toMatchObject({ seed: true, health: 0, samples: 0, lastPing: undefined });
    expect(changes).toEqual([]);
  });

  it('refuses a seed that is not a peer address', () => {
    expect(() => setup({ seeds: ['not an address'] })).toThrow(/seed/);
  });

  it('never removes a seed for health, penalties, replacement or remove()', () => {
    const { table, changes } = setup({ seeds: [pub(0)], maxPeers: 2 });
    for (let i = 0; i < 50; i++) table.recordCall(pub(0), false);
    expect(table.evictUnhealthy()).toEqual([]);
    for (let i = 0; i < 10; i++) expect(table.penalise(pub(0), 'lies')).toBeUndefined();
    expect(table.remove(pub(0))).toBeUndefined();
    admitWith(table, pub(1));
    expect(codeOf(() => table.admit(pub(2), ping()))).toBe(ErrorCodes.BUSY);
    expect(table.has(pub(0))).toBe(true);
    expect(table.isBlocked(pub(0))).toBe(false);
    expect(changes.filter((c) => c.type === 'remove')).toEqual([]);
  });

  it('drops a seed only on an explicit block, and restores it on unblock', () => {
    const { table, changes } = setup({ seeds: [pub(0)] });
    expect(table.block(pub(0))).toEqual({ peer: pub(0), reason: 'blocked' });
    expect(table.has(pub(0))).toBe(false);
    expect(table.unblock(pub(0))).toBe(true);
    expect(table.has(pub(0))).toBe(true);
    expect(changes).toEqual([
      { type: 'remove', peer: pub(0), reason: 'blocked' },
      { type: 'add', peer: pub(0), seed: true },
    ]);
  });
});

describe('PeerTable: candidates', () => {
  it('queues a candidate once and says why it did not', () => {
    const { table } = setup({ seeds: [pub(0)], self: pub(9) });
    admitWith(table, pub(1));
    table.block(pub(2));
    expect(table.addCandidate(pub(3))).toBe('queued');
    expect(table.addCandidate(pub(3))).toBe('pending');
    expect(table.addCandidate('8.8.0.4:06264')).toBe('pending'); // same address, other spelling
    expect(table.addCandidate(pub(0))).toBe('known');
    expect(table.addCandidate(pub(1))).toBe('known');
    expect(table.addCandidate(pub(2))).toBe('blocked');
    expect(table.addCandidate(pub(9))).toBe('self');
    expect(table.addCandidate('127.0.0.1:6264')).toBe('refused');
    expect(table.addCandidate('10.0.0.1:6264')).toBe('refused');
    expect(table.addCandidate('seed.example.org:6264')).toBe('refused');
    expect(table.addCandidate('bad address')).toBe('invalid');
    expect(table.pendingCandidates()).toEqual([pub(3)]);
  });

  it('takes a peer list: queues what addCandidate would and returns the whole list in its order', () => {
    const { table } = setup({ seeds: [pub(0)], self: pub(9) });
    admitWith(table, pub(1));
    table.block(pub(2));
    const list = [pub(4), pub(1), pub(0), pub(2), pub(9), 'bad address', pub(3)];
    expect(table.addPeerList(list)).toEqual(list);
    expect(table.pendingCandidates()).toEqual([pub(4), pub(3)]);
    expect(table.addPeerList([pub(4)])).toEqual([pub(4)]);
    expect(table.pendingCandidates()).toEqual([pub(4), pub(3)]);
    // A peer removed from the table is a candidate again, like any address it does not hold.
    table.remove(pub(1));
    expect(table.addPeerList([pub(1)])).toEqual([pub(1)]);
    expect(table.pendingCandidates()).toEqual([pub(4), pub(3), pub(1)]);
  });

  it('lets the host allow local addresses through the policy option', () => {
    const { table } = setup({ policy: LOCAL_ADDRESS_POLICY });
    expect(table.addCandidates(['127.0.0.1:7000', '10.0.0.1:7000', 'node-1', '224.0.0.1:7000'])).toEqual(['127.0.0.1:7000', '10.0.0.1:7000', 'node-1']);
  });

  it('bounds pending candidates; "oldest" eviction keeps the newest in order', () => {
    const { table } = setup({ maxPending: 5, pendingEviction: 'oldest' });
    for (let i = 0; i < 12; i++) table.addCandidate(pub(i));
    expect(table.pendingCount).toBe(5);
    expect(table.pendingCandidates()).toEqual([7, 8, 9, 10, 11].map(pub));
  });

  it('bounds pending candidates; "random" eviction keeps the bound and every newcomer', () => {
    const { table } = setup({ maxPending: 800 });
    for (let i = 0; i < 2_000; i++) {
      table.addCandidate(pub(i));
      expect(table.pendingCount).toBe(Math.min(i + 1, 800));
      expect(table.pendingCandidates().at(-1)).toBe(pub(i));
    }
    const kept = table.pendingCandidates();
    // random eviction leaves some of the first 1,200 candidates, which FIFO would all have dropped
    const old = new Set(Array.from({ length: 1_200 }, (_, i) => pub(i)));
    expect(kept.filter((p) => old.has(p)).length).toBeGreaterThan(0);
    expect(new Set(kept).size).toBe(800);
  });

  it('hands out at most 10 candidates per round by default, oldest first', () => {
    const { table } = setup();
    for (let i = 0; i < 25; i++) table.addCandidate(pub(i));
    expect(table.nextCandidates()).toEqual(Array.from({ length: 10 }, (_, i) => pub(i)));
    expect(table.nextCandidates(3)).toEqual([10, 11, 12].map(pub));
    expect(table.pendingCount).toBe(12);
  });

  it('does not queue a candidate again while it is being checked', () => {
    const { table, clock } = setup({ checkMs: 60_000 });
    table.addCandidate(pub(1));
    expect(table.nextCandidates()).toEqual([pub(1)]);
    expect(table.addCandidate(pub(1))).toBe('recent');
    clock.advance(60_000);
    expect(table.addCandidate(pub(1))).toBe('queued');
  });

  it('remembers a refusal for refusalMs', () => {
    const { table, clock } = setup({ refusalMs: 1_000 });
    table.addCandidate(pub(1));
    table.refuse(pub(1), 'UNREACHABLE');
    expect(table.pendingCount).toBe(0);
    expect(table.addCandidate(pub(1))).toBe('recent');
    clock.advance(999);
    expect(table.addCandidate(pub(1))).toBe('recent');
    clock.advance(1);
    expect(table.addCandidate(pub(1))).toBe('queued');
  });

  it('bounds the memory of refusals', () => {
    const { table } = setup({ maxRecent: 3 });
    for (let i = 0; i < 5; i++) table.refuse(pub(i), 'x');
    expect(table.addCandidate(pub(0))).toBe('queued'); // forgotten, the oldest
    expect(table.addCandidate(pub(4))).toBe('recent');
  });
});

describe('PeerTable: admission', () => {
  it('admits a peer on the same network and protocol, counting the ping as a success', () => {
    const { table, changes } = setup();
    table.addCandidate(pub(1));
    const [candidate] = table.nextCandidates();
    const info = ping({ sequenceLength: 5 });
    expect(table.admit(candidate as string, info)).toBe(true);
    expect(table.get(pub(1))).toMatchObject({ seed: false, health: 1, samples: 1, lastPing: info });
    expect(changes).toEqual([{ type: 'add', peer: pub(1), seed: false }]);
    expect(table.admit(pub(1), ping({ sequenceLength: 6 }))).toBe(false);
    expect(table.get(pub(1))?.lastPing?.sequenceLength).toBe(6);
    expect(changes).toHaveLength(1);
  });

  it('refuses another network and remembers the refusal', () => {
    const { table, clock } = setup({ refusalMs: 10_000 });
    table.addCandidate(pub(1));
    expect(codeOf(() => table.admit(pub(1), ping({ network: 'test' })))).toBe(ErrorCodes.NETWORK_MISMATCH);
    expect(table.has(pub(1))).toBe(false);
    expect(table.pendingCount).toBe(0);
    expect(table.addCandidate(pub(1))).toBe('recent');
    clock.advance(10_000);
    expect(table.addCandidate(pub(1))).toBe('queued');
  });

  it('refuses an incompatible protocol version; compatibility is configurable', () => {
    const { table } = setup();
    expect(codeOf(() => table.admit(pub(1), ping({ protocol: 2 })))).toBe(ErrorCodes.VERSION_MISMATCH);
    expect(table.addCandidate(pub(1))).toBe('recent');
    const lenient = setup({ isCompatibleVersion: (v) => v === 1 || v === 2 }).table;
    expect(lenient.admit(pub(1), ping({ protocol: 2 }))).toBe(true);
  });

  it('removes a known peer whose later ping shows a mismatch, but keeps a seed', () => {
    const { table, changes } = setup({ seeds: [pub(0)] });
    admitWith(table, pub(1));
    expect(codeOf(() => table.admit(pub(1), ping({ network: 'other' })))).toBe(ErrorCodes.NETWORK_MISMATCH);
    expect(changes.at(-1)).toEqual({ type: 'remove', peer: pub(1), reason: 'mismatch' });
    expect(codeOf(() => table.admit(pub(0), ping({ network: 'other' })))).toBe(ErrorCodes.NETWORK_MISMATCH);
    expect(table.has(pub(0))).toBe(true);
  });

  it('refuses its own address, blocked addresses and addresses the policy refuses', () => {
    const { table } = setup({ self: pub(9) });
    expect(codeOf(() => table.admit(pub(9), ping()))).toBe(ErrorCodes.ADDRESS_REFUSED);
    table.block(pub(2));
    expect(codeOf(() => table.admit(pub(2), ping()))).toBe(ErrorCodes.BLOCKED);
    expect(codeOf(() => table.admit('192.168.1.1:6264', ping()))).toBe(ErrorCodes.ADDRESS_REFUSED);
    expect(table.size).toBe(0);
  });

  it('when full, replaces the least healthy non-seed peer, or refuses with BUSY', () => {
    const { table, changes } = setup({ seeds: [pub(0)], maxPeers: 3 });
    admitWith(table, pub(1), 1, 5); // health 6/7
    admitWith(table, pub(2), 2, 0); // health 1/3
    expect(table.admit(pub(3), ping())).toBe(true);
    expect(table.has(pub(2))).toBe(false);
    expect(changes.slice(-2)).toEqual([
      { type: 'remove', peer: pub(2), reason: 'replaced' },
      { type: 'add', peer: pub(3), seed: false },
    ]);
    expect(codeOf(() => table.admit(pub(4), ping()))).toBe(ErrorCodes.BUSY);
    expect(table.size).toBe(3);
  });
});

describe('PeerTable: health and eviction', () => {
  it('evicts a peer only from 10 samples with health below 0.5', () => {
    const { table } = setup();
    admitWith(table, pub(1), 8); // 9 samples, health 1/9
    admitWith(table, pub(2), 5, 4); // 10 samples, health 0.5
    admitWith(table, pub(3), 6, 3); // 10 samples, health 0.4
    expect(table.evictUnhealthy()).toEqual([{ peer: pub(3), reason: 'unhealthy' }]);
    table.recordCall(pub(1), false); // now 10 samples
    expect(table.evictUnhealthy()).toEqual([{ peer: pub(1), reason: 'unhealthy' }]);
    expect(table.has(pub(2))).toBe(true);
  });

  it('removes at most 10 per round, the least healthy first', () => {
    const { table, changes } = setup();
    for (let i = 1; i <= 15; i++) admitWith(table, pub(i), 10 + i);
    const first = table.evictUnhealthy();
    expect(first).toHaveLength(10);
    expect(first.map((r) => r.peer)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6].map(pub));
    expect(table.evictUnhealthy()).toHaveLength(5);
    expect(table.size).toBe(0);
    expect(changes.filter((c) => c.type === 'remove')).toHaveLength(15);
    expect(table.addCandidate(pub(1))).toBe('recent');
  });

  it('forgets failures older than the health window', () => {
    const { table, clock } = setup();
    admitWith(table, pub(1), 20);
    clock.advance(HOUR + 1);
    table.recordCall(pub(1), true);
    expect(table.get(pub(1))).toMatchObject({ health: 1, samples: 1 });
    expect(table.evictUnhealthy()).toEqual([]);
  });

  it('ignores calls to unknown peers', () => {
    const { table } = setup();
    expect(table.recordCall(pub(1), true)).toBe(false);
    expect(table.health(pub(1))).toBe(0);
    expect(table.get(pub(1))).toBeUndefined();
  });
});

describe('PeerTable: penalties and the blocklist', () => {
  it('counts an offence as several failures, and the third removes and blocks the peer', () => {
    const { table, clock, changes } = setup({ penaltySamples: 5, maxOffences: 3, blockMs: 10_000 });
    admitWith(table, pub(1), 0, 9); // 10 ok samples
    expect(table.penalise(pub(1), 'bad chunk')).toBeUndefined();
    expect(table.get(pub(1))).toMatchObject({ samples: 15, health: 10 / 15, offences: 1, lastOffence: 'bad chunk' });
    expect(table.penalise(pub(1), 'bad reply')).toBeUndefined();
    expect(table.penalise(pub(1), 'bad reply')).toEqual({ peer: pub(1), reason: 'penalised' });
    expect(changes.at(-1)).toEqual({ type: 'remove', peer: pub(1), reason: 'penalised' });
    expect(table.isBlocked(pub(1))).toBe(true);
    expect(table.addCandidate(pub(1))).toBe('blocked');
    clock.advance(10_000);
    expect(table.isBlocked(pub(1))).toBe(false);
    expect(table.addCandidate(pub(1))).toBe('queued');
  });

  it('removes and blocks a peer at its first chunk that does not hash to its address (proof), a seed excepted', () => {
    const { table, changes } = setup({ penaltySamples: 5, maxOffences: 3, blockMs: 10_000 });
    admitWith(table, pub(1), 0, 9);
    expect(table.penalise(pub(1), 'HASH_MISMATCH')).toEqual({ peer: pub(1), reason: 'penalised' });
    expect(changes.at(-1)).toEqual({ type: 'remove', peer: pub(1), reason: 'penalised' });
    expect(table.isBlocked(pub(1))).toBe(true);
    const seeded = setup({ maxOffences: 3, seeds: [pub(2)] });
    expect(seeded.table.penalise(pub(2), 'HASH_MISMATCH')).toBeUndefined();
    expect(seeded.table.get(pub(2))).toBeDefined();
  });

  it('counts only offences within the window', () => {
    const { table, clock } = setup({ maxOffences: 2, penaltySamples: 1 });
    admitWith(table, pub(1), 0, 50);
    table.penalise(pub(1), 'x');
    clock.advance(HOUR + 1);
    table.recordCall(pub(1), true);
    expect(table.penalise(pub(1), 'y')).toBeUndefined();
    expect(table.get(pub(1))?.offences).toBe(1);
  });

  it('ignores penalties for unknown peers', () => {
    const { table } = setup();
    expect(table.penalise(pub(1), 'x')).toBeUndefined();
    expect(table.isBlocked(pub(1))).toBe(false);
  });

  it('blocks for good by default, removing the peer and its pending entry', () => {
    const { table, clock } = setup();
    admitWith(table, pub(1));
    table.addCandidate(pub(2));
    expect(table.block(pub(1))).toEqual({ peer: pub(1), reason: 'blocked' });
    expect(table.block(pub(2))).toBeUndefined();
    expect(table.pendingCount).toBe(0);
    clock.advance(100 * 24 * HOUR);
    expect(table.isBlocked(pub(1))).toBe(true);
    expect(table.isBlocked('8.8.0.2:06264')).toBe(true);
    expect(table.unblock(pub(1))).toBe(true);
    expect(table.isBlocked(pub(1))).toBe(false);
  });

  it('bounds the blocklist, forgetting temporary blocks before permanent ones', () => {
    const { table } = setup({ maxBlocked: 3 });
    table.block(pub(1));
    table.block(pub(2), 1_000);
    table.block(pub(3));
    table.block(pub(4));
    expect([1, 2, 3, 4].map((i) => table.isBlocked(pub(i)))).toEqual([true, false, true, true]);
    table.block(pub(5));
    expect([1, 3, 4, 5].filter((i) => table.isBlocked(pub(i)))).toHaveLength(3);
    expect(table.isBlocked(pub(5))).toBe(true);
  });
});

describe('PeerTable: live peers', () => {
  it('lists up to max peers with health >= 0.5, never itself nor the excluded caller', () => {
    const { table } = setup({ seeds: [pub(0)], self: () => pub(99) });
    for (let i = 1; i <= 6; i++) admitWith(table, pub(i));
    admitWith(table, pub(7), 1); // health 0.5: live
    admitWith(table, pub(8), 2); // health 1/3: not live
    const live = table.livePeers(80, undefined, '8.8.0.3:06264'); // pub(2), spelt differently
    expect(new Set(live)).toEqual(new Set([1, 3, 4, 5, 6, 7].map(pub))); // the seed has no samples yet
    expect(table.livePeers(3)).toHaveLength(3);
    expect(table.livePeers(0)).toEqual([]);
    expect(table.livePeers(80, undefined, [pub(1), pub(3)])).toHaveLength(5);
  });

  it('never lists the address it learns is its own, even one it had admitted as a peer', () => {
    let self: string | undefined;
    const { table } = setup({ self: () => self });
    for (let i = 1; i <= 4; i++) admitWith(table, pub(i));
    expect(new Set(table.livePeers(80))).toEqual(new Set([1, 2, 3, 4].map(pub)));
    self = '8.8.0.3:06264'; // pub(2), spelt differently: we were told our own address late
    expect(new Set(table.livePeers(80))).toEqual(new Set([1, 3, 4].map(pub)));
  });

  it('follows every change of health: calls, penalties, removals, and samples leaving the window', () => {
    const { table, clock } = setup();
    for (let i = 1; i <= 4; i++) admitWith(table, pub(i));
    const live = () => new Set(table.livePeers(80));
    expect(live()).toEqual(new Set([1, 2, 3, 4].map(pub)));
    for (let i = 0; i < 4; i++) table.recordCall(pub(1), false); // 1 ok, 4 failed: below 0.5
    expect(live()).toEqual(new Set([2, 3, 4].map(pub)));
    table.penalise(pub(2), 'lied'); // counts as 5 failures
    table.remove(pub(3));
    expect(live()).toEqual(new Set([4].map(pub)));
    // Half an hour later pub(1) and pub(2) answer twice (3/7 and 3/8): still below 0.5.
    clock.advance(HOUR / 2);
    for (const peer of [pub(1), pub(2)]) for (let i = 0; i < 2; i++) table.recordCall(peer, true);
    expect(live()).toEqual(new Set([4].map(pub)));
    // Once the first samples leave the one-hour window only the recent successes count.
    clock.advance(HOUR / 2 + 1);
    expect(live()).toEqual(new Set([1, 2].map(pub))); // pub(4)'s only sample left too: no samples, health 0
    expect(table.evictUnhealthy()).toEqual([]);
  });

  it('shuffles with the given random', () => {
    const { table } = setup();
    for (let i = 1; i <= 20; i++) admitWith(table, pub(i));
    const orders = new Set([1, 2, 3, 4, 5].map((seed) => table.livePeers(20, seededRandom(seed)).join(',')));
    expect(orders.size).toBeGreaterThan(1);
    expect(table.livePeers(20, seededRandom(3))).toEqual(table.livePeers(20, seededRandom(3)));
  });

  it('draws a few of many uniformly, distinct, never the excluded one', () => {
    const { table } = setup();
    for (let i = 1; i <= 20; i++) admitWith(table, pub(i));
    const random = seededRandom(7);
    const counts = new Map<string, number>();
    const draws = 4_000;
    for (let d = 0; d < draws; d++) {
      const sample = table.livePeers(3, random, pub(5));
      expect(new Set(sample).size).toBe(3);
      for (const peer of sample) counts.set(peer, (counts.get(peer) ?? 0) + 1);
    }
    expect(counts.has(pub(5))).toBe(false);
    expect(counts.size).toBe(19);
    // Each of the 19 others is drawn 3/19 of the time: 632 expected, a standard deviation of 23.
    for (const count of counts.values()) expect(Math.abs(count - (draws * 3) / 19)).toBeLessThan(110);
  });
});

describe('PeerTable: own address', () => {
  it('drops its own address once known, even from the seeds', () => {
    let self: string | undefined;
    const { table, changes } = setup({ seeds: [pub(0), pub(1)], self: () => self });
    table.addCandidate(pub(5));
    expect(table.size).toBe(2);
    self = pub(1);
    expect(table.size).toBe(2); // counts are plain reads: they never settle, so never report a change
    expect(changes).toEqual([]);
    expect(table.has(pub(1))).toBe(false);
    expect(table.size).toBe(1);
    expect(changes).toEqual([{ type: 'remove', peer: pub(1), reason: 'self' }]);
    expect(table.addCandidate(pub(1))).toBe('self');
    table.setSelf(pub(5));
    expect(table.pendingCount).toBe(0);
  });
});

describe('PeerTable: bounds hold under any sequence of operations', () => {
  type Op =
    | { op: 'candidate'; i: number }
    | { op: 'next'; n: number }
    | { op: 'admit'; i: number; network: string }
    | { op: 'call'; i: number; ok: boolean }
    | { op: 'penalise'; i: number }
    | { op: 'evict' }
    | { op: 'block'; i: number; ms: number | undefined }
    | { op: 'time'; ms: number };
  const peer = fc.integer({ min: 0, max: 40 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('candidate' as const), i: peer }),
    fc.record({ op: fc.constant('next' as const), n: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ op: fc.constant('admit' as const), i: peer, network: fc.constantFrom('main', 'main', 'other') }),
    fc.record({ op: fc.constant('call' as const), i: peer, ok: fc.boolean() }),
    fc.record({ op: fc.constant('penalise' as const), i: peer }),
    fc.record({ op: fc.constant('evict' as const) }),
    fc.record({ op: fc.constant('block' as const), i: peer, ms: fc.option(fc.integer({ min: 1, max: 5_000 }), { nil: undefined }) }),
    fc.record({ op: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 2 * HOUR }) }),
  );

  it('size, pending, seeds, blocklist and self', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150 }), fc.integer(), (ops, seed) => {
        const clock = new ManualClock();
        const seeds = [pub(0), pub(1)];
        const table = new PeerTable({ clock, random: seededRandom(seed), network: 'main', seeds, self: pub(40), maxPeers: 8, maxPending: 6, maxBlocked: 5, maxRecent: 10 });
        const blockedForGood = new Set<string>();
        for (const step of ops) {
          switch (step.op) {
            case 'candidate':
              table.addCandidate(pub(step.i));
              break;
            case 'next':
              table.nextCandidates(step.n);
              break;
            case 'admit':
              try {
                table.admit(pub(step.i), ping({ network: step.network }));
              } catch (error) {
                if (!isAtlasError(error)) throw error;
              }
              break;
            case 'call':
              table.recordCall(pub(step.i), step.ok);
              break;
            case 'penalise':
              table.penalise(pub(step.i), 'fuzz');
              break;
            case 'evict':
              expect(table.evictUnhealthy().length).toBeLessThanOrEqual(10);
              break;
            case 'block':
              table.block(pub(step.i), step.ms);
              if (step.ms === undefined) blockedForGood.add(pub(step.i));
              break;
            case 'time':
              clock.advance(step.ms);
              break;
          }
          expect(table.size).toBeLessThanOrEqual(8);
          expect(table.pendingCount).toBeLessThanOrEqual(6);
          expect(table.has(pub(40))).toBe(false);
          for (const s of seeds) if (!table.isBlocked(s)) expect(table.has(s)).toBe(true);
          for (const p of [...table.addresses(), ...table.pendingCandidates()]) expect(table.isBlocked(p)).toBe(false);
          for (const info of table.all()) expect(info.health).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('PeerTable: seeds come back', () => {
  it('when a temporary block of a seed expires', () => {
    const { table, clock, changes } = setup({ seeds: [pub(0)] });
    table.block(pub(0), 1_000);
    clock.advance(999);
    expect(table.has(pub(0))).toBe(false);
    clock.advance(1);
    expect(table.has(pub(0))).toBe(true);
    expect(changes).toEqual([
      { type: 'remove', peer: pub(0), reason: 'blocked' },
      { type: 'add', peer: pub(0), seed: true },
    ]);
  });

  it('when our own address changes away from a seed', () => {
    let self: string | undefined = pub(0);
    const { table } = setup({ seeds: [pub(0)], self: () => self });
    expect(table.has(pub(0))).toBe(false);
    self = pub(5);
    expect(table.has(pub(0))).toBe(true);
  });
});
