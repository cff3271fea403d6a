/**
 * What an embedder passes wrongly is refused with a typed error, at the call, instead of being
 * used: numbers that are not finite, periods of 0, unknown or malformed transport limits and
 * client timeouts, a `wait` that is not a wait, counts out of range; and a name lookup on a closed
 * node rejects its promise rather than throwing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes, InvalidOptionError } from '../../src/errors.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import { resolveNodeOptions } from '../../src/node/resolve-options.js';
import type { AtlasNodeOptions } from '../../src/node/options.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/protocol/limits.js';
import { MAX_TIMER_MS, systemClock } from '../../src/runtime.js';
import { HttpTransport } from '../../src/transport/http.js';
import { MemoryNetwork } from '../../src/transport/memory.js';

const nodes: AtlasNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

async function openNode(): Promise<AtlasNode> {
  const chain = new MemoryChain();
  chain.announce(['11'.repeat(20)]);
  const node = await AtlasNode.open({ chain, transport: new MemoryNetwork().transport('a'), network: 'x' });
  nodes.push(node);
  return node;
}

function optionRefused(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return (error as InvalidOptionError).option;
  }
  return undefined;
}

describe('node options', () => {
  const chain = new MemoryChain();
  const transport = new MemoryNetwork().transport('a');
  it('refuse numbers that are not finite, and 0 for periods and timeouts that would spin or fail at once', () => {
    const cases: [Partial<AtlasNodeOptions>, string][] = [
      [{ backfill: { sourceTimeoutMs: Infinity } }, 'backfill.sourceTimeoutMs'],
      [{ backfill: { intervalMs: Infinity } }, 'backfill.intervalMs'],
      [{ backfill: { intervalMs: 0 } }, 'backfill.intervalMs'],
      [{ backfill: { retryBaseMs: 0 } }, 'backfill.retryBaseMs'],
      [{ backfill: { sourceTimeoutMs: 0 } }, 'backfill.sourceTimeoutMs'],
      [{ peerTable: { healthWindowMs: 0 } }, 'peerTable.healthWindowMs'],
      [{ push: { timeoutMs: 0 } }, 'push.timeoutMs'],
      [{ audit: { timeoutMs: 0 } }, 'audit.timeoutMs'],
      [{ downloads: { backoff: { maxMs: Infinity } } }, 'downloads.backoff.maxMs'],
    ];
    for (const [options, option] of cases) {
      expect(optionRefused(() => resolveNodeOptions({ chain, transport, ...options } as AtlasNodeOptions)), option).toBe(option);
    }
    // 0 still turns audits off, and a fractional timeout is a timeout.
    expect(resolveNodeOptions({ chain, transport, audit: { everyMs: 0 }, backfill: { sourceTimeoutMs: 20_000.5 } }).backfill.sourceTimeoutMs).toBe(20_000.5);
  });
});

describe('the system clock', () => {
  it('holds a delay longer than Node\'s timers can as the longest they can, without a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      let fired = false;
      const handle = systemClock.setTimeout(() => (fired = true), MAX_TIMER_MS * 4);
      await new Promise((resolve) => setTimeout(resolve, 30));
      systemClock.clearTimeout(handle);
      expect(fired).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('transport limits and client timeouts', () => {
  it('HttpTransport refuses an unknown, non-finite or zero limit with INVALID_OPTION naming it', () => {
    expect(optionRefused(() => new HttpTransport({ limits: { maxRequestByts: 5 } as never }))).toBe('limits.maxRequestByts');
    expect(optionRefused(() => new HttpTransport({ limits: { maxRequestBytes: Number.NaN } }))).toBe('limits.maxRequestBytes');
    expect(optionRefused(() => new HttpTransport({ limits: { replyBytesPerSecondPerHost: Infinity } }))).toBe('limits.replyBytesPerSecondPerHost');
    expect(optionRefused(() => new HttpTransport({ limits: { handlerTimeoutMs: 0 } }))).toBe('limits.handlerTimeoutMs');
    expect(optionRefused(() => new HttpTransport({ limits: { bodyGraceMs: 0 } }))).toBeUndefined();
  });

  it('protocol limits must be positive integers of ProtocolLimits; an undefined one keeps its default', () => {
    expect(optionRefused(() => resolveLimits({ maxGetAddresses: Number.NaN }))).toBe('limits.maxGetAddresses');
    expect(optionRefused(() => resolveLimits({ maxPeersReply: -1 }))).toBe('limits.maxPeersReply');
    expect(optionRefused(() => resolveLimits({ maxPutChunx: 3 } as never))).toBe('limits.maxPutChunx');
    expect(resolveLimits({ maxPutChunks: undefined }).maxPutChunks).toBe(DEFAULT_LIMITS.maxPutChunks);
  });

  it('a ProtocolClient keeps a default timeout given as undefined, and refuses 0 or NaN', () => {
    const transport = new MemoryNetwork().transport('a');
    expect(new ProtocolClient(transport, { timeouts: { ping: undefined } }).timeouts.ping).toBe(3_000);
    expect(optionRefused(() => new ProtocolClient(transport, { timeouts: { ping: 0 } }))).toBe('timeouts.ping');
    expect(optionRefused(() => new ProtocolClient(transport, { timeouts: { chunks: Number.NaN } }))).toBe('timeouts.chunks');
  });
});

describe('node methods', () => {
  it('fetchChunks refuses a wait that is not a wait (NaN, negative, a string) with INVALID_OPTION', async () => {
    const node = await openNode();
    await node.start(); // before start() it is NOT_STARTED, whatever the arguments
    for (const wait of [Number.NaN, -1, '5000']) {
      await expect(node.fetchChunks(['11'.repeat(20)], { wait: wait as never })).rejects.toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'wait' });
    }
    // No peer to ask: announced, not held, missing.
    const result = await node.fetchChunks(['11'.repeat(20)], { wait: 0 });
    expect(result.missing).toEqual(['11'.repeat(20)]);
  });

  it('inventory() and missing() refuse counts that are not whole numbers >= 0 with BAD_REQUEST', async () => {
    const node = await openNode();
    for (const call of [() => node.inventory(-3), () => node.inventory(Number.NaN), () => node.inventory(0, -1), () => node.missing(Number.NaN), () => node.missing(-1)]) {
      expect(call).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    }
    expect(node.missing().map((chunk) => chunk.address)).toEqual(['11'.repeat(20)]);
    expect(node.missing(0)).toEqual([]);
    expect(node.inventory(0, 1)).toEqual(new Uint8Array([0]));
    expect(node.inventory(0, Infinity)).toEqual(new Uint8Array([0])); // clamped
  });

  it('resolve() and history() on a closed node reject their promise with CLOSED (a .catch() sees it)', async () => {
    const node = await openNode();
    await node.close();
    nodes.splice(nodes.indexOf(node), 1);
    await expect(node.resolve('muneeb.id')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    await expect(node.history('muneeb.id')).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
  });
});
