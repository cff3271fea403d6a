import { describe, expect, it } from 'vitest';
import { SliceQueue } from '../../src/node/slice-queue.js';

describe('SliceQueue', () => {
  it('lets one waiting slice go a turn, in the order they paused, whatever number wait', async () => {
    const turns: (() => void)[] = [];
    const queue = new SliceQueue((run) => turns.push(run));
    const released: string[] = [];
    for (const name of ['a', 'b', 'c']) void queue.pause().then(() => released.push(name));
    expect(turns).toHaveLength(1); // one deferred call for all three
    for (let turn = 1; turn <= 3; turn++) {
      (turns.shift() as () => void)();
      await Promise.resolve();
      expect(released).toHaveLength(turn);
    }
    expect(released).toEqual(['a', 'b', 'c']);
    expect(turns).toHaveLength(0);
    expect(queue.waiting).toBe(0);
  });

  it('puts a slice that pauses again behind the slices already waiting', async () => {
    const turns: (() => void)[] = [];
    const queue = new SliceQueue((run) => turns.push(run));
    const order: string[] = [];
    const reader = async (name: string, slices: number) => {
      for (let i = 0; i < slices; i++) {
        await queue.pause();
        order.push(`${name}${i}`);
      }
    };
    const done = Promise.all([reader('x', 3), reader('y', 2)]);
    for (let i = 0; i < 10 && turns.length > 0; i++) {
      (turns.shift() as () => void)();
      for (let j = 0; j < 5; j++) await Promise.resolve();
    }
    await done;
    expect(order).toEqual(['x0', 'y0', 'x1', 'y1', 'x2']);
  });

  it('runs I/O-like work queued meanwhile between two slices on the real event loop', async () => {
    const queue = new SliceQueue((run) => setImmediate(run));
    const order: string[] = [];
    const slices = Array.from({ length: 4 }, (_, i) =>
      queue.pause().then(() => {
        order.push(`slice ${i}`);
        if (i === 0) setImmediate(() => order.push('other caller')); // arrives while the slices wait
      }),
    );
    await Promise.all(slices);
    expect(order.indexOf('other caller')).toBeGreaterThan(0);
    expect(order.indexOf('other caller')).toBeLessThan(3);
  });
});
