/**
 * Attacks on reply memory and bandwidth, against a real node over HttpTransport on 127.0.0.1
 * with small limits: connections that pipeline large getChunks and never read, and a host pulling
 * 4 MiB replies as fast as it can. An honest client on 127.0.0.2 must be served throughout and
 * after; the victim's unsent bytes and heap stay bounded; the puller gets no more than its byte
 * budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bandwidthHog, caseVariants, honestClient, pipelineNoRead, pipelineReader, postRaw, sleep, slowReaders, type Attack } from '../hostile/attackers.js';
import { encodeBinary } from '../../../src/transport/codec.js';
import { liveBytes } from '../../support/heap.js';
import { startVictim, type Victim } from '../hostile/victim.js';
import type { HttpLimits } from '../../../src/transport/http.js';
import { SMALL_LIMITS } from './limits.js';

const MIB = 1024 * 1024;
let victim: Victim;

beforeAll(async () => {
  victim = await startVictim({ limits: SMALL_LIMITS, chunkCount: 100 });
});
afterAll(async () => {
  await victim?.close();
});

async function underAttack(start: () => Attack, ms: number, sample?: () => void) {
  // A generous timeout: the machine running the tests may be busy; the victim must not be stalled.
  const honest = honestClient(victim.port, [victim.chunks[0]!.address], { timeoutMs: 5_000 });
  await sleep(200);
  const attack = start();
  const until = performance.now() + ms;
  while (performance.now() < until) {
    await sleep(100);
    sample?.();
  }
  const during = honest.take();
  const stats = victim.transport.serverStats()!;
  await attack.stop();
  await sleep(500);
  const after = await honest.stop();
  return { during, after, stats, attack };
}

describe('one host pulling replies', () => {
  it('64 connections pipelining 10 getChunks of 100 x 40 KiB, never reading: honest served, unsent bytes and heap bounded, readers that stall dropped', async () => {
    const addresses = victim.chunks.map((c) => c.address);
    const heapBefore = liveBytes();
    let maxUnsent = 0;
    const { during, after, stats } = await underAttack(() => pipelineNoRead(victim.port, 64, 10, addresses), 3_000, () => {
      maxUnsent = Math.max(maxUnsent, victim.transport.serverStats()!.unsentBytes);
    });
    expect(during.failures).toEqual([]);
    expect(during.ok).toBeGreaterThanOrEqual(1);
    expect(after.failures).toEqual([]);
    // One reply (about 4 MiB) may go over the per-host bound before the next request is refused.
    expect(maxUnsent).toBeLessThanOrEqual(SMALL_LIMITS.maxUnsentBytesPerHost! + 4.2 * MIB);
    // The byte budget or a stall cut them off (the next test isolates the stall deadline).
    expect(stats.stalledReplies + stats.busy).toBeGreaterThan(0);
    expect(liveBytes() - heapBefore).toBeLessThan(64 * MIB);
    expect(victim.transport.serverStats()!.unsentBytes).toBe(0);
  });

  it('getChunks of 100 x 40 KiB, 4 in parallel for 3 s: honest served, the puller held to its byte budget with BUSY', async () => {
    const addresses = victim.chunks.map((c) => c.address);
    const started = performance.now();
    let hog: Attack | undefined;
    const { during, after } = await underAttack(() => (hog = bandwidthHog(victim.port, 4, addresses)), 3_000);
    const seconds = (performance.now() - started) / 1000;
    expect(during.failures).toEqual([]);
    expect(during.ok).toBeGreaterThanOrEqual(1);
    expect(after.failures).toEqual([]);
    const budget = SMALL_LIMITS.replyBurstBytesPerHost! + SMALL_LIMITS.replyBytesPerSecondPerHost! * seconds;
    // Charged after sending: the host can overshoot by the replies it has in flight at most.
    const overshoot = SMALL_LIMITS.maxInFlightPerHost! * 4.2 * MIB;
    expect(hog!.bytesIn()).toBeLessThanOrEqual(budget + overshoot);
    expect(hog!.bytesIn()).toBeGreaterThan(SMALL_LIMITS.replyBurstBytesPerHost!);
    expect(hog!.statuses.get(503) ?? 0).toBeGreaterThan(0);
  });

  it('getChunks naming one chunk in 100 letter cases answers it once', async () => {
    const address = victim.chunks[3]!.address;
    const variants = caseVariants(address, 100);
    expect(new Set(variants).size).toBe(100);
    const reply = await postRaw(victim.port, '/atlas/v1/getChunks', Buffer.from(encodeBinary({ addresses: variants })), { 'content-type': 'application/msgpack', accept: 'application/json' }, '127.0.0.3');
    expect(reply.status).toBe(200);
    const result = JSON.parse(reply.text) as { chunks: { address: string }[]; missing: string[] };
    expect(result.chunks.map((c) => c.address)).toEqual([address]);
    expect(result.missing).toEqual([]);
    expect(reply.text.length).toBeLessThan(80_000);
  });
});

describe('a reader that stops reading', () => {
  let roomy: Victim;
  beforeAll(async () => {
    // Budgets and unsent caps far above what the reader pulls: only the stall deadline can act.
    roomy = await startVictim({
      limits: { ...SMALL_LIMITS, replyBurstBytesPerHost: 1_024 * MIB, replyBytesPerSecondPerHost: 1_024 * MIB, maxUnsentBytesPerHost: 256 * MIB, maxUnsentBytes: 256 * MIB },
      chunkCount: 100,
    });
  });
  afterAll(async () => {
    await roomy?.close();
  });

  it('is dropped once its unsent reply makes no progress for replyStallTimeoutMs', async () => {
    const addresses = roomy.chunks.map((c) => c.address);
    const attack = pipelineNoRead(roomy.port, 1, 4, addresses);
    try {
      const deadline = performance.now() + SMALL_LIMITS.replyStallTimeoutMs! + 4_000;
      while (roomy.transport.serverStats()!.stalledReplies === 0 && performance.now() < deadline) await sleep(50);
      const stats = roomy.transport.serverStats()!;
      expect(stats.stalledReplies).toBe(1);
      expect(stats.busy).toBe(0);
      await sleep(200);
      expect(roomy.transport.serverStats()!.unsentBytes).toBe(0);
    } finally {
      await attack.stop();
    }
  });
});

/**
 * A server of 4 request slots whose byte budgets and unsent caps are far above what slow readers
 * pull, and whose stall deadline they never meet (they always take something): only the reply
 * rate and shedding, as `overrides` set them, can act.
 */
function slotsOnlyLimits(overrides: Partial<HttpLimits>) {
  return {
    ...SMALL_LIMITS,
    maxInFlight: 4,
    replyBurstBytesPerHost: 1_024 * MIB,
    replyBytesPerSecondPerHost: 1_024 * MIB,
    maxUnsentBytesPerHost: 256 * MIB,
    maxUnsentBytes: 256 * MIB,
    replyStallTimeoutMs: 60_000,
    ...overrides,
  };
}

/** 4 connections reading their 4 pipelined replies at 16 KiB/s, once they hold all `slots` of the victim. */
async function holdEverySlot(victim: Victim, slots: number): Promise<Attack> {
  const attack = slowReaders(victim.port, 4, 4, victim.chunks.map((c) => c.address), 16 * 1024);
  const heldBy = performance.now() + 5_000;
  while (victim.transport.serverStats()!.inFlight < slots && performance.now() < heldBy) await sleep(20);
  expect(victim.transport.serverStats()!.inFlight).toBe(slots);
  return attack;
}

describe('a reader that reads a few bytes now and then', () => {
  let victim: Victim;
  const limits = slotsOnlyLimits({ minReplyBytesPerSecond: 256 * 1024, replyGraceMs: 500 });
  beforeAll(async () => {
    victim = await startVictim({ limits, chunkCount: 100 });
  });
  afterAll(async () => {
    await victim?.close();
  });

  it('cannot hold every request slot: 4 connections reading 16 KiB/s hold all 4 slots until the rate deadline drops them, and an honest client is served again', async () => {
    const attack = await holdEverySlot(victim, limits.maxInFlight);
    try {
      const deadline = performance.now() + 10_000;
      while (victim.transport.serverStats()!.slowReplies < 4 && performance.now() < deadline) await sleep(50);
      const stats = victim.transport.serverStats()!;
      expect(stats.slowReplies).toBe(4);
      expect(stats.stalledReplies).toBe(0);
      expect(attack.bytesIn()).toBeGreaterThan(0); // they did read: a stall deadline alone would never have dropped them
      await sleep(300);
      expect(victim.transport.serverStats()!.unsentBytes).toBe(0);
      const honest = honestClient(victim.port, [victim.chunks[0]!.address], { timeoutMs: 5_000 });
      await sleep(500);
      const served = await honest.stop();
      expect(served.failures).toEqual([]);
      expect(served.ok).toBeGreaterThanOrEqual(1);
    } finally {
      await attack.stop();
    }
  });

  it('leaves a client that reads its replies alone', async () => {
    const before = victim.transport.serverStats()!.slowReplies;
    const addresses = victim.chunks.map((c) => c.address);
    // Two replies of 100 chunks of 40,000 bytes, read as they come (the rate counts bytes the kernel takes: a
    // reader behind a full kernel buffer shows none until it drains it, which a reader at a few
    // times the minimum on loopback's large buffers would not do within the test's short grace).
    const attack = pipelineReader(victim.port, 2, addresses);
    try {
      const deadline = performance.now() + 20_000;
      while (attack.bytesIn() < 8_000_000 && performance.now() < deadline) await sleep(50);
      expect(attack.bytesIn()).toBeGreaterThanOrEqual(8_000_000);
      expect(victim.transport.serverStats()!.slowReplies).toBe(before);
    } finally {
      await attack.stop();
    }
  });
});

describe('slow readers holding every slot, above the minimum rate', () => {
  let victim: Victim;
  // The rate deadline out of reach (a grace of a minute): only shedding can let others in.
  const limits = slotsOnlyLimits({ replyGraceMs: 60_000, shedRepliesWaitingMs: 200 });
  beforeAll(async () => {
    victim = await startVictim({ limits, chunkCount: 100 });
  });
  afterAll(async () => {
    await victim?.close();
  });

  it('cannot keep an honest client out: its requests take the slots of the replies waiting longest', async () => {
    const attack = await holdEverySlot(victim, limits.maxInFlight);
    try {
      await sleep(500); // the replies have waited past shedRepliesWaitingMs
      const honest = honestClient(victim.port, [victim.chunks[0]!.address], { timeoutMs: 5_000 });
      await sleep(1_000);
      const served = await honest.stop();
      expect(served.failures).toEqual([]);
      expect(served.ok).toBeGreaterThanOrEqual(1);
      const stats = victim.transport.serverStats()!;
      expect(stats.shedReplies).toBeGreaterThanOrEqual(1);
      expect(stats.slowReplies + stats.stalledReplies).toBe(0);
    } finally {
      await attack.stop();
    }
  });
});
