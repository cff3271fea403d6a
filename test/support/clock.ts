import type { Clock } from '../../src/runtime.js';

/** A clock that moves only when told to; its timers never fire (the test drives ticks itself). */
export function steppedClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined, advance: (ms) => void (now += ms) };
}
