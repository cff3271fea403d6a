/** The CLI's pure parts: logger, inventory comparison, tables, argument parsers. */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { intParser, isLocalHost, parseListen, parsePeer, secondsParser } from '../../src/cli/args.js';
import { describeError, CliError } from '../../src/cli/errors.js';
import { compareInventories, countPresent } from '../../src/cli/inventories.js';
import { createLogger } from '../../src/cli/logger.js';
import { formatBytes, formatTable } from '../../src/cli/output.js';
import { createProgressView } from '../../src/cli/demo/progress.js';
import { formatSummary, summarise } from '../../src/cli/demo/summary.js';
import type { NodeStats } from '../../src/node/stats.js';
import { AtlasError } from '../../src/errors.js';

const fixed = () => new Date('2024-01-02T03:04:05.678Z');

describe('createLogger', () => {
  it('drops lines below its level and writes JSON lines with the fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l), now: fixed });
    logger.debug('hidden');
    logger.info('started', { address: '127.0.0.1:1', n: 3 });
    logger.error('failed', { error: new Error('boom') });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: '2024-01-02T03:04:05.678Z', level: 'info', msg: 'started', address: '127.0.0.1:1', n: 3 },
      { time: '2024-01-02T03:04:05.678Z', level: 'error', msg: 'failed', error: { name: 'Error', message: 'boom' } },
    ]);
  });

  it('writes readable lines, quoting values with spaces, and children add their fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', format: 'pretty', write: (l) => lines.push(l), now: fixed }).child({ node: 2 });
    logger.warn('peer removed', { peer: '10.0.0.1:5', reason: 'low health' });
    expect(lines).toEqual(['03:04:05.678 WARN  peer removed node=2 peer=10.0.0.1:5 reason="low health"']);
  });

  it('is silent at level silent and survives cyclic fields', () => {
    const lines: string[] = [];
    createLogger({ level: 'silent', format: 'json', write: (l) => lines.push(l) }).error('x');
    expect(lines).toEqual([]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    createLogger({ level: 'debug', format: 'json', write: (l) => lines.push(l), now: fixed }).info('cycle', { cyclic });
    expect(JSON.parse(lines[0] as string).cyclic).toEqual({ self: '[circular]' });
  });
});

/** SPEC §4 layout: bit i in byte i >> 3 under mask 0x80 >> (i & 7). */
function vector(length: number, present: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(length / 8));
  for (const p of present) bytes[p >> 3] = (bytes[p >> 3] as number) | (0x80 >> (p & 7));
  return bytes;
}

describe('compareInventories', () => {
  it('counts only bits below the sequence length', () => {
    expect(countPresent(Uint8Array.of(0b10110001), 8)).toBe(4);
    expect(countPresent(Uint8Array.of(0b10110001), 4)).toBe(3);
    expect(countPresent(Uint8Array.of(0xff, 0xff), 9)).toBe(9);
  });

  it('reports per node counts, pairwise differences and positions nobody holds', () => {
    const result = compareInventories([
      { peer: 'a', sequenceLength: 20, bytes: vector(20, [0, 1, 2, 9, 19]) },
      { peer: 'b', sequenceLength: 20, bytes: vector(20, [0, 1, 3, 19]) },
      { peer: 'c', sequenceLength: 12, bytes: vector(12, [0, 11]) },
    ]);
    expect(result.nodes).toEqual([
      { peer: 'a', sequenceLength: 20, present: 5, missing: 15 },
      { peer: 'b', sequenceLength: 20, present: 4, missing: 16 },
      { peer: 'c', sequenceLength: 12, present: 2, missing: 10 },
    ]);
    expect(result.pairs).toEqual([
      { a: 'a', b: 'b', onlyA: 2, onlyB: 1, firstDifferences: [2, 3, 9] },
      { a: 'a', b: 'c', onlyA: 4, onlyB: 1, firstDifferences: [1, 2, 9, 11, 19] },
      { a: 'b', b: 'c', onlyA: 3, onlyB: 1, firstDifferences: [1, 3, 11, 19] },
    ]);
    // held somewhere: 0 1 2 3 9 11 19 -> 7 of 20
    expect(result.missingEverywhere).toBe(13);
    expect(result.lengthsDiffer).toBe(true);
  });

  it('ignores padding bits past a node\'s sequence length', () => {
    const padded = Uint8Array.of(0xff);
    const result = compareInventories([
      { peer: 'a', sequenceLength: 3, bytes: padded },
      { peer: 'b', sequenceLength: 3, bytes: vector(3, [0, 1, 2]) },
    ]);
    expect(result.nodes[0]?.present).toBe(3);
    expect(result.pairs[0]).toMatchObject({ onlyA: 0, onlyB: 0, firstDifferences: [] });
    expect(result.missingEverywhere).toBe(0);
  });
});

describe('output and argument parsers', () => {
  it('pads table columns and right-aligns numbers', () => {
    expect(formatTable([{ header: 'node' }, { header: 'n', align: 'right' }], [['a', '5'], ['bbb', '100']])).toBe(
      ['node    n', '----  ---', 'a       5', 'bbb   100'].join('\n'),
    );
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });

  it('parses peers and listen addresses, refusing malformed ones', () => {
    expect(parsePeer('127.0.0.1:6264')).toBe('127.0.0.1:6264');
    expect(parsePeer('[::1]:80')).toBe('[::1]:80');
    expect(() => parsePeer('127.0.0.1:0')).toThrow(InvalidArgumentError);
    expect(() => parsePeer('nohost')).toThrow(InvalidArgumentError);
    expect(() => parsePeer('1.2.3.4:70000')).toThrow(InvalidArgumentError);
    expect(parseListen('0.0.0.0:0')).toBe('0.0.0.0:0');
    expect(isLocalHost('127.0.0.1')).toBe(true);
    expect(isLocalHost('192.168.1.2')).toBe(true);
    expect(isLocalHost('8.8.8.8')).toBe(false);
  });

  it('parses bounded numbers', () => {
    expect(intParser(1, 10)('7')).toBe(7);
    expect(() => intParser(1, 10)('11')).toThrow(/from 1 to 10/);
    expect(() => intParser(1, 10)('2x')).toThrow(/whole number/);
    expect(secondsParser(60)('0.5')).toBe(0.5);
    expect(() => secondsParser(60)('0')).toThrow(InvalidArgumentError);
    // Below a millisecond rounds to no time at all: refused as bad usage, not later as a failure.
    expect(secondsParser(60)('0.001')).toBe(0.001);
    expect(() => secondsParser(60)('0.0001')).toThrow(/between 0.001 and 60/);
  });

  it('describes any error in one line, with the AtlasError code', () => {
    expect(describeError(new CliError('two\nlines'))).toBe('two lines');
    expect(describeError(new AtlasError('UNREACHABLE', '127.0.0.1:1: ECONNREFUSED'))).toBe('127.0.0.1:1: ECONNREFUSED (UNREACHABLE)');
    expect(describeError(Object.assign(new Error('x'), { code: 'ENOENT', path: '/nope' }))).toBe('/nope: no such file or directory');
  });
});

function statsOf(have: number, total: number, chunkBytesReceived: number, duplicateBytes: number, chunkBytes = have * 100): NodeStats {
  return {
    have,
    total,
    chunkBytes,
    downloads: { chunkBytesReceived, duplicateBytes, chunksReceived: chunkBytesReceived > 0 ? 10 : 0 },
  } as unknown as NodeStats;
}

describe('demo summary and progress lines', () => {
  it('computes redundancy per node and the wire overhead over the replicated bytes', () => {
    const summary = summarise(
      [
        { index: 0, address: '127.0.0.1:1', stats: statsOf(10, 10, 0, 0), transport: { callsIn: 0, callsOut: 0, bytesIn: 100, bytesOut: 900 }, convergedMs: 5 },
        { index: 1, address: '127.0.0.1:2', stats: statsOf(10, 10, 1500, 500), transport: { callsIn: 0, callsOut: 0, bytesIn: 1200, bytesOut: 50 }, convergedMs: 800 },
        { index: 2, address: '127.0.0.1:3', stats: statsOf(4, 10, 400, 0), transport: undefined, convergedMs: undefined },
      ],
      2000,
    );
    expect(summary.converged).toBe(false);
    expect(summary.nodes.map((n) => n.redundancy)).toEqual([null, 1.5, 1]);
    // What nodes 1 and 2 hold (10 and 4 chunks of 100 B), not the workload once per node.
    expect(summary.usefulBytes).toBe(1400);
    expect(summary.wireBytesIn).toBe(1300);
    expect(summary.wireOverhead).toBeCloseTo(1300 / 1400);
    const text = formatSummary(summary);
    expect(text).toMatch(/^1\s+127\.0\.0\.1:2\s+10\/10\s+0\.80 s\s+10 \(1\.5 KiB\)\s+1\.50x/m);
    expect(text).toMatch(/^2\s+127\.0\.0\.1:3\s+4\/10\s+no\s/m);
    expect(text).toContain('did not converge within 2.00 s');
    expect(summary.interrupted).toBe(false);
    // Ended by a signal: said so, with how far it got, never as a failure to converge.
    const interrupted = summarise(
      [
        { index: 0, address: '127.0.0.1:1', stats: statsOf(10, 10, 0, 0), transport: undefined, convergedMs: 5 },
        { index: 1, address: '127.0.0.1:2', stats: statsOf(3, 10, 300, 0), transport: undefined, convergedMs: undefined },
      ],
      300,
      true,
    );
    expect(interrupted.interrupted).toBe(true);
    expect(formatSummary(interrupted)).toContain('interrupted after 0.30 s: 1 of 2 nodes held every chunk');
    expect(formatSummary(interrupted)).not.toContain('did not converge');
  });

  it('writes plain progress lines no more often than the interval, and always the last state', () => {
    const written: string[] = [];
    const view = createProgressView({ stream: { write: (t: string) => written.push(t) } as unknown as NodeJS.WritableStream, tty: false, intervalMs: 1000 });
    const at = (have: number) => [
      { index: 0, address: 'a', have: 10, total: 10, rate: 0 },
      { index: 1, address: 'b', have, total: 10, rate: 4 },
    ];
    view.update(0, at(0));
    view.update(500, at(3));
    view.update(1000, at(6));
    view.stop(1200, at(10));
    expect(written).toEqual([
      '[   0.0 s] node0 10/10  node1 0/10 (4 chunks/s)\n',
      '[   1.0 s] node0 10/10  node1 6/10 (4 chunks/s)\n',
      '[   1.2 s] node0 10/10  node1 10/10\n',
    ]);
  });
});
