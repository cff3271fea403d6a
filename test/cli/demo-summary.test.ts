/**
 * The demo's summary counts as replicated what the receiving nodes hold (node 0 is the source),
 * not the workload once per node: a demo that timed out or was interrupted replicated only part
 * of it. And the progress view's lines for the put phase (chunks put to node 0).
 */
import { describe, expect, it } from 'vitest';
import { createProgressView } from '../../src/cli/demo/progress.js';
import { formatSummary, summarise, type NodeOutcome } from '../../src/cli/demo/summary.js';
import type { NodeStats } from '../../src/node/stats.js';

function outcome(index: number, have: number, total: number, chunkBytes: number, received: number, convergedMs?: number): NodeOutcome {
  const stats = { have, total, chunkBytes, downloads: { chunkBytesReceived: received, duplicateBytes: 0, chunksReceived: have } } as unknown as NodeStats;
  return { index, address: `127.0.0.1:${index + 1}`, stats, transport: { callsIn: 0, callsOut: 0, bytesIn: 700, bytesOut: 0 }, convergedMs };
}

describe('demo summary: bytes replicated', () => {
  it('counts the chunk bytes the receiving nodes hold when the demo stopped part way', () => {
    // 1,000 chunks of 137 B put to node 0; node 1 got 70 of them, node 2 none.
    const outcomes = [outcome(0, 1000, 1000, 137_000, 0, 5), outcome(1, 70, 1000, 9_590, 9_590), outcome(2, 0, 1000, 0, 0)];
    for (const interrupted of [false, true]) {
      const summary = summarise(outcomes, 3000, interrupted);
      expect(summary.converged).toBe(false);
      expect(summary.usefulBytes).toBe(9_590);
      expect(summary.nodes.map((n) => n.chunkBytes)).toEqual([137_000, 9_590, 0]);
      expect(summary.wireBytesIn).toBe(2100);
      expect(summary.wireOverhead).toBeCloseTo(2100 / 9_590);
      expect(formatSummary(summary)).toContain('bytes on the wire: 2.1 KiB received by all nodes for 9.4 KiB of chunks replicated (0.22x)');
    }
  });

  it('counts every receiving node once it holds every chunk, and nothing when there is no other node', () => {
    const converged = summarise([outcome(0, 10, 10, 1000, 0, 5), outcome(1, 10, 10, 1000, 1200, 80), outcome(2, 10, 10, 1000, 1000, 90)], 90);
    expect(converged.converged).toBe(true);
    expect(converged.usefulBytes).toBe(2000);
    const alone = summarise([outcome(0, 10, 10, 1000, 0, 5)], 5);
    expect(alone.usefulBytes).toBe(0);
    expect(alone.wireOverhead).toBeNull();
  });
});

describe('demo progress: the put phase', () => {
  it('writes put lines no more often than the interval, always the last one, in the lines format', () => {
    const written: string[] = [];
    const view = createProgressView({ stream: { write: (t: string) => written.push(t) } as unknown as NodeJS.WritableStream, tty: false, intervalMs: 1000 });
    view.putting(0, 500, 200_000);
    view.putting(400, 1_000, 200_000);
    view.putting(1000, 1_500, 200_000);
    view.donePutting(1100, 2_000, 200_000);
    expect(written).toEqual([
      '[   0.0 s] putting chunks: 500 of 200,000\n',
      '[   1.0 s] putting chunks: 1,500 of 200,000\n',
      '[   1.1 s] putting chunks: 2,000 of 200,000\n',
    ]);
  });
});
