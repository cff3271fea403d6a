import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBDOMAIN_INDEX } from '../../src/bns/subdomain-index.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes, InvalidOptionError } from '../../src/errors.js';
import { DEFAULT_TIMERS, resolveNodeOptions, type AtlasNodeOptions } from '../../src/node/index.js';
import { noMetrics } from '../../src/node/metrics.js';
import { DEFAULT_ADDRESS_POLICY, LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { PEER_TABLE_DEFAULTS } from '../../src/peers/table.js';
import { DEFAULT_FOLLOW } from '../../src/sync/chain-follow.js';
import { DEFAULT_WALK_PACE } from '../../src/peers/walk-pace.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { DEFAULT_REQUEST_LIMITS } from '../../src/protocol/request-guard.js';
import { silentLogger, systemClock } from '../../src/runtime.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { DEFAULT_AUDIT } from '../../src/sync/audit.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { DEFAULT_PUSHER } from '../../src/sync/pusher.js';
import { DEFAULT_BACKFILL } from '../../src/sync/sources/backfill-types.js';
import { MemoryNetwork } from '../../src/transport/memory.js';

const chain = new MemoryChain();
const transport = new MemoryNetwork().transport('n');
const bad = <T>(value: unknown) => value as T;

function isDeeplyFrozen(value: object, skip: ReadonlySet<unknown>): boolean {
  if (!Object.isFrozen(value)) return false;
  return Object.values(value).every((child) => typeof child !== 'object' || child === null || skip.has(child) || isDeeplyFrozen(child as object, skip));
}

describe('resolveNodeOptions', () => {
  it('fills in every default', () => {
    const resolved = resolveNodeOptions({ chain, transport });
    expect(resolved).toMatchObject({
      chain,
      transport,
      storage: { kind: 'memory' },
      closeStore: true,
      seeds: [],
      sources: [],
      network: 'mainnet',
      neighbors: 8,
      maxChunkSize: DEFAULT_LIMITS.maxChunkSize,
      clock: systemClock,
      random: Math.random,
      logger: silentLogger,
      metrics: noMetrics,
    });
    expect(resolved.limits).toEqual(DEFAULT_LIMITS);
    expect(resolved.addressPolicy).toEqual(DEFAULT_ADDRESS_POLICY);
    expect(resolved.peerTable).toEqual(PEER_TABLE_DEFAULTS);
    expect(resolved.requests).toEqual(DEFAULT_REQUEST_LIMITS);
    expect(resolved.timers).toEqual(DEFAULT_TIMERS);
    expect(resolved.downloads).toEqual(DEFAULT_DOWNLOADER);
    expect(resolved.push).toEqual(DEFAULT_PUSHER);
    expect(resolved.audit).toEqual(DEFAULT_AUDIT);
    expect(resolved.backfill).toEqual(DEFAULT_BACKFILL);
    expect(resolved.names).toEqual(DEFAULT_SUBDOMAIN_INDEX);
    expect(resolved.walk).toEqual(DEFAULT_WALK_PACE);
  });

  it('lays nested options over the defaults level by level; undefined keeps the default', () => {
    const resolved = resolveNodeOptions({
      chain,
      transport,
      timers: { roundMs: 50, refusalMs: undefined },
      downloads: { maxInFlight: 0, backoff: { baseMs: 10 } as never },
      requests: { methodCost: { getChunks: 4 } },
      limits: { maxGetAddresses: 7 },
    });
    expect(resolved.timers).toEqual({ ...DEFAULT_TIMERS, roundMs: 50 });
    expect(resolved.downloads.maxInFlight).toBe(0);
    expect(resolved.downloads.backoff).toEqual({ ...DEFAULT_DOWNLOADER.backoff, baseMs: 10 });
    expect(resolved.requests.methodCost).toMatchObject({ getChunks: 4, ping: 1 });
    expect(resolved.limits).toEqual({ ...DEFAULT_LIMITS, maxGetAddresses: 7 });
  });

  it('keeps related options in agreement: chunk size, peer table bounds, the store and who closes it', () => {
    const store = new MemoryChunkStore();
    const resolved = resolveNodeOptions({
      chain, transport, store, dataDir: '/ignored', maxChunkSize: 1_000, limits: { maxChunkSize: 1_000 },
      maxPeers: 50, peerTable: { maxPending: 30, maxPeers: 999 }, timers: { refusalMs: 1_234 },
    });
    expect(resolved.storage).toEqual({ kind: 'given', store });
    expect(resolved.closeStore).toBe(false);
    expect(resolved.maxChunkSize).toBe(1_000);
    expect(resolved.limits.maxChunkSize).toBe(1_000);
    expect(resolved.peerTable).toMatchObject({ maxPeers: 50, maxPending: 30, refusalMs: 1_234 });
    expect(resolveNodeOptions({ chain, transport, store, closeStore: true }).closeStore).toBe(true);
    // Our requests never ask more addresses than we answer (our client checks them against our limits).
    expect(resolveNodeOptions({ chain, transport, limits: { maxGetAddresses: 100 } }).downloads.batchSize).toBe(100);
    expect(resolveNodeOptions({ chain, transport, downloads: { batchSize: 50 } }).downloads.batchSize).toBe(50);
    expect(resolveNodeOptions({ chain, transport, limits: { maxGetAddresses: 700 } }).downloads.wideBatchSize).toBe(700);
    // A far peer never gets fewer: the default raised to a larger batchSize given alone (both given out of order: refused below).
    expect(resolveNodeOptions({ chain, transport, limits: { maxGetAddresses: 2_000 }, downloads: { batchSize: 1_500 } }).downloads.wideBatchSize).toBe(1_500);
    expect(resolveNodeOptions({ chain, transport, downloads: { backoff: { baseMs: 700_000 } } }).downloads.backoff).toMatchObject({ baseMs: 700_000, maxMs: 600_000 });
    expect(resolveNodeOptions({ chain, transport, downloads: { longRoundTripMs: 0 } }).downloads.longRoundTripMs).toBe(0);
    // A push carries no more chunks than our own client lets a putChunks carry.
    expect(resolveNodeOptions({ chain, transport, limits: { maxPutChunks: 2 } }).push.pushBatch).toBe(2);
    // How long a refused peer stays refused, said in either group (it was ignored in peerTable).
    expect(resolveNodeOptions({ chain, transport, peerTable: { refusalMs: 5_000 } })).toMatchObject({ peerTable: { refusalMs: 5_000 }, timers: { refusalMs: 5_000 } });
    expect(resolveNodeOptions({ chain, transport, peerTable: { refusalMs: 5_000 }, timers: { refusalMs: 5_000 } }).peerTable.refusalMs).toBe(5_000);
    // An early offer waits as long as its caller's check may take, unless told otherwise.
    expect(resolveNodeOptions({ chain, transport }).earlyContacts.ttlMs).toBe(60_000);
    expect(resolveNodeOptions({ chain, transport, peerTable: { checkMs: 90_000 } }).earlyContacts.ttlMs).toBe(90_000);
    expect(resolveNodeOptions({ chain, transport, peerTable: { checkMs: 90_000 }, earlyContacts: { ttlMs: 5_000 } }).earlyContacts.ttlMs).toBe(5_000);
    expect(resolveNodeOptions({ chain, transport, dataDir: '/tmp/x' }).storage).toEqual({ kind: 'lmdb', dataDir: '/tmp/x', chunkStorage: 'log', sequenceCacheBytes: 32 * 1024 * 1024, chunkCacheBytes: 8 * 1024 * 1024 });
    expect(resolveNodeOptions({ chain, transport, dataDir: '/tmp/x', sequenceCacheBytes: 0 }).storage).toMatchObject({ kind: 'lmdb', sequenceCacheBytes: 0 });
    expect(resolveNodeOptions({ chain, transport, dataDir: '/tmp/x', chunkCacheBytes: 0 }).storage).toMatchObject({ kind: 'lmdb', chunkCacheBytes: 0 });
    // The largest chunk, said in either place (both given, they must agree: refused below).
    expect(resolveNodeOptions({ chain, transport, maxChunkSize: 2_000 })).toMatchObject({ maxChunkSize: 2_000, limits: { maxChunkSize: 2_000 } });
    expect(resolveNodeOptions({ chain, transport, maxChunkSize: 2_000, limits: { maxChunkSize: undefined } })).toMatchObject({ maxChunkSize: 2_000, limits: { maxChunkSize: 2_000 } });
    expect(resolveNodeOptions({ chain, transport, dataDir: '/tmp/x', limits: { maxChunkSize: 2_000 } })).toMatchObject({
      storage: { kind: 'lmdb', dataDir: '/tmp/x' },
      closeStore: true,
      maxChunkSize: 2_000,
    });
  });

  it('returns deeply frozen data, copied from the caller, and leaves the given components alone', () => {
    const seeds = ['a:1'];
    const timers = { roundMs: 10 };
    const resolved = resolveNodeOptions({ chain, transport, seeds, timers, addressPolicy: LOCAL_ADDRESS_POLICY });
    expect(isDeeplyFrozen(resolved, new Set([chain, transport, systemClock, silentLogger, noMetrics]))).toBe(true);
    expect(() => (resolved.seeds as string[]).push('b:2')).toThrow(TypeError);
    expect(() => ((resolved.downloads.backoff as { baseMs: number }).baseMs = 1)).toThrow(TypeError);
    seeds.push('c:3');
    timers.roundMs = 99;
    expect(resolved.seeds).toEqual(['a:1']);
    expect(resolved.timers.roundMs).toBe(10);
    expect(Object.isFrozen(chain)).toBe(false);
    expect(Object.isFrozen(transport)).toBe(false);
  });

  it('takes the chain-follow limits as follow, over DEFAULT_FOLLOW', () => {
    expect(resolveNodeOptions({ chain, transport }).follow).toEqual(DEFAULT_FOLLOW);
    expect(DEFAULT_FOLLOW).toEqual({ pageSize: 10_000, checkDepth: 16, maxPendingEvents: 1_000, callTimeoutMs: 60_000, retryMs: 1_000 });
    expect(resolveNodeOptions({ chain, transport, follow: { callTimeoutMs: 120_000 } }).follow).toEqual({ ...DEFAULT_FOLLOW, callTimeoutMs: 120_000 });
  });

  it('refuses each bad option with INVALID_OPTION naming it', () => {
    const cases: [unknown, string][] = [
      [undefined, 'options'],
      [{ transport }, 'chain'],
      [{ chain }, 'transport'],
      [{ chain, transport: {} }, 'transport'],
      [{ chain, transport, store: { get: () => undefined } }, 'store'],
      [{ chain, transport, closeStore: 'yes' }, 'closeStore'],
      [{ chain, transport, dataDir: '' }, 'dataDir'],
      [{ chain, transport, dataDir: '/tmp/x', sequenceCacheBytes: -1 }, 'sequenceCacheBytes'],
      [{ chain, transport, dataDir: '/tmp/x', sequenceCacheBytes: 1.5 }, 'sequenceCacheBytes'],
      [{ chain, transport, dataDir: '/tmp/x', chunkCacheBytes: -1 }, 'chunkCacheBytes'],
      [{ chain, transport, dataDir: '/tmp/x', chunkCacheBytes: 2.5 }, 'chunkCacheBytes'],
      [{ chain, transport, network: 3 }, 'network'],
      [{ chain, transport, seeds: 'a:1' }, 'seeds'],
      [{ chain, transport, seeds: ['a:1', 3] }, 'seeds[1]'],
      [{ chain, transport, sources: [{ name: 'x' }] }, 'sources[0]'],
      [{ chain, transport, neighbors: 0 }, 'neighbors'],
      [{ chain, transport, follow: { callTimeoutMs: 0 } }, 'follow.callTimeoutMs'],
      [{ chain, transport, follow: { retryMs: 1.5 } }, 'follow.retryMs'],
      [{ chain, transport, follow: { retry: 10 } }, 'follow.retry'],
      [{ chain, transport, maxChunkSize: 1.5 }, 'maxChunkSize'],
      [{ chain, transport, maxPeers: -1 }, 'maxPeers'],
      [{ chain, transport, maxPendingPeers: '800' }, 'maxPendingPeers'],
      [{ chain, transport, limits: 5 }, 'limits'],
      [{ chain, transport, limits: { maxPutChunks: 0 } }, 'limits.maxPutChunks'],
      [{ chain, transport, limits: { maxPutChuncks: 5 } }, 'limits.maxPutChuncks'],
      [{ chain, transport, addressPolicy: { allowLoopback: 'yes' } }, 'addressPolicy.allowLoopback'],
      [{ chain, transport, peerTable: { pendingEviction: 'newest' } }, 'peerTable.pendingEviction'],
      [{ chain, transport, peerTable: { minHealth: 2 } }, 'peerTable.minHealth'],
      [{ chain, transport, peerTable: { maxPeersPerHost: 0 } }, 'peerTable.maxPeersPerHost'],
      [{ chain, transport, peerTable: { maxPeersPerHost: 2.5 } }, 'peerTable.maxPeersPerHost'],
      [{ chain, transport, peerTable: { maxPeerPerHost: 8 } }, 'peerTable.maxPeerPerHost'],
      [{ chain, transport, peerTable: { perHostPeersOnLoopback: 'yes' } }, 'peerTable.perHostPeersOnLoopback'],
      [{ chain, transport, requests: { maxConcurrent: 0 } }, 'requests.maxConcurrent'],
      [{ chain, transport, requests: { methodCost: { getChunks: -1 } } }, 'requests.methodCost.getChunks'],
      [{ chain, transport, requests: { methodCost: { getchunks: 2 } } }, 'requests.methodCost.getchunks'], // misspelt: never charged
      [{ chain, transport, timers: { roundMs: '10s' } }, 'timers.roundMs'],
      [{ chain, transport, timers: { roundMs: 0 } }, 'timers.roundMs'],
      [{ chain, transport, timers: { neighborRenewMs: Infinity } }, 'timers.neighborRenewMs'],
      [{ chain, transport, downloads: { batchSize: 0 } }, 'downloads.batchSize'],
      [{ chain, transport, downloads: { wideBatchSize: 1.5 } }, 'downloads.wideBatchSize'],
      [{ chain, transport, downloads: { longRoundTripMs: -1 } }, 'downloads.longRoundTripMs'],
      [{ chain, transport, downloads: { hedge: { minMs: NaN } } }, 'downloads.hedge.minMs'],
      [{ chain, transport, downloads: { backoff: [] } }, 'downloads.backoff'],
      [{ chain, transport, push: { timeoutMs: -5 } }, 'push.timeoutMs'],
      [{ chain, transport, push: { neighborOffers: 1.5 } }, 'push.neighborOffers'],
      [{ chain, transport, earlyContacts: { maxPeers: 0 } }, 'earlyContacts.maxPeers'],
      [{ chain, transport, earlyContacts: { maxPeersPerHost: 1.5 } }, 'earlyContacts.maxPeersPerHost'],
      [{ chain, transport, earlyContacts: { maxPositions: 0 } }, 'earlyContacts.maxPositions'],
      [{ chain, transport, earlyContacts: { ttlMs: 0 } }, 'earlyContacts.ttlMs'],
      [{ chain, transport, downloads: { maxInFlight: 2.5 } }, 'downloads.maxInFlight'],
      [{ chain, transport, audit: { stallHealth: 1.5 } }, 'audit.stallHealth'],
      [{ chain, transport, backfill: { concurrency: 0 } }, 'backfill.concurrency'],
      [{ chain, transport, names: { maxParents: 0 } }, 'names.maxParents'],
      [{ chain, transport, names: { maxBytes: 1.5 } }, 'names.maxBytes'],
      [{ chain, transport, names: { maxParentBytes: 0 } }, 'names.maxParentBytes'],
      [{ chain, transport, names: { lateReplayFactor: 0 } }, 'names.lateReplayFactor'],
      [{ chain, transport, requests: { addressesPerToken: 0 } }, 'requests.addressesPerToken'],
      [{ chain, transport, requests: { ratePerSecond: 0 } }, 'requests.ratePerSecond'],
      [{ chain, transport, requests: { burst: 0.5 } }, 'requests.burst'],
      [{ chain, transport, addressPolicy: { maxLength: 0 } }, 'addressPolicy.maxLength'],
      [{ chain, transport, limits: { maxGetChunksBytes: -1 } }, 'limits.maxGetChunksBytes'],
      [{ chain, transport, walk: { stepsPerRound: 0 } }, 'walk.stepsPerRound'],
      [{ chain, transport, walk: { settledStepsPerRenewal: 2.5 } }, 'walk.settledStepsPerRenewal'],
      [{ chain, transport, walk: { settleMs: -1 } }, 'walk.settleMs'],
      [{ chain, transport, timers: { quietInventoryRefreshMs: 0 } }, 'timers.quietInventoryRefreshMs'],
      [{ chain, transport, timers: { relaylessRefreshMs: 0 } }, 'timers.relaylessRefreshMs'],
      [{ chain, transport, clock: { now: () => 0 } }, 'clock'],
      [{ chain, transport, random: 0.5 }, 'random'],
      [{ chain, transport, logger: console.log }, 'logger'],
      [{ chain, transport, metrics: {} }, 'metrics'],
      [{ chain, transport, neighbours: 8 }, 'neighbours'],
      // Nested groups of downloads, and push and audit counts, by their kinds: each was accepted, then failed or switched a feature off.
      [{ chain, transport, downloads: { backoff: { maxEntries: 0 } } }, 'downloads.backoff.maxEntries'],
      [{ chain, transport, downloads: { omissions: { maxOmissions: 1.5 } } }, 'downloads.omissions.maxOmissions'],
      [{ chain, transport, downloads: { hedge: { maxMs: 0 } } }, 'downloads.hedge.maxMs'],
      [{ chain, transport, push: { maxTargets: 0 } }, 'push.maxTargets'],
      [{ chain, transport, push: { maxPushBytesPerTarget: 0.5 } }, 'push.maxPushBytesPerTarget'],
      [{ chain, transport, push: { pullerTtlMs: 0 } }, 'push.pullerTtlMs'],
      [{ chain, transport, audit: { maxStalls: 0 } }, 'audit.maxStalls'],
      // Every push would be refused by our own client before it left.
      [{ chain, transport, push: { pushBatch: 10 } }, 'push.pushBatch'],
      [{ chain, transport, limits: { maxPutChunks: 2 }, push: { pushBatch: 3 } }, 'push.pushBatch'],
      [{ chain, transport, seeds: ['127.0.0.1:7000', '!!'] }, 'seeds[1]'],
      // Peers hold a reply's "later" to at least 16 chunks of maxChunkSize: below it, an honest put-off looks like withholding.
      [{ chain, transport, limits: { maxGetChunksBytes: 100_000 } }, 'limits.maxGetChunksBytes'],
      [{ chain, transport, peerTable: { refusalMs: 5_000 }, timers: { refusalMs: 6_000 } }, 'peerTable.refusalMs'],
      // Both chunk size bounds given, different: the top-level one was taken for both without a word.
      [{ chain, transport, maxChunkSize: 100, limits: { maxChunkSize: 200 } }, 'limits.maxChunkSize'],
      [{ chain, transport, maxChunkSize: 2_000, limits: { maxChunkSize: 1_000 } }, 'limits.maxChunkSize'],
      // Pairs given out of order, each clamped in its component without a word before.
      [{ chain, transport, downloads: { batchSize: 800, wideBatchSize: 600 } }, 'downloads.wideBatchSize'],
      [{ chain, transport, downloads: { backoff: { baseMs: 5_000, maxMs: 1_000 } } }, 'downloads.backoff.maxMs'],
      [{ chain, transport, downloads: { hedge: { minMs: 5_000, maxMs: 1_000 } } }, 'downloads.hedge.maxMs'],
      [{ chain, transport, downloads: { storeRetryMs: 5_000, maxStoreRetryMs: 1_000 } }, 'downloads.maxStoreRetryMs'],
      [{ chain, transport, timers: { inventoryRefreshMs: 90_000, quietInventoryRefreshMs: 60_000 } }, 'timers.quietInventoryRefreshMs'],
      [{ chain, transport, names: { maxParentBytes: 2_000, maxBytes: 1_000 } }, 'names.maxBytes'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        resolveNodeOptions(bad<AtlasNodeOptions>(options));
      } catch (e) {
        error = e;
      }
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect(error, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
  });
});
