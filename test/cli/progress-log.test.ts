import { describe, expect, it } from 'vitest';
import { throttledLog } from '../../src/cli/progress-log.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';

describe('the node command’s progress log', () => {
  it('logs at most once per interval, and always ends on the final count', async () => {
    const clock = new VirtualClock();
    const lines: number[] = [];
    const log = throttledLog<number>((have) => lines.push(have), 5_000, clock);
    for (let have = 1; have <= 100; have++) log.update(have); // a burst inside one interval
    expect(lines).toEqual([1]);
    await clock.run({ deadline: 10_000 });
    expect(lines).toEqual([1, 100]); // the trailing entry: the count the burst ended on
    log.update(101);
    expect(lines).toEqual([1, 100]);
    log.flush();
    expect(lines).toEqual([1, 100, 101]);
    expect(clock.pending).toBe(0);
  });
});
