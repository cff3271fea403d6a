import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS } from '../../src/runtime.js';
import { callTimeout } from '../../src/transport/abort.js';

describe('callTimeout', () => {
  it('takes the call\'s timeoutMs when shorter than the backstop, and reads odd values as a Deadline does', () => {
    expect(callTimeout(30_000, undefined)).toBe(30_000);
    expect(callTimeout(30_000, 10_000)).toBe(10_000);
    expect(callTimeout(30_000, 60_000)).toBe(30_000);
    expect(callTimeout(30_000, 0)).toBe(0);
    expect(callTimeout(30_000, -5)).toBe(0);
    // NaN and either infinity: no limit of the call's own, only the backstop.
    for (const odd of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(callTimeout(30_000, odd)).toBe(30_000);
  });

  it('caps at what a timer holds, and says Infinity when nothing limits the call', () => {
    expect(callTimeout(Number.POSITIVE_INFINITY, undefined)).toBe(Number.POSITIVE_INFINITY);
    expect(callTimeout(Number.POSITIVE_INFINITY, 3 * MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
    expect(callTimeout(4 * MAX_TIMER_MS, undefined)).toBe(MAX_TIMER_MS);
  });
});
