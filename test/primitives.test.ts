import { describe, expect, it } from 'vitest';
import { abortedError, ErrorCodes } from '../src/errors.js';
import { definedOnly, ExpiringMap, SerialQueue } from '../src/runtime.js';

describe('SerialQueue', () => {
  it('runs tasks one at a time in queue order, and a failed task does not stop the next', async () => {
    const queue = new SerialQueue();
    const log: string[] = [];
    let running = 0;
    const task = (name: string, ms: number, fail = false) => async () => {
      running++;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const a = queue.run(task('a', 20));
    const b = queue.run(task('b', 1, true));
    const c = queue.run(task('c', 5));
    await expect(a).resolves.toBe('a');
    await expect(b).rejects.toThrow('b failed');
    await expect(c).resolves.toBe('c');
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('idle() waits for every task queued so far, failed ones included', async () => {
    const queue = new SerialQueue();
    let done = 0;
    void queue.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      done++;
    });
    queue.run(() => Promise.reject(new Error('x'))).catch(() => undefined);
    await queue.idle();
    expect(done).toBe(1);
  });

  it('idle() also waits for tasks queued while it waited', async () => {
    const queue = new SerialQueue();
    const done: string[] = [];
    const slow = (name: string) => async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      done.push(name);
    };
    void queue.run(slow('first'));
    const idle = queue.idle();
    setTimeout(() => void queue.run(slow('queued meanwhile')), 5);
    await idle;
    expect(done).toEqual(['first', 'queued meanwhile']);
  });
});

describe('definedOnly', () => {
  it('drops the fields that are undefined, keeps falsy values', () => {
    expect(definedOnly({ a: 1, b: undefined, c: 0, d: false, e: null })).toEqual({ a: 1, c: 0, d: false, e: null });
    expect(Object.keys(definedOnly({ a: undefined }))).toEqual([]);
  });
});

describe('abortedError', () => {
  it('is ABORTED, names what was aborted, and carries the signal reason as cause', () => {
    const controller = new AbortController();
    controller.abort(new Error('because'));
    const error = abortedError('call', controller.signal);
    expect(error.code).toBe(ErrorCodes.ABORTED);
    expect(error.message).toBe('call aborted');
    expect((error.cause as Error).message).toBe('because');
    expect(abortedError('call').cause).toBeUndefined();
  });
});

describe('ExpiringMap', () => {
  it('tells its earliest deadline still ahead, forgetting the passed ones and ignoring keys kept for good', () => {
    const map = new ExpiringMap<string>(10);
    expect(map.earliestDeadline(0)).toBe(Infinity);
    map.set('late', 300, true);
    map.set('early', 100, true);
    map.set('kept', Infinity, true);
    expect(map.earliestDeadline(0)).toBe(100);
    expect(map.earliestDeadline(150)).toBe(300);
    expect(map.size).toBe(2); // 'early' forgotten on the way
    expect(map.earliestDeadline(300)).toBe(Infinity);
  });

  it('tells a key\'s deadline while it is ahead', () => {
    const map = new ExpiringMap<string>(10);
    map.set('a', 100, true);
    map.set('kept', Infinity, true);
    expect(map.deadline('a', 99)).toBe(100);
    expect(map.deadline('kept', 1e12)).toBe(Infinity);
    expect(map.deadline('a', 100)).toBeUndefined();
    expect(map.deadline('never', 0)).toBeUndefined();
  });

  it('remembers a key until its deadline, then forgets it on read', () => {
    const map = new ExpiringMap<string, string>(10);
    map.set('a', 100, 'refused');
    expect(map.get('a', 99)).toBe('refused');
    expect(map.has('a', 100)).toBe(false);
    expect(map.size).toBe(0);
    map.set('b', Number.POSITIVE_INFINITY, 'for good');
    expect(map.has('b', Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('holds at most maxEntries: the oldest set is forgotten first, and setting again makes a key the newest', () => {
    const map = new ExpiringMap<number>(3);
    for (const key of [1, 2, 3]) map.set(key, 1_000, true);
    map.set(1, 1_000, true);
    map.set(4, 1_000, true);
    expect(map.size).toBe(3);
    expect([1, 2, 3, 4].filter((key) => map.has(key, 0))).toEqual([1, 3, 4]);
    for (let key = 100; key < 10_100; key++) map.set(key, 1_000, true);
    expect(map.size).toBe(3);
    expect(map.delete(10_099)).toBe(true);
    expect(map.has(10_099, 0)).toBe(false);
  });

  it('makes room by forgetting the oldest temporary entry, never one kept for good while a temporary one remains', () => {
    const map = new ExpiringMap<string>(3);
    map.set('kept-1', Number.POSITIVE_INFINITY, true);
    map.set('temp-1', 50, true);
    map.set('kept-2', Number.POSITIVE_INFINITY, true);
    map.set('temp-2', 50, true); // over the bound: temp-1 (the oldest temporary) goes, not kept-1
    expect(['kept-1', 'temp-1', 'kept-2', 'temp-2'].filter((key) => map.has(key, 0))).toEqual(['kept-1', 'kept-2', 'temp-2']);
    for (let i = 0; i < 1_000; i++) map.set(`flood-${i}`, 50, true);
    expect(['kept-1', 'kept-2', 'flood-999'].every((key) => map.has(key, 0))).toBe(true);
    map.set('kept-3', Number.POSITIVE_INFINITY, true); // the last temporary one goes
    map.set('kept-4', Number.POSITIVE_INFINITY, true); // all kept for good: the oldest of them goes
    expect(['kept-1', 'kept-2', 'kept-3', 'kept-4'].filter((key) => map.has(key, 0))).toEqual(['kept-2', 'kept-3', 'kept-4']);
    map.set('kept-2', 10, true); // set again with a deadline: temporary now
    expect([map.has('kept-2', 9), map.has('kept-2', 10), map.size]).toEqual([true, false, 2]);
  });

  it('never forgets the entry being set: a temporary one set into a map full of permanent ones pushes out the oldest of those', () => {
    const map = new ExpiringMap<string>(2);
    map.set('kept-1', Number.POSITIVE_INFINITY, true);
    map.set('kept-2', Number.POSITIVE_INFINITY, true);
    map.set('temp', 50, true);
    expect(['kept-1', 'kept-2', 'temp'].filter((key) => map.has(key, 0))).toEqual(['kept-2', 'temp']);
  });

  it('with a group cap, holds at most maxPerGroup live keys of one group: a new key of a full group is refused until one expires', () => {
    const map = new ExpiringMap<string>(100, { groupOf: (key) => key.split(':')[0] as string, maxPerGroup: 2 });
    expect([map.set('a:1', 10, true, 0), map.set('a:2', 20, true, 0), map.set('a:3', 20, true, 0)]).toEqual([true, true, false]);
    expect(map.set('a:1', 30, true, 5)).toBe(true); // a key already held is set again
    expect(map.set('b:1', 30, true, 5)).toBe(true); // another group
    expect(map.set('a:3', 30, true, 25)).toBe(true); // a:2 expired by then, and is forgotten to make room
    expect(['a:1', 'a:2', 'a:3', 'b:1'].filter((key) => map.has(key, 25))).toEqual(['a:1', 'a:3', 'b:1']);
    map.delete('a:1');
    expect(map.set('a:4', 30, true, 25)).toBe(true);
  });

  it('with a group cap, counts a key in the group set() names, and frees that group\'s place when the key goes', () => {
    const map = new ExpiringMap<string>(100, { groupOf: (key) => key.split(':')[0] as string, maxPerGroup: 2 });
    expect([map.set('x:1', 10, true, 0, 'h'), map.set('y:1', 10, true, 0, 'h'), map.set('z:1', 10, true, 0, 'h')]).toEqual([true, true, false]);
    expect(map.set('z:1', 10, true, 0)).toBe(true); // its own group, z, has room
    expect(map.set('x:1', 20, true, 0, 'h')).toBe(true); // held already in h
    expect(map.set('z:1', 20, true, 0, 'h')).toBe(false); // moving into the full h is refused, and changes nothing
    expect(map.has('z:1', 0)).toBe(true);
    map.delete('x:1');
    expect(map.set('w:1', 30, true, 0, 'h')).toBe(true);
    expect(map.has('y:1', 15)).toBe(false); // expired, and forgotten from h when h is next full
    expect([map.set('v:1', 30, true, 15, 'h'), map.set('u:1', 30, true, 15, 'h')]).toEqual([true, false]);
  });

  it('refuses a bound below one', () => {
    expect(() => new ExpiringMap(0)).toThrow(RangeError);
    expect(() => new ExpiringMap(Number.NaN)).toThrow(RangeError);
  });
});
