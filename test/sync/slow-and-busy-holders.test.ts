/**
 * Holders that stall, answer just before the deadline, or answer BUSY asking for next to no pause
 * cannot stop or flood a catch-up: hedged requests still open are at most maxInFlight (the one
 * hedged longest ago is given up), a late reply leaves its peer slow, and a BUSY pause has a floor
 * and doubles while the peer serves nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { seededRandom, systemClock } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { Downloader } from '../../src/sync/downloader.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { waitFor } from '../support/wait.js';

const running: Downloader[] = [];
const releases: (() => void)[] = [];
afterEach(() => {
  running.splice(0).forEach((downloader) => downloader.stop());
  releases.splice(0).forEach((release) => release());
});

type Answer = { chunks: { address: string; data: Uint8Array }[]; missing: string[] };

/** A store of `count` positions to fill, peer views marked by hand, and a downloader calling `getChunks`. */
async function setup(count: number, getChunks: (peer: string, addresses: string[], signal: AbortSignal | undefined, serve: (addresses: string[]) => Answer) => Promise<Answer>) {
  await hashReady();
  const chunks = generateChunks(count, seededRandom(1), { size: 100 });
  const byAddress = new Map(chunks.map((c) => [c.address, c.data]));
  const store = new MemoryChunkStore();
  await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
  const serve = (addresses: string[]): Answer => ({ chunks: addresses.map((address) => ({ address, data: byAddress.get(address)! })), missing: [] });
  let open = 0;
  const seen = { mostOpen: 0, calls: new Map<string, number>() };
  const client = {
    async getChunks(peer: string, params: { addresses: string[] }, callOptions?: { signal?: AbortSignal }): Promise<Answer> {
      open++;
      seen.mostOpen = Math.max(seen.mostOpen, open);
      seen.calls.set(peer, (seen.calls.get(peer) ?? 0) + 1);
      // A call ends with its answer, or when it is aborted (the transport drops its request then).
      let ended = false;
      const end = () => {
        if (!ended) open--;
        ended = true;
      };
      callOptions?.signal?.addEventListener('abort', end, { once: true });
      try {
        return await getChunks(peer, params.addresses, callOptions?.signal, serve);
      } finally {
        end();
      }
    },
  };
  const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
  const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength: () => count }, { maxPeers: 32 });
  const all = Uint32Array.from({ length: count }, (_, i) => i);
  const hold = (peer: string, passive: boolean) => {
    if (passive) views.trackPassive(peer, Date.now() + 600_000);
    else views.track(peer);
    views.markHeld(peer, all, 0);
  };
  // Health as the peer table takes it: ok / total, from the admission ping's ok sample.
  const samples = new Map<string, { ok: number; total: number }>();
  const hooks = {
    stored() {},
    called(peer: string, ok: boolean) {
      const sample = samples.get(peer) ?? { ok: 1, total: 1 };
      sample.total++;
      if (ok) sample.ok++;
      samples.set(peer, sample);
    },
    fault() {},
    reliability: (peer: string) => {
      const sample = samples.get(peer) ?? { ok: 1, total: 1 };
      return sample.ok / sample.total;
    },
    storeFailed() {},
  };
  const downloader = new Downloader({ store, views, client, clock: systemClock, random: seededRandom(2), hooks }, { batchSize: 100, hedge: { minMs: 10, maxMs: 50, initialMs: 20, slowPeerMs: 60_000 } });
  running.push(downloader);
  return { store, hold, downloader, seen };
}

/** Waits `ms`, or until `signal` aborts (then rejects with its reason, as the transport's calls do). */
function stall(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    releases.push(() => {
      clearTimeout(timer);
      resolve();
    });
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

describe('holders that stall', () => {
  // (a) never answers (until the test ends); (b) answers correctly just before a 150-ms deadline:
  // before, 12 of the first, or 6 of the second, kept 2 x maxInFlight hedged requests open and
  // no request started, to the honest holder either (the second's late replies also gave it back
  // its full slots each time).
  it.each([
    ['never answer', 12, Infinity],
    ['answer correctly just before the deadline', 6, 150],
  ])('%s: %i of them leave an honest holder its slots, within 2 x maxInFlight requests open', async (_how, stallers, answerAfterMs) => {
    const count = 20_000;
    const { store, hold, downloader, seen } = await setup(count, async (peer, addresses, signal, serve) => {
      if (peer === 'H') {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return serve(addresses);
      }
      await stall(answerAfterMs === Infinity ? 600_000 : answerAfterMs, signal);
      if (answerAfterMs === Infinity) throw new AtlasError(ErrorCodes.TIMEOUT, 'timed out');
      return serve(addresses);
    });
    hold('H', false);
    for (let i = 0; i < stallers; i++) hold(`A${i}`, true); // admitted peers known from their offers
    const started = Date.now();
    downloader.pump();
    // With the stallers, H served the 200 requests in 0.7-1.1 s here; before, not in 4 s (their hedged requests held every open slot).
    await waitFor(() => store.inventory.count === count, 'every chunk, from the honest holder', 4_000, 10);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(seen.mostOpen).toBeLessThanOrEqual(2 * DEFAULT_DOWNLOADER.maxInFlight);
  });
});

describe('holders that answer BUSY', () => {
  it('asks a sole holder answering every request BUSY with retryAfterMs 1 a few times a second, not as fast as it answers', async () => {
    const { hold, downloader, seen } = await setup(1_000, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new AtlasError(ErrorCodes.BUSY, 'busy', { retryAfterMs: 1 });
    });
    hold('B', true);
    downloader.pump();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Pauses of MIN_BUSY_PAUSE_MS (250 ms), then 500 ms...: requests at about 0, 0.25 and 0.75 s (before: about 450 in a second).
    expect(seen.calls.get('B')).toBeLessThanOrEqual(4);
    expect(seen.calls.get('B')).toBeGreaterThanOrEqual(2);
  });
});
