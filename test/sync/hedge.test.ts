/**
 * The hedge delay is each peer's own: a nearby peer's fast replies, or a withholder's instant
 * "don't have", do not pull down the delay of an honest holder whose full replies take longer.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEDGE, HedgeTimer, OWN_DELAY_FACTOR } from '../../src/sync/hedge.js';

describe('hedge delay', () => {
  it('follows each peer\'s own replies: an honest far holder\'s 1.2 s replies are not hedged whatever other peers answer, and a new peer gets the delay of all replies together', () => {
    const hedge = new HedgeTimer(DEFAULT_HEDGE);
    expect(hedge.delay('far')).toBe(DEFAULT_HEDGE.initialMs);
    for (let i = 0; i < 10; i++) hedge.replied('far', 1_200);
    let hedgedFar = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 20; k++) {
        hedge.replied('near', 2); // a nearby peer's replies with chunks
        hedge.replied('withholder', 2, false); // "don't have", at once
      }
      if (1_200 > hedge.delay('far')) hedgedFar++;
      hedge.replied('far', 1_200);
    }
    expect(hedgedFar).toBe(0);
    expect(hedge.delay('near')).toBe(DEFAULT_HEDGE.minMs);
    // The withholder's empty replies timed nothing of its own: it gets the shared delay.
    expect(hedge.delay('withholder')).toBe(hedge.delay('stranger'));
    expect(hedge.delay('stranger')).toBeGreaterThanOrEqual(DEFAULT_HEDGE.minMs);
    expect(hedge.delay('stranger')).toBeLessThanOrEqual(DEFAULT_HEDGE.maxMs);
  });

  it('keeps a peer\'s own delay within OWN_DELAY_FACTOR times every peer\'s together: a holder answering each request just before 5 s cannot raise its own to the maximum', () => {
    const hedge = new HedgeTimer(DEFAULT_HEDGE);
    for (let i = 0; i < 50; i++) {
      hedge.replied('near', 100);
      hedge.replied('other', 120);
    }
    for (let i = 0; i < 20; i++) hedge.replied('dawdler', 4_900);
    const shared = hedge.delay('stranger');
    expect(hedge.delay('dawdler')).toBe(Math.max(DEFAULT_HEDGE.minMs, OWN_DELAY_FACTOR * shared));
    expect(hedge.delay('dawdler')).toBeLessThan(4_900);
    // Two timed peers, one of them the dawdler: the typical delay is the faster one's, for the dawdler and for peers not timed yet.
    const two = new HedgeTimer(DEFAULT_HEDGE);
    for (let i = 0; i < 20; i++) {
      two.replied('near', 100);
      two.replied('dawdler', 4_900);
    }
    expect(two.delay('stranger')).toBe(two.delay('near'));
    expect(two.delay('dawdler')).toBe(Math.max(DEFAULT_HEDGE.minMs, OWN_DELAY_FACTOR * two.delay('near')));
    expect(two.delay('dawdler')).toBeLessThan(4_900);
  });

  it('a late answer (its request was hedged before it came) does not end a peer\'s slow spell, with chunks or without', () => {
    const hedge = new HedgeTimer(DEFAULT_HEDGE);
    hedge.hedged('p', 0);
    hedge.replied('p', 29_000, true, true);
    hedge.replied('p', 29_000, false, true);
    expect(hedge.isSlow('p', 1)).toBe(true);
    hedge.replied('p', 5);
    expect(hedge.isSlow('p', 1)).toBe(false);
  });

  it('an answer in time of any kind ends a peer\'s slow spell, a timed one or not', () => {
    const hedge = new HedgeTimer(DEFAULT_HEDGE);
    hedge.hedged('p', 0);
    hedge.replied('p', 5, false);
    expect(hedge.isSlow('p', 1)).toBe(false);
  });
});
