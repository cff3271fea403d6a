import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { Deadline } from '../../src/protocol/deadline.js';
import { followSignal } from '../../src/transport/abort.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

describe('Deadline', () => {
  it('aborts with TIMEOUT when its time passes on the clock it is given, and says so', async () => {
    const clock = new VirtualClock();
    const deadline = new Deadline(clock, 100);
    await clock.advance(99);
    expect(deadline.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(deadline.expired).toBe(true);
    expect(deadline.signal.reason).toMatchObject({ code: ErrorCodes.TIMEOUT });
    expect(deadline.outcome(new Error('the transport noticed'))).toMatchObject({ code: ErrorCodes.TIMEOUT });
  });

  it('follows the caller\'s signal: ABORTED, not expired, its timer cleared', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const deadline = new Deadline(clock, 100, { signal: caller.signal });
    caller.abort(new Error('gave up'));
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.expired).toBe(false);
    expect(deadline.outcome(undefined)).toMatchObject({ code: ErrorCodes.ABORTED });
    expect(clock.pending).toBe(0);
    const late = new Deadline(clock, 100, { signal: caller.signal });
    expect(late.signal.aborted).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('follows a base signal as it follows the caller\'s: aborted by either, one listener on each however many deadlines', async () => {
    const clock = new VirtualClock();
    const base = new AbortController();
    const callers = [new AbortController(), new AbortController()];
    const deadlines = Array.from({ length: 10 }, (_, i) => new Deadline(clock, 100, { signal: callers[i % 2]!.signal, base: base.signal }));
    expect(getEventListeners(base.signal, 'abort')).toHaveLength(1);
    callers[0]!.abort(new Error('caller gave up'));
    expect(deadlines.map((d) => d.signal.aborted)).toEqual(Array.from({ length: 10 }, (_, i) => i % 2 === 0));
    expect(getEventListeners(base.signal, 'abort')).toHaveLength(1); // the five still running
    base.abort(new Error('closed'));
    expect(deadlines.every((d) => d.signal.aborted && !d.expired)).toBe(true);
    expect(deadlines[1]!.outcome(undefined)).toMatchObject({ code: ErrorCodes.ABORTED, cause: { message: 'closed' } });
    expect(getEventListeners(callers[1]!.signal, 'abort')).toHaveLength(0);
    expect(clock.pending).toBe(0);
    const late = new Deadline(clock, 100, { base: base.signal });
    expect(late.signal.reason).toMatchObject({ message: 'closed' });
    expect(clock.pending).toBe(0);
  });

  it('keeps the listener for good too when the caller passes the base itself as its signal', () => {
    const base = new AbortController();
    const seen: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const deadline = new Deadline(new VirtualClock(), 100, { signal: base.signal, base: base.signal });
      deadline.dispose();
      const listeners = getEventListeners(base.signal, 'abort');
      expect(listeners).toHaveLength(1);
      seen.push(listeners[0]);
    }
    expect(new Set(seen).size).toBe(1); // the same listener throughout: none added and removed per deadline
    const running = new Deadline(new VirtualClock(), 100, { signal: base.signal, base: base.signal });
    base.abort(new Error('closed'));
    expect(running.signal.aborted && !running.expired).toBe(true);
    expect(running.outcome(undefined)).toMatchObject({ code: ErrorCodes.ABORTED, cause: { message: 'closed' } });
    expect(getEventListeners(base.signal, 'abort')).toHaveLength(0);
  });

  it('keeps one listener on its base signal for good, not one per deadline, and forgets disposed deadlines', () => {
    const base = new AbortController();
    for (let round = 0; round < 3; round++) {
      const deadlines = Array.from({ length: 20 }, () => new Deadline(new VirtualClock(), 100, { base: base.signal }));
      for (const d of deadlines) d.dispose();
      expect(getEventListeners(base.signal, 'abort')).toHaveLength(1);
    }
    const disposed = new Deadline(new VirtualClock(), 100, { base: base.signal });
    disposed.dispose();
    const running = new Deadline(new VirtualClock(), 100, { base: base.signal });
    base.abort();
    expect(disposed.signal.aborted).toBe(false);
    expect(running.signal.aborted).toBe(true);
    expect(getEventListeners(base.signal, 'abort')).toHaveLength(0);
  });

  it('keeps the first reason when a followed signal aborts while another one\'s abort runs', async () => {
    const clock = new VirtualClock();
    const base = new AbortController();
    // A child of the base, following it ahead of the deadline (what a client scope is).
    const child = new AbortController();
    const childReason = new Error('the part stopped');
    followSignal(base.signal, () => child.abort(childReason));
    const deadline = new Deadline(clock, 100, { signal: child.signal, base: base.signal });
    base.abort(new Error('the owner closed'));
    // Read only now: nothing made the signal while the aborts ran.
    expect(deadline.signal.reason).toBe(childReason);
    expect((deadline.outcome(undefined) as Error).cause).toBe(childReason);
    expect(clock.pending).toBe(0);
  });

  it('says it ended before its signal is read, and a signal read afterwards is already aborted, with the caller\'s reason', async () => {
    const clock = new VirtualClock();
    const caller = new AbortController();
    const deadline = new Deadline(clock, 100, { signal: caller.signal });
    caller.abort(new Error('gave up'));
    expect(deadline.ended).toBe(true);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(caller.signal.reason);
  });

  it('race() rejects at the abort without a listener of its own, and resolves with the work otherwise', async () => {
    const caller = new AbortController();
    const deadline = new Deadline(new VirtualClock(), 100, { signal: caller.signal });
    expect(await deadline.race(Promise.resolve('answer'))).toBe('answer');
    const raced = deadline.race(new Promise(() => undefined)).catch((e: unknown) => e);
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
    caller.abort();
    expect(await raced).toMatchObject({ code: ErrorCodes.ABORTED });
    await expect(deadline.race(Promise.reject(new Error('late')))).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
  });

  it('passes the work\'s own error through when neither time nor the caller ended it', async () => {
    const deadline = new Deadline(new VirtualClock(), Infinity);
    const error = new Error('refused');
    await expect(deadline.race(Promise.reject(error))).rejects.toBe(error);
    expect(deadline.outcome(error)).toBe(error);
  });

  it('race() ends at the abort even when the work never settles', async () => {
    const clock = new VirtualClock();
    const deadline = new Deadline(clock, 10);
    const raced = deadline.race(new Promise(() => undefined)).catch((e: unknown) => e);
    await clock.advance(10);
    expect(await raced).toMatchObject({ code: ErrorCodes.TIMEOUT });
  });
});

describe('followSignal', () => {
  it('puts one listener on a signal for all its followers, removed when the last leaves', () => {
    const shared = new AbortController();
    const stops = Array.from({ length: 30 }, () => followSignal(shared.signal, () => undefined));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
    for (const stop of stops) stop();
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    stops[0]!(); // idempotent
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('with keep, leaves the listener on the signal when the last follower leaves, until the signal aborts', () => {
    const lifetime = new AbortController();
    const called: number[] = [];
    for (let i = 0; i < 5; i++) followSignal(lifetime.signal, () => called.push(i), { keep: true })();
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1);
    const stop = followSignal(lifetime.signal, () => called.push(9)); // a follower without keep does not take it away
    stop();
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1);
    followSignal(lifetime.signal, () => called.push(5), { keep: true });
    lifetime.abort();
    expect(called).toEqual([5]);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
  });

  it('calls every follower still there when the signal aborts, and no other', () => {
    const shared = new AbortController();
    const called: number[] = [];
    const stops = [0, 1, 2].map((i) => followSignal(shared.signal, () => called.push(i)));
    stops[1]!();
    shared.abort();
    expect(called).toEqual([0, 2]);
    stops[0]!(); // after the abort: nothing left to remove, no error
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });
});
