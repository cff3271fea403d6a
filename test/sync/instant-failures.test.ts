/**
 * A holder whose calls fail at once (a rejected promise, no I/O, as a refused peer's) must not
 * keep the event loop: each failure pumps again, and pumps chained in microtasks went through a
 * whole plan of 65,536 positions before a timer or a reply could run (1.6 s held). After a failed
 * request the downloader now plans again on a timer of its clock. (One such holder is also paused
 * as a peer after its second failure in a row, busy-peers.ts: the holders here are many, so that
 * failures keep coming.)
 */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { seededRandom, systemClock } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { Downloader } from '../../src/sync/downloader.js';
import { PeerViews } from '../../src/sync/peer-views.js';

describe('Downloader: a holder whose calls fail at once', () => {
  it('starts a bounded number of requests in one turn of the event loop, and goes on in later turns', async () => {
    await hashReady();
    const count = 20_000;
    const chunks = generateChunks(count, seededRandom(1), { size: 20 });
    const store = new MemoryChunkStore();
    await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
    let calls = 0;
    const client = {
      async getChunks(): Promise<never> {
        calls++;
        throw new AtlasError(ErrorCodes.UNREACHABLE, 'refused');
      },
    };
    const noInventory = () => Promise.reject(new Error('no inventory'));
    const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength: () => store.sequenceLength() }, { maxPeers: 32 });
    // Many holders of everything, each failing at once: each is paused after two failures in a row, the others go on.
    const every = Uint32Array.from({ length: count }, (_, i) => i);
    for (let k = 0; k < 30; k++) {
      views.trackPassive(`P${k}`, Date.now() + 600_000);
      views.markHeld(`P${k}`, every, 0);
    }
    const hooks = { stored() {}, called() {}, fault() {}, reliability: () => 1, storeFailed() {} };
    const downloader = new Downloader({ store, views, client: client as never, clock: systemClock, random: seededRandom(2), hooks }, {});
    // The calls made between consecutive turns of the event loop (setImmediate: after timers and I/O).
    const perTurn: number[] = [];
    downloader.pump();
    let before = 0;
    for (let turn = 0; turn < 20_000 && calls < count / DEFAULT_DOWNLOADER.batchSize; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      perTurn.push(calls - before);
      before = calls;
    }
    downloader.stop();
    // 40 requests carry every position: before, all of them went out (and failed) in the first turn.
    expect(calls).toBeGreaterThanOrEqual(count / DEFAULT_DOWNLOADER.batchSize);
    // After a failure the next requests start on a timer: one launch's worth a turn at most.
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(2 * DEFAULT_DOWNLOADER.maxInFlight);
    expect(perTurn.filter((made) => made > 0).length).toBeGreaterThan(1);
  });
});
