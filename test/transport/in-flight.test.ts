import { describe, expect, it } from 'vitest';
import { InFlightSlots } from '../../src/transport/in-flight.js';

describe('InFlightSlots', () => {
  it('counts per host and in total, and forgets a host with no slot left', () => {
    const slots = new InFlightSlots();
    const a1 = slots.take('a');
    const a2 = slots.take('a');
    const b = slots.take('b');
    expect([slots.total, slots.of('a'), slots.of('b')]).toEqual([3, 2, 1]);
    expect(a1()).toBe(true);
    expect(b()).toBe(true);
    expect([slots.total, slots.of('a'), slots.of('b'), slots.hosts]).toEqual([1, 1, 0, 1]);
    expect(a2()).toBe(true);
    expect([slots.total, slots.hosts]).toEqual([0, 0]);
  });

  it('gives a slot back once, however many paths release it', () => {
    const slots = new InFlightSlots();
    const release = slots.take('a');
    slots.take('a');
    expect(release()).toBe(true);
    expect(release()).toBe(false);
    expect(release()).toBe(false);
    expect([slots.total, slots.of('a')]).toEqual([1, 1]);
  });
});
