/**
 * The components an embedder may build without a node (PeerTable, Backfiller, AddressPolicy, the
 * Clarity decoder) check their options
 * as the node checks the groups of the same names: a wrong value is INVALID_OPTION naming it, with
 * the same rules, never a RangeError or a value that silently turns a guard off.
 */
import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes, InvalidOptionError } from '../../src/errors.js';
import { resolveNodeOptions, type AtlasNodeOptions } from '../../src/node/index.js';
import { AddressPolicy } from '../../src/peers/address-policy.js';
import { PeerTable, type PeerTableOptions } from '../../src/peers/table.js';
import { decodeClarity } from '../../src/chain/stacks/clarity.js';
import { seededRandom } from '../../src/runtime.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { NameResolver } from '../../src/bns/names.js';
import { ChainFollower } from '../../src/sync/chain-follow.js';
import { Backfiller, type BackfillerInit } from '../../src/sync/sources/backfill.js';
import type { ChunkSource } from '../../src/sync/sources/types.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { refusal } from '../support/refusal.js';

const clock = new VirtualClock();
const source: ChunkSource = { name: 'nothing', fetch: async () => undefined };

function peerTable(limits: Record<string, unknown>): PeerTable {
  return new PeerTable({ clock, random: seededRandom(1), network: 'main', ...limits } as PeerTableOptions);
}

function backfiller(init: Partial<BackfillerInit>): Backfiller {
  return new Backfiller({ store: new MemoryChunkStore(), sources: [source], clock, ...init });
}

const node = (options: Partial<AtlasNodeOptions>) => resolveNodeOptions({ chain: new MemoryChain(), transport: new MemoryNetwork().transport('n'), ...options });

describe('options of components built alone', () => {
  it('PeerTable refuses a bad limit with INVALID_OPTION naming it, as the node refuses its peerTable option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ maxPeers: 0 }, 'peerTable.maxPeers'],
      [{ maxPending: 2.5 }, 'peerTable.maxPending'],
      [{ minHealth: 2 }, 'peerTable.minHealth'],
      [{ healthWindowMs: 0 }, 'peerTable.healthWindowMs'],
      [{ blockMs: Number.NaN }, 'peerTable.blockMs'],
      [{ checkMs: Infinity }, 'peerTable.checkMs'],
      [{ pendingEviction: 'newest' }, 'peerTable.pendingEviction'],
      [{ maxPeer: 10 }, 'peerTable.maxPeer'],
    ];
    for (const [limits, option] of cases) {
      const alone = refusal(() => peerTable(limits));
      expect(alone, option).toBeInstanceOf(InvalidOptionError);
      expect(alone, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
      // The node says the same of its option, word for word.
      expect((refusal(() => node({ peerTable: limits })) as Error).message, option).toBe((alone as Error).message);
    }
    expect(peerTable({ maxPeers: 5, maxPending: undefined }).limits).toMatchObject({ maxPeers: 5, maxPending: 800 });
  });

  it('Backfiller refuses a bad option, as the node refuses its backfill option, and a list of no sources', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ intervalMs: Infinity }, 'backfill.intervalMs'],
      [{ sourceTimeoutMs: 0 }, 'backfill.sourceTimeoutMs'],
      [{ concurrency: 1.5 }, 'backfill.concurrency'],
      [{ retryMaxMs: -1 }, 'backfill.retryMaxMs'],
      [{ graceMs: '10s' }, 'backfill.graceMs'],
      [{ interval: 5 }, 'backfill.interval'],
    ];
    for (const [options, option] of cases) {
      const alone = refusal(() => backfiller({ options: options as BackfillerInit['options'] }));
      expect(alone, option).toBeInstanceOf(InvalidOptionError);
      expect(alone, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
      expect((refusal(() => node({ backfill: options })) as Error).message, option).toBe((alone as Error).message);
    }
    // With no source, every address would be due at no time at all (nextAttemptAt Infinity).
    expect(refusal(() => backfiller({ sources: [] }))).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'sources' });
    expect(backfiller({ options: { concurrency: 2, graceMs: undefined } }).options).toMatchObject({ concurrency: 2, graceMs: 10_000 });
  });

  it('AddressPolicy and decodeClarity refuse a bad setting with INVALID_OPTION naming it', () => {
    for (const [options, option] of [
      [{ maxLength: 0 }, 'addressPolicy.maxLength'],
      [{ allowLoopback: 'yes' }, 'addressPolicy.allowLoopback'],
      [{ allowLoopbacks: true }, 'addressPolicy.allowLoopbacks'],
    ] as const) {
      const alone = refusal(() => new AddressPolicy(options as never));
      expect(alone, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
      expect((refusal(() => node({ addressPolicy: options as never })) as Error).message, option).toBe((alone as Error).message);
    }
    // NaN would turn the decoder's depth bound off.
    expect(refusal(() => decodeClarity('0x03', { maxDepth: Number.NaN }))).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'limits.maxDepth' });
    expect(decodeClarity('0x03', { maxDepth: 1 })).toEqual({ type: 'bool', value: true });
  });

  it('the chain call timeout of name resolution and of the chain follower is checked where the chain is wrapped', () => {
    const chain = new MemoryChain();
    for (const callTimeoutMs of [Number.NaN, 0, Infinity]) {
      expect(refusal(() => new NameResolver({ chain, chunk: () => undefined }, { callTimeoutMs })), String(callTimeoutMs)).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'callTimeoutMs' });
      expect(refusal(() => new ChainFollower(new MemoryChunkStore(), chain, { callTimeoutMs })), String(callTimeoutMs)).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'callTimeoutMs' });
    }
    // A function is named by its kind, never by its source.
    expect((refusal(() => new AddressPolicy({ maxLength: (() => 1) as never })) as Error).message).toContain('got a function');
  });
});
