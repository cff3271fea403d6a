/**
 * resolveNodeOptions(): the one place AtlasNode's options are checked and defaulted. A missing
 * chain, a timer of "10s" or a misspelt limit fails at once with an InvalidOptionError naming the
 * option, not with a TypeError deep in a component (or a timer that fires every millisecond). The
 * result has every default filled in and its data frozen, so the wiring reads values, never
 * `?? default`, and nothing can change them after the node is built.
 */
import { DEFAULT_CHUNK_CACHE_BYTES } from '../store/recent-records.js';
import { DEFAULT_SEQUENCE_CACHE_BYTES } from '../store/sequence-pages.js';
import { InvalidOptionError } from '../errors.js';
import { checkOptionNames, clockOption, component, describe, numberRule, overlayChecked, POSITIVE_FINITE, type NumberRule } from '../options-overlay.js';
import { ADDRESS_POLICY_RULES, DEFAULT_ADDRESS_POLICY, parseDialAddress, type AddressPolicyOptions } from '../peers/address-policy.js';
import { PEER_TABLE_DEFAULTS, PEER_TABLE_RULES, type PeerTableLimits } from '../peers/table.js';
import { DEFAULT_WALK_PACE, type WalkPaceOptions } from '../peers/walk-pace.js';
import { resolveLimits, type ProtocolLimits } from '../protocol/limits.js';
import { DEFAULT_REQUEST_LIMITS, REQUEST_LIMIT_RULES, type RequestLimits } from '../protocol/request-guard.js';
import { silentLogger, systemClock, type Clock, type Logger, type Random } from '../runtime.js';
import { DEFAULT_CHUNK_STORAGE, isByteCount, type ChunkStorage } from '../store/lmdb.js';
import type { ChunkStore } from '../store/types.js';
import { DEFAULT_AUDIT, type AuditOptions } from '../sync/audit.js';
import { DEFAULT_DOWNLOADER, type DownloaderOptions } from '../sync/downloader-options.js';
import { DEFAULT_EARLY_CONTACTS, type EarlyContactsOptions } from '../sync/early-contacts.js';
import { DEFAULT_PUSHER, type PusherOptions } from '../sync/pusher.js';
import { MIN_JUDGED_REPLY_CHUNKS, minJudgedReplyBytes } from '../sync/peer-views.js';
import { DEFAULT_FOLLOW, FOLLOW_RULES, type FollowOptions } from '../sync/chain-follow.js';
import { BACKFILL_RULES, DEFAULT_BACKFILL, type BackfillOptions } from '../sync/sources/backfill-types.js';
import { DEFAULT_SUBDOMAIN_INDEX, SUBDOMAIN_INDEX_RULES, type SubdomainIndexLimits } from '../bns/subdomain-index.js';
import type { ChunkSource } from '../sync/sources/types.js';
import type { ChainAdapter } from '../chain/types.js';
import type { Transport } from '../transport/types.js';
import { noMetrics, type Metrics } from './metrics.js';
import { DEFAULT_TIMERS, type AtlasNodeOptions, type NodeTimers } from './options.js';

/** Where the node's chunks live: a store the host gave, an LMDB environment, or memory. */
export type NodeStorage =
  | { readonly kind: 'given'; readonly store: ChunkStore }
  | { readonly kind: 'lmdb'; readonly dataDir: string; readonly chunkStorage: ChunkStorage; readonly sequenceCacheBytes: number; readonly chunkCacheBytes: number }
  | { readonly kind: 'memory' };

/** AtlasNodeOptions checked, with every default filled in; its data is frozen (the components it names are not). */
export interface ResolvedNodeOptions {
  readonly chain: ChainAdapter;
  readonly transport: Transport;
  readonly storage: NodeStorage;
  /** Whether node.close() closes the store: true for one the node opened, `closeStore` for a given one. */
  readonly closeStore: boolean;
  readonly seeds: readonly string[];
  readonly network: string;
  readonly neighbors: number;
  /** Largest chunk admitted by a store the node opens (a given store keeps its own). */
  readonly maxChunkSize: number;
  /** Protocol limits; `maxChunkSize` is the one above. */
  readonly limits: Readonly<ProtocolLimits>;
  readonly addressPolicy: Readonly<AddressPolicyOptions>;
  /** The peer table's bounds; `maxPeers`, `maxPending` and `refusalMs` agree with the options of those names. */
  readonly peerTable: Readonly<PeerTableLimits>;
  readonly requests: Readonly<RequestLimits>;
  readonly timers: Readonly<NodeTimers>;
  readonly walk: Readonly<WalkPaceOptions>;
  readonly downloads: Readonly<DownloaderOptions>;
  readonly push: Readonly<PusherOptions>;
  readonly earlyContacts: Readonly<EarlyContactsOptions>;
  readonly audit: Readonly<AuditOptions>;
  readonly sources: readonly ChunkSource[];
  readonly backfill: Readonly<BackfillOptions>;
  readonly follow: Readonly<FollowOptions>;
  readonly names: Readonly<SubdomainIndexLimits>;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

const CHAIN_METHODS = ['length', 'read', 'subscribe'];
const TRANSPORT_METHODS = ['listen', 'call', 'close'];
const STORE_METHODS = ['putMany', 'get', 'close', 'sequenceLength'];
const SOURCE_METHODS = ['fetch'];

/**
 * The kinds of number of the option groups only the node builds from. The components an embedder
 * may build alone (PeerTable, Backfiller, RequestGuard, AddressPolicy, the subdomain index) own theirs, and the
 * protocol limits are positive integers wherever they are given (resolveLimits).
 */
const NODE_GROUP_RULES = {
  timers: POSITIVE_FINITE,
  walk: numberRule({ positiveIntegers: ['stepsPerRound', 'settledStepsPerRenewal'] }),
  // downloads.maxInFlight may be 0: the node then fetches only when asked (fetchChunks).
  downloads: numberRule({
    positiveIntegers: ['maxInFlightPerPeer', 'batchSize', 'wideBatchSize', 'maxPendingWrites', 'planWindow', 'backoff.maxEntries', 'omissions.maxOmissions'],
    wholeNumbers: ['maxInFlight', 'longRoundTripMs'],
    positive: ['storeRetryMs', 'maxStoreRetryMs', 'backoff.baseMs', 'backoff.maxMs', 'omissions.windowMs', 'hedge.minMs', 'hedge.maxMs', 'hedge.initialMs', 'hedge.slowPeerMs'],
  }),
  push: numberRule({
    positiveIntegers: ['maxTargets', 'maxPendingPerTarget', 'maxPushBytesPerTarget', 'pushBatch'],
    wholeNumbers: ['neighborOffers', 'firstContactPositions'],
    positive: ['timeoutMs', 'pullerTtlMs'],
  }),
  earlyContacts: numberRule({ positiveIntegers: ['maxPeers', 'maxPeersPerHost', 'maxPositions'], positive: ['ttlMs'] }),
  // audit.everyMs may be 0: no audits.
  audit: numberRule({ positiveIntegers: ['maxStalls'], wholeNumbers: ['everyMs'], positive: ['timeoutMs', 'retryMs'], fractions: ['stallHealth'] }),
} satisfies Record<string, NumberRule>;

/** Checks `options` and returns them resolved: every default filled in, the data deeply frozen. */
export function resolveNodeOptions(options: AtlasNodeOptions): ResolvedNodeOptions {
  checkOptionNames<AtlasNodeOptions>(options, OPTION_NAMES, 'AtlasNode.open');

  const chain = component('chain', options.chain, CHAIN_METHODS, 'a chain adapter (length, read, subscribe)');
  const transport = component('transport', options.transport, TRANSPORT_METHODS, 'a transport (e.g. new HttpTransport({ listen }))');
  const store = options.store === undefined ? undefined : component('store', options.store, STORE_METHODS, 'a ChunkStore');
  const closeStore = optional('closeStore', options.closeStore, 'a boolean', (v): v is boolean => typeof v === 'boolean');
  const dataDir = optional('dataDir', options.dataDir, 'a non-empty path', nonEmptyString);
  const chunkStorage = optional('chunkStorage', options.chunkStorage, "'lmdb' or 'log'", (v): v is ChunkStorage => v === 'lmdb' || v === 'log') ?? DEFAULT_CHUNK_STORAGE;
  const sequenceCacheBytes = byteCount('sequenceCacheBytes', options.sequenceCacheBytes) ?? DEFAULT_SEQUENCE_CACHE_BYTES;
  const chunkCacheBytes = byteCount('chunkCacheBytes', options.chunkCacheBytes) ?? DEFAULT_CHUNK_CACHE_BYTES;
  const storage: NodeStorage = store !== undefined ? { kind: 'given', store } : dataDir !== undefined ? { kind: 'lmdb', dataDir, chunkStorage, sequenceCacheBytes, chunkCacheBytes } : { kind: 'memory' };

  const network = optional('network', options.network, 'a non-empty string', nonEmptyString) ?? 'mainnet';
  const addressPolicy = overlayChecked('addressPolicy', DEFAULT_ADDRESS_POLICY, options.addressPolicy, ADDRESS_POLICY_RULES);
  const seeds = list('seeds', options.seeds, 'a "host:port" peer address', (v): v is string => typeof v === 'string');
  seeds.forEach((seed, i) => checkSeed(`seeds[${i}]`, seed, addressPolicy));
  const sources = list('sources', options.sources, 'a ChunkSource', (v): v is ChunkSource => hasMethods(v, SOURCE_METHODS));
  const neighbors = positiveInteger('neighbors', options.neighbors) ?? 8;

  checkOrderedPairs(options);
  const given = {
    limits: resolveLimits(options.limits),
    peerTable: overlayChecked('peerTable', PEER_TABLE_DEFAULTS, options.peerTable, PEER_TABLE_RULES),
    timers: overlayChecked('timers', DEFAULT_TIMERS, options.timers, NODE_GROUP_RULES.timers),
  };
  // An early offer waits as long as its caller's check may take, unless told otherwise.
  const earlyContacts = overlayChecked('earlyContacts', { ...DEFAULT_EARLY_CONTACTS, ttlMs: given.peerTable.checkMs }, options.earlyContacts, NODE_GROUP_RULES.earlyContacts);
  const maxChunkSize = maxChunkSizeOf(options, given.limits.maxChunkSize);
  // Peers judge our put-off replies against at least this bound: below it, an honest put-off looks like withholding.
  const judgedBytes = minJudgedReplyBytes(maxChunkSize);
  if (given.limits.maxGetChunksBytes < judgedBytes) {
    throw new InvalidOptionError('limits.maxGetChunksBytes', `${given.limits.maxGetChunksBytes} is below ${judgedBytes} bytes (${MIN_JUDGED_REPLY_CHUNKS} chunks of maxChunkSize, at most 640 KiB): peers would take its replies' "later" for withholding`);
  }
  const maxPeers = positiveInteger('maxPeers', options.maxPeers) ?? given.peerTable.maxPeers;
  const maxPending = positiveInteger('maxPendingPeers', options.maxPendingPeers) ?? given.peerTable.maxPending;

  const refusalMs = refusalMsOf(options, given.timers.refusalMs);
  return deepFreeze({
    chain,
    transport,
    storage,
    closeStore: closeStore ?? store === undefined,
    seeds,
    network,
    neighbors,
    maxChunkSize,
    limits: { ...given.limits, maxChunkSize },
    addressPolicy,
    peerTable: { ...given.peerTable, maxPeers, maxPending, refusalMs },
    requests: overlayChecked('requests', DEFAULT_REQUEST_LIMITS, options.requests, REQUEST_LIMIT_RULES),
    timers: { ...given.timers, refusalMs },
    walk: overlayChecked('walk', DEFAULT_WALK_PACE, options.walk, NODE_GROUP_RULES.walk),
    downloads: withinLimits(overlayChecked('downloads', DEFAULT_DOWNLOADER, options.downloads, NODE_GROUP_RULES.downloads), given.limits),
    push: pushWithinLimits(overlayChecked('push', DEFAULT_PUSHER, options.push, NODE_GROUP_RULES.push), options.push?.pushBatch !== undefined, given.limits),
    earlyContacts,
    audit: overlayChecked('audit', DEFAULT_AUDIT, options.audit, NODE_GROUP_RULES.audit),
    sources,
    backfill: overlayChecked('backfill', DEFAULT_BACKFILL, options.backfill, BACKFILL_RULES),
    follow: overlayChecked('follow', DEFAULT_FOLLOW, options.follow, FOLLOW_RULES),
    names: overlayChecked('names', DEFAULT_SUBDOMAIN_INDEX, options.names, SUBDOMAIN_INDEX_RULES),
    clock: clockOption(options.clock) ?? systemClock,
    random: optional('random', options.random, 'a function returning [0, 1)', (v): v is Random => typeof v === 'function') ?? Math.random,
    logger: options.logger === undefined ? silentLogger : component('logger', options.logger, ['debug', 'info', 'warn', 'error'], 'a Logger'),
    metrics: options.metrics === undefined ? noMetrics : component('metrics', options.metrics, ['count', 'gauge'], 'a Metrics'),
  });
}

/** Every option AtlasNodeOptions has; a key not here is a typo and is refused. */
const OPTION_NAMES: Record<keyof AtlasNodeOptions, true> = {
  chain: true, transport: true, dataDir: true, chunkStorage: true, sequenceCacheBytes: true, chunkCacheBytes: true, store: true, closeStore: true, seeds: true, network: true, neighbors: true,
  maxChunkSize: true, limits: true, addressPolicy: true, maxPeers: true, maxPendingPeers: true, peerTable: true, requests: true,
  timers: true, walk: true, downloads: true, push: true, earlyContacts: true, audit: true, sources: true, backfill: true, follow: true, names: true, clock: true, random: true, logger: true, metrics: true,
};

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

function optional<T>(option: string, value: unknown, what: string, ok: (value: unknown) => value is T): T | undefined {
  if (value === undefined) return undefined;
  if (!ok(value)) throw new InvalidOptionError(option, `expected ${what}, got ${describe(value)}`);
  return value;
}

function list<T>(option: string, value: unknown, what: string, ok: (value: unknown) => value is T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidOptionError(option, `expected an array, each ${what}`);
  value.forEach((item, i) => {
    if (!ok(item)) throw new InvalidOptionError(`${option}[${i}]`, `expected ${what}, got ${describe(item)}`);
  });
  return [...(value as T[])];
}

/**
 * A seed must be an address the node can dial: `host:port` with a port from 1 to 65535, or a bare
 * name (a MemoryNetwork node's) when the address policy allows bare names. Port 0 and a host
 * without a port parse as peer addresses (a listen address may pick port 0), so they are refused
 * here, where a seed that could never be reached would otherwise be kept without a word.
 */
function checkSeed(option: string, seed: string, policy: Readonly<AddressPolicyOptions>): void {
  const peer = parseDialAddress(seed, policy.maxLength);
  if (peer !== undefined && peer.port !== 0 && (peer.port !== undefined || policy.allowBareNames)) return;
  const reason = peer?.port === 0 ? 'port 0 cannot be dialled'
    : peer?.port === undefined && parseDialAddress(`${seed}:1`, policy.maxLength + 2) !== undefined ? 'it has no port (a name without one needs addressPolicy.allowBareNames)'
    : 'not a peer address';
  throw new InvalidOptionError(option, `expected a "host:port" peer address with a port from 1 to 65535, got ${describe(seed)}: ${reason}`);
}

function byteCount(option: string, value: unknown): number | undefined {
  return optional(option, value, 'a whole number of bytes >= 0', isByteCount);
}

function positiveInteger(option: string, value: unknown): number | undefined {
  return optional(option, value, 'a positive integer', (v): v is number => Number.isSafeInteger(v) && (v as number) > 0);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}


/** Components the node is given (chain, transport, store, clock, ...) stay as they are: only the data is frozen. */
const COMPONENTS = new Set<string>(['chain', 'transport', 'store', 'clock', 'random', 'logger', 'metrics']);

function deepFreeze<T extends object>(value: T, path = ''): T {
  for (const [key, child] of Object.entries(value)) {
    if (COMPONENTS.has(key) || (path === 'sources' && Array.isArray(value))) continue;
    if (typeof child === 'object' && child !== null) deepFreeze(child as object, key);
  }
  return Object.freeze(value);
}

/**
 * Bounds given in pairs (a floor and a ceiling, a base and its ceiling): both given, the lower
 * above the higher is refused (each component would clamp one to the other without a word); one
 * given alone is taken as before (some components then clamp it to the other's default).
 */
const ORDERED_PAIRS: readonly (readonly [group: string, path: readonly string[], low: string, high: string])[] = [
  ['downloads', ['backoff'], 'baseMs', 'maxMs'],
  ['downloads', ['hedge'], 'minMs', 'maxMs'],
  ['downloads', [], 'storeRetryMs', 'maxStoreRetryMs'],
  ['downloads', [], 'batchSize', 'wideBatchSize'],
  ['timers', [], 'inventoryRefreshMs', 'quietInventoryRefreshMs'],
  ['names', [], 'maxParentBytes', 'maxBytes'],
];

function checkOrderedPairs(options: AtlasNodeOptions): void {
  for (const [group, path, low, high] of ORDERED_PAIRS) {
    let values: unknown = (options as unknown as Record<string, unknown>)[group];
    for (const step of path) values = typeof values === 'object' && values !== null ? (values as Record<string, unknown>)[step] : undefined;
    if (typeof values !== 'object' || values === null) continue;
    const { [low]: lower, [high]: higher } = values as Record<string, unknown>;
    if (typeof lower === 'number' && typeof higher === 'number' && lower > higher) {
      const prefix = [group, ...path].join('.');
      throw new InvalidOptionError(`${prefix}.${high}`, `${higher} is below ${prefix}.${low} (${lower})`);
    }
  }
}

/** The largest chunk: `maxChunkSize`, or `limits.maxChunkSize` given alone (both given, they must agree). */
function maxChunkSizeOf(options: AtlasNodeOptions, limitsMaxChunkSize: number): number {
  const topLevel = positiveInteger('maxChunkSize', options.maxChunkSize);
  if (topLevel === undefined) return limitsMaxChunkSize;
  if (options.limits?.maxChunkSize !== undefined && limitsMaxChunkSize !== topLevel) {
    throw new InvalidOptionError('limits.maxChunkSize', `${limitsMaxChunkSize} differs from maxChunkSize (${topLevel}): give one of them`);
  }
  return topLevel;
}

/** How long a refused peer stays refused: `timers.refusalMs`, or `peerTable.refusalMs` given alone (both given, they must agree). */
function refusalMsOf(options: AtlasNodeOptions, timersRefusalMs: number): number {
  const inTable = options.peerTable?.refusalMs;
  if (inTable === undefined) return timersRefusalMs;
  if (options.timers?.refusalMs === undefined) return inTable;
  if (inTable !== timersRefusalMs) throw new InvalidOptionError('peerTable.refusalMs', `${inTable} differs from timers.refusalMs (${timersRefusalMs}): give one of them`);
  return inTable;
}

/**
 * A push call carries at most what our own client lets a putChunks carry (limits.maxPutChunks):
 * a larger pushBatch given is refused, since every push would fail before it left; the default is
 * lowered to it.
 */
function pushWithinLimits(push: Readonly<PusherOptions>, pushBatchGiven: boolean, limits: Readonly<ProtocolLimits>): PusherOptions {
  if (push.pushBatch <= limits.maxPutChunks) return push;
  if (pushBatchGiven) throw new InvalidOptionError('push.pushBatch', `${push.pushBatch} is more than limits.maxPutChunks (${limits.maxPutChunks}): every push would be refused before it left`);
  return { ...push, pushBatch: limits.maxPutChunks };
}

/**
 * Our own requests never ask more addresses than we would answer (the client checks them against
 * our limits), and a far peer is never asked fewer than a near one.
 */
function withinLimits(downloads: DownloaderOptions, limits: Readonly<ProtocolLimits>): DownloaderOptions {
  const batchSize = Math.min(downloads.batchSize, limits.maxGetAddresses);
  return { ...downloads, batchSize, wideBatchSize: Math.max(batchSize, Math.min(downloads.wideBatchSize, limits.maxGetAddresses)) };
}
