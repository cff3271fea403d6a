import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HealthWindow } from '../../src/peers/health.js';

const HOUR = 3_600_000;

describe('HealthWindow', () => {
  it('is 0 with no samples', () => {
    const window = new HealthWindow();
    expect(window.health(0)).toBe(0);
    expect(window.samples(0)).toBe(0);
  });

  it('is ok / total over the window', () => {
    const window = new HealthWindow();
    window.record(true, 0);
    window.record(true, 10);
    window.record(false, 20);
    window.record(true, 30);
    expect(window.health(30)).toBe(0.75);
    expect(window.samples(30)).toBe(4);
    expect(window.successes(30)).toBe(3);
  });

  it('slides: samples older than the window are dropped, one exactly at its edge is kept', () => {
    const window = new HealthWindow({ windowMs: HOUR });
    window.record(false, 0);
    window.record(false, 1_000);
    window.record(true, 2_000);
    expect(window.health(HOUR)).toBeCloseTo(1 / 3);
    expect(window.samples(HOUR + 1)).toBe(2);
    expect(window.health(HOUR + 1_000)).toBe(0.5);
    expect(window.health(HOUR + 1_001)).toBe(1);
    expect(window.samples(HOUR + 2_001)).toBe(0);
    expect(window.health(HOUR + 2_001)).toBe(0);
  });

  it('keeps at most maxSamples, dropping the oldest first', () => {
    const window = new HealthWindow({ maxSamples: 4 });
    for (let i = 0; i < 4; i++) window.record(false, i);
    for (let i = 4; i < 6; i++) window.record(true, i);
    expect(window.samples(6)).toBe(4);
    expect(window.health(6)).toBe(0.5);
    for (let i = 6; i < 8; i++) window.record(true, i);
    expect(window.health(8)).toBe(1);
  });

  it('reads a clock going backwards as standing still', () => {
    const window = new HealthWindow({ windowMs: 100 });
    window.record(true, 1_000);
    window.record(false, 500);
    // the second sample counts as taken at 1000, so both leave the window together
    expect(window.samples(1_100)).toBe(2);
    expect(window.samples(1_101)).toBe(0);
  });

  it('refuses a nonsensical configuration', () => {
    expect(() => new HealthWindow({ maxSamples: 0 })).toThrow(RangeError);
    expect(() => new HealthWindow({ windowMs: 0 })).toThrow(RangeError);
  });

  it('matches a naive model on random histories', () => {
    const event = fc.record({ ok: fc.boolean(), gap: fc.integer({ min: 0, max: 400 }) });
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (events, maxSamples) => {
        const windowMs = 1_000;
        const window = new HealthWindow({ windowMs, maxSamples });
        const model: { time: number; ok: boolean }[] = [];
        let now = 0;
        for (const { ok, gap } of events) {
          now += gap;
          window.record(ok, now);
          model.push({ time: now, ok });
          const kept = model.filter((s) => s.time >= now - windowMs).slice(-maxSamples);
          const expected = kept.length === 0 ? 0 : kept.filter((s) => s.ok).length / kept.length;
          expect(window.samples(now)).toBe(kept.length);
          expect(window.health(now)).toBeCloseTo(expected, 12);
        }
      }),
      { numRuns: 200 },
    );
  });
});
