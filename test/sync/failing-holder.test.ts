/**
 * A holder whose getChunks calls fail at once (it refuses: a rejected promise, a typed error) is
 * paused as a peer (busy-peers.ts failed()), not only backed off per address: before, 65,536
 * positions only it claimed made 1,657 calls in 3 s of virtual time and 13,321 in a minute (in
 * requests of 100: a passive view advertises no batch size). An honest peer that loses a call or
 * two is served from again at once, or within FAILING_PEER_PAUSE_MS.
 */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import type { GetChunksResult } from '../../src/protocol/messages.js';
import { seededRandom } from '../../src/runtime.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { FAILING_PEER_PAUSE_MS, MAX_FAILING_PEER_PAUSE_MS } from '../../src/sync/busy-peers.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { Downloader } from '../../src/sync/downloader.js';
import { PeerViews } from '../../src/sync/peer-views.js';

/** A store announcing `count` chunks, one passive view 'A' claiming them all, and a downloader whose getChunks is `answer` (called at virtual time). */
async function holder(count: number, answer: (call: number, addresses: readonly string[]) => Promise<GetChunksResult>) {
  await hashReady();
  const chunks = generateChunks(count, seededRandom(1), { size: 20 });
  const byAddress = new Map(chunks.map((c) => [c.address as string, c]));
  const store = new MemoryChunkStore();
  await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
  const clock = new VirtualClock(1_000_000);
  const calls: number[] = [];
  const client = {
    getChunks(_peer: string, params: { addresses: readonly string[] }): Promise<GetChunksResult> {
      calls.push(clock.now());
      return answer(calls.length, params.addresses);
    },
  };
  const noInventory = () => Promise.reject(new Error('no inventory'));
  const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength: () => store.sequenceLength() }, { maxPeers: 32 });
  views.trackPassive('A', clock.now() + 3_600_000);
  views.markHeld('A', Uint32Array.from({ length: count }, (_, i) => i), clock.now());
  const hooks = { stored() {}, called() {}, fault() {}, reliability: () => 1, storeFailed() {} };
  const downloader = new Downloader({ store, views, client: client as never, clock, random: seededRandom(2), hooks }, {});
  const serve = (addresses: readonly string[]): Promise<GetChunksResult> =>
    Promise.resolve({ chunks: addresses.map((a) => byAddress.get(a)).filter((c) => c !== undefined).map((c) => ({ address: c.address, data: c.data })), missing: [] });
  return { clock, calls, downloader, store, serve };
}

describe('Downloader: a holder whose every getChunks call fails at once', () => {
  for (const [name, error] of [
    ['a typed error (UNREACHABLE)', () => new AtlasError(ErrorCodes.UNREACHABLE, 'refused')],
    ['a plain rejected promise', () => new Error('refused')],
  ] as const) {
    it(`is paused as a peer, its pauses widening to MAX_FAILING_PEER_PAUSE_MS: a few calls in 3 s and a bounded number over 10 minutes held (${name})`, async () => {
      const { clock, calls, downloader } = await holder(65_536, () => Promise.reject(error()));
      downloader.pump();
      await clock.advance(3_000);
      // Each launch sends at most maxInFlightPerPeer requests; pauses of 1, 2, 4 ... 60 s: 4
      // launches by 3 s, about 7 in the first minute, then one a minute.
      const perLaunch = DEFAULT_DOWNLOADER.maxInFlightPerPeer;
      expect(calls.length).toBeLessThanOrEqual(4 * perLaunch);
      await clock.advance(600_000 - 3_000);
      downloader.stop();
      expect(calls.length).toBeLessThanOrEqual((8 + 600_000 / MAX_FAILING_PEER_PAUSE_MS) * perLaunch);
      // Still asked now and then: it may be the only holder, and recover.
      expect(calls.at(-1) as number).toBeGreaterThan(1_000_000 + 600_000 - 2 * MAX_FAILING_PEER_PAUSE_MS);
    });
  }
});

describe('Downloader: an honest holder that fails now and then', () => {
  it('one lost call costs no pause: the catch-up goes on at once', async () => {
    const h = await holder(2_000, (call, addresses) => (call === 1 ? Promise.reject(new AtlasError(ErrorCodes.UNREACHABLE, 'connection reset')) : h.serve(addresses)));
    h.downloader.pump();
    await h.clock.run({ deadline: 1_000_000 + 60_000, until: () => h.store.inventory.count === 2_000 });
    h.downloader.stop();
    expect(h.store.inventory.count).toBe(2_000);
    // Only what the failed request carried waits out its 1 s per-address back-off; nothing waits for the peer.
    expect(h.clock.now() - 1_000_000).toBeLessThan(2 * DEFAULT_DOWNLOADER.backoff.baseMs + 100);
  });

  it('a burst of failures pauses it briefly; served again, its next failure is a first one', async () => {
    let failing = true;
    const h = await holder(5_000, (_call, addresses) => (failing ? Promise.reject(new AtlasError(ErrorCodes.UNREACHABLE, 'down')) : h.serve(addresses)));
    h.downloader.pump();
    await h.clock.advance(2 * FAILING_PEER_PAUSE_MS);
    failing = false; // it is back
    const back = h.clock.now();
    await h.clock.run({ deadline: back + 60_000, until: () => h.store.inventory.count === 5_000 });
    h.downloader.stop();
    expect(h.store.inventory.count).toBe(5_000);
    // Its pause (2 s at most after a few failures) and the addresses' own back-offs (up to 2 s + jitter) are all it waited.
    expect(h.clock.now() - back).toBeLessThanOrEqual(4 * FAILING_PEER_PAUSE_MS + 2 * DEFAULT_DOWNLOADER.backoff.baseMs);
  });

  it('a sole holder whose calls time out through a 30 s stall is served from again as soon as it is back', async () => {
    const stallMs = 30_000;
    const h = await holder(20_000, (_call, addresses) => {
      const t = h.clock.now() - 1_000_000;
      // 20 ms a reply, so that the stall comes in the middle of the catch-up (1.3 s without it).
      if (t < 300 || t >= 300 + stallMs) return new Promise((resolve) => h.clock.setTimeout(() => resolve(h.serve(addresses)), 20));
      return new Promise((_, reject) => h.clock.setTimeout(() => reject(new AtlasError(ErrorCodes.TIMEOUT, 'timed out')), 5_000));
    });
    h.downloader.pump();
    await h.clock.run({ deadline: 1_000_000 + 300_000, until: () => h.store.inventory.count === 20_000 });
    h.downloader.stop();
    expect(h.store.inventory.count).toBe(20_000);
    expect(h.calls.filter((at) => at - 1_000_000 >= 300 + stallMs).length).toBeGreaterThan(100);
    // Timeouts do not count toward the peer's pause: counted, they kept it paused 10 s past the stall.
    expect(h.clock.now() - 1_000_000).toBeLessThan(300 + stallMs + 2_000);
  });
});
