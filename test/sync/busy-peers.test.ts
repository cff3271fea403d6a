/** A BUSY peer's pause: a floor, doubling while it serves nothing, within MAX_BUSY_PAUSE_MS; a served request starts over. */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { BusyPeers, MAX_BUSY_PAUSE_MS, MIN_BUSY_PAUSE_MS } from '../../src/sync/busy-peers.js';

describe('BusyPeers', () => {
  it('a pause asked of 1 ms is MIN_BUSY_PAUSE_MS, doubling on each BUSY in a row with nothing served up to MAX_BUSY_PAUSE_MS, and a served request starts over', () => {
    const busy = new BusyPeers();
    const refusal = (retryAfterMs?: number) => new AtlasError(ErrorCodes.BUSY, 'busy', retryAfterMs === undefined ? undefined : { retryAfterMs });
    let now = 0;
    const pauses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const until = busy.refused('A', refusal(1), now);
      pauses.push(until - now);
      expect(busy.has('A', until - 1)).toBe(true);
      expect(busy.has('A', until)).toBe(false);
      now = until;
    }
    expect(MIN_BUSY_PAUSE_MS).toBeGreaterThanOrEqual(100);
    expect(pauses).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((k) => Math.min(MAX_BUSY_PAUSE_MS, k * MIN_BUSY_PAUSE_MS)));
    busy.served('A');
    expect(busy.refused('A', refusal(1), now) - now).toBe(MIN_BUSY_PAUSE_MS);
    // Another peer's streak is its own; a pause named is taken as asked (within the bounds), then doubled.
    expect(busy.refused('B', refusal(2_000), now) - now).toBe(2_000);
    expect(busy.refused('B', refusal(2_000), now + 2_000) - (now + 2_000)).toBe(4_000);
    expect(busy.refused('C', refusal(), now) - now).toBe(1_000);
    expect(busy.refused('D', refusal(3_600_000), now) - now).toBe(MAX_BUSY_PAUSE_MS);
  });
});
