/**
 * Nodes that meet converge at once: five real nodes over HttpTransport on 127.0.0.1, with the
 * default timers (the inventory refresh comes only every 15 s), started back to back; a chunk is
 * put to each right after it starts, before it has any neighbour, then one every 150 ms to each
 * node in turn, the first one first. Every chunk must reach every node within a few seconds, far
 * sooner than the first refresh could bring it.
 */
import { describe, expect, it } from 'vitest';
import { startupRun } from '../../bench/sync-startup.js';
import { DEFAULT_TIMERS } from '../../src/node/options.js';

describe('first contact', () => {
  it('brings chunks put right after start to every node long before the first inventory refresh', async () => {
    const limitMs = 5_000;
    expect(DEFAULT_TIMERS.inventoryRefreshMs).toBeGreaterThanOrEqual(3 * limitMs);
    const { timesMs } = await startupRun({ nodes: 5, seed: 7, deadlineMs: limitMs });
    expect(timesMs).toHaveLength(15);
    for (const ms of timesMs) expect(ms).toBeLessThan(limitMs);
  }, 30_000);
});
