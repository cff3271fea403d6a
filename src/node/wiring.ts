/**
 * Builds the parts of one AtlasNode from its options and opened store: outbound guard and
 * protocol client, verified reader, chain follower, overlay, replicator, backfiller and fetcher,
 * and connects their callbacks. The node keeps the lifecycle and the public API (atlas-node.ts).
 */
import { ChainFollower } from '../sync/chain-follow.js';
import type { ChainAdapter } from '../chain/types.js';
import type { ProtocolLimits } from '../protocol/limits.js';
import { ProtocolClient } from '../protocol/client.js';
import { RequestGuard } from '../protocol/request-guard.js';
import { peerBlocklist } from '../peers/blocklist.js';
import { Overlay } from '../peers/overlay.js';
import type { Clock, Logger } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import { VerifiedReader } from '../store/verified-read.js';
import { Replicator, storedOutcomes, type StoredChunks } from '../sync/replicator.js';
import { Backfiller } from '../sync/sources/backfill.js';
import { peerSource } from '../sync/sources/local-sources.js';
import type { Transport, TransportService } from '../transport/types.js';
import { createProtocolService } from '../protocol/server.js';
import { checkSender } from '../protocol/sender-check.js';
import { setMaxListeners } from 'node:events';
import type { AtlasNodeEvents } from './events.js';
import type { FetchOptions, FetchResult } from '../sync/fetch.js';
import { nodeFetcher } from '../sync/fetch-chunks.js';
import { RequestObserver } from './observe.js';
import type { NodeTimers } from './options.js';
import type { ResolvedNodeOptions } from './resolve-options.js';
import { OutboundGuard } from './outbound-guard.js';
import { PeerEvents } from './peer-events.js';
import { changesAnswered, inventoryBytesAnswered, NodeService, type ServiceHost } from './service.js';
import { RateMeter, type NodeStats } from './stats.js';
import type { LiveNodeState } from './lifecycle.js';
import { SyncState } from './sync-state.js';

/** What the parts need from the node itself. */
export interface NodeHost {
  /** Emits an event unless the node is closing; a throwing listener is logged, not propagated. */
  emit<E extends keyof AtlasNodeEvents>(event: E, payload: AtlasNodeEvents[E]): void;
  listens(event: keyof AtlasNodeEvents): boolean;
  fail(error: unknown): void;
  running(): boolean;
  fetchChunks(addresses: readonly string[], options: FetchOptions): Promise<FetchResult>;
}

export interface NodeParts {
  network: string;
  limits: Readonly<ProtocolLimits>;
  chain: ChainAdapter;
  transport: Transport;
  clock: Clock;
  logger: Logger;
  timers: Readonly<NodeTimers>;
  /** Aborted when the node closes; every call in flight follows it (one shared listener). */
  lifetime: AbortController;
  /** Every chunk that leaves the node is read through it: hash-checked, corrupt ones quarantined. */
  reader: VerifiedReader;
  follower: ChainFollower;
  overlay: Overlay;
  /** Replication policy: views, downloads, audits, pushes and offers, the change log. */
  replicator: Replicator;
  /** Never gives up on an announced chunk: asks the configured sources, then peers. */
  backfiller: Backfiller;
  backfillSources: number;
  /** Have/total/missing, the 'synced' transition, and the waits on them (whenSynced, fetchChunks' wait). */
  sync: SyncState;
  fetcher: ReturnType<typeof nodeFetcher>;
  /** What the transport serves: the protocol behind its guards, chunk and status routes. */
  service(status: () => unknown): TransportService;
  /** The overlay's periodic round: admissions, walk steps, neighbours, evictions (it waits on peers). */
  overlayRound(): Promise<void>;
  /** The replicator's periodic pass (refreshes, downloads, audits) and the gauges: never waits on a peer. */
  tick(): void;
  stats(state: LiveNodeState): NodeStats;
}

export function wireNode(options: ResolvedNodeOptions, store: ChunkStore, host: NodeHost): NodeParts {
  const lifetime = new AbortController();
  // The waits of sync-state and fetch-chunks listen on the lifetime signal (outgoing calls share
  // one listener through the client); the bound is the in-flight limits.
  setMaxListeners(0, lifetime.signal);
  const { network, transport, clock, random, logger, metrics, timers, seeds, peerTable } = options;
  // A store the host gave keeps its own chunk size limit; one the node opened has options.maxChunkSize.
  const limits: Readonly<ProtocolLimits> = Object.freeze({ ...options.limits, maxChunkSize: store.maxChunkSize });
  const sync = new SyncState(store, clock, lifetime.signal);
  const rates = new RateMeter(clock);
  const peerEvents = new PeerEvents((event, payload) => host.emit(event, payload), seeds, peerTable.maxPeers + peerTable.maxPending);
  const observer = new RequestObserver(metrics, logger, clock);
  /** The peer table's blocks, enforced on every outgoing call by the outbound guard. */
  const blocklist = peerBlocklist(peerTable, seeds);
  /** Every outgoing call passes here: blocked peers and addresses the policy refuses are never dialled. */
  const outbound = new OutboundGuard(transport, {
    clock,
    policy: options.addressPolicy,
    seeds,
    blocklist,
    onCall: (outcome) => {
      observer.sent(outcome);
      if (outcome.error === undefined) peerEvents.answered(outcome.peer);
    },
  });
  /** Closing the node aborts every call in flight at once: each follows the lifetime signal. */
  const client = new ProtocolClient(outbound, { limits, clock, signal: lifetime.signal });
  const self = () => transport.address;

  const emitProgress = (): void => {
    const { progress, caughtUp } = sync.changed();
    metrics.gauge('chunks_held', progress.have);
    host.emit('progress', progress);
    if (caughtUp) host.emit('synced', progress);
  };
  const onStored = (chunks: StoredChunks, from: string): void => {
    if (host.listens('chunk')) for (const { address, positions } of chunks.outcomes()) host.emit('chunk', { address, positions, from });
    rates.add(chunks.count);
    metrics.count('chunks_stored_total', chunks.count);
    emitProgress();
  };

  // Built before the overlay, whose events it receives; its constructor does not call the overlay.
  const replicator = new Replicator({
    store,
    readVerified: (address) => reader.readOne(address),
    client,
    clock,
    random,
    logger,
    self,
    peers: {
      recordCall: (peer, ok) => overlay.recordCall(peer, ok),
      health: (peer) => overlay.health(peer),
      dropStaller: (peer) => overlay.dropStaller(peer),
      penalise: (peer, code) => overlay.penalise(peer, code),
      isKnownPeer: (peer) => overlay.isKnownPeer(peer),
      contact: (peer) => overlay.contact(peer),
      isSeed: (peer) => overlay.isSeed(peer),
      livePeers: (max) => overlay.livePeers(max, undefined),
    },
    events: {
      stored: onStored,
      sequenceChanged: (length) => {
        metrics.gauge('sequence_length', length);
        emitProgress();
      },
      quarantined: (chunk) => {
        backfiller.lost(chunk.address);
        host.emit('chunk:corrupt', { address: chunk.address, positions: chunk.positions });
        emitProgress();
      },
      inventoryRead: (bytes) => metrics.count('inventory_bytes_received_total', bytes),
      failed: (error) => host.fail(error),
    },
  }, { neighbors: options.neighbors, inventoryRefreshMs: timers.inventoryRefreshMs, quietInventoryRefreshMs: timers.quietInventoryRefreshMs, relaylessRefreshMs: timers.relaylessRefreshMs, downloads: options.downloads, audit: options.audit, push: options.push, earlyContacts: options.earlyContacts });

  const overlay = new Overlay({
    client,
    network,
    sequence: store,
    clock,
    random,
    logger,
    neighbors: options.neighbors,
    neighborRenewMs: timers.neighborRenewMs,
    walk: options.walk,
    seeds,
    self,
    signal: lifetime.signal,
    table: { limits: peerTable, addressPolicy: options.addressPolicy, blocklist },
    events: {
      peerAdded: (peer) => {
        replicator.peerAdmitted(peer);
        logger.debug('peer admitted', { peer });
        peerEvents.added(peer);
      },
      peerRemoved: (peer, reason) => {
        logger.debug('peer removed', { peer, reason });
        replicator.peerRemoved(peer);
        peerEvents.removed(peer, reason);
      },
      neighborAdded: (peer) => replicator.neighborAdded(peer),
      neighborRemoved: (peer) => replicator.neighborRemoved(peer),
    },
  });
  const reader = new VerifiedReader(store, {
    corrupt: (chunk) => replicator.quarantined(chunk),
    discardFailed: (address, error) => logger.error('a corrupt chunk could not be removed from the store', { address, error: String(error) }),
  });
  const backfiller = new Backfiller({
    store,
    // The configured sources first (a local observer answers at once); peers, which the
    // downloader already asks continuously, last.
    sources: [...options.sources, peerSource((addresses, opts) => host.fetchChunks(addresses, opts))],
    clock,
    random,
    logger,
    onStored: (outcomes, source) => replicator.stored(storedOutcomes(outcomes), source, 'offer'),
    options: options.backfill,
  });
  const follower = new ChainFollower(store, options.chain, {
    ...options.follow,
    clock,
    logger,
    onAppend: (from, count) => {
      sync.sequenceChanged();
      replicator.appended(from, count);
      backfiller.sequenceChanged();
    },
    onRollback: (length) => {
      sync.sequenceChanged();
      replicator.rolledBack(length);
      backfiller.sequenceChanged();
    },
    onError: (error) => host.fail(error),
  });
  const fetcher = nodeFetcher({
    store,
    readLocal: (addresses) => reader.read(addresses).chunks,
    clock,
    changes: sync.changes,
    lifetime: lifetime.signal,
    client,
    limits,
    views: replicator.views,
    batchSize: options.downloads.batchSize,
    knownPeers: () => overlay.knownPeers(),
    random,
    canFetch: () => host.running(),
    passBudgetMs: client.timeouts.chunks,
    onStored: (outcomes, peer) => replicator.stored(storedOutcomes(outcomes), peer, 'offer'),
    onFault: (peer, error) => replicator.peerFault(peer, 'bad-data', error),
    onCall: (peer, ok) => overlay.recordCall(peer, ok),
  });
  /** Sheds load with BUSY: per-host token buckets and concurrency bounds (protocol/request-guard). */
  const guard = new RequestGuard(clock, options.requests, {
    changesAnswered: (params) => changesAnswered(replicator.log, params, limits.maxInventoryChanges),
    inventoryBytesAnswered: (params) => inventoryBytesAnswered(store.inventory, params),
  });
  const serviceHost: ServiceHost = {
    network,
    store,
    reader,
    sharesReplyBytes: transport.readsRepliesOnce === true,
    log: replicator.log,
    limits,
    candidate: (address) => overlay.candidate(address),
    puller: (address, relay, callerHost) => replicator.pulled(address, relay, callerHost),
    livePeers: (max, exclude) => overlay.livePeers(max, exclude),
    stored: (outcomes, pushedBy, remote) => replicator.received(outcomes, pushedBy, remote),
    offered: (address, positions, callerHost) => replicator.offered(address, positions, callerHost),
  };
  return {
    network, limits, chain: options.chain, transport, clock, logger, timers, lifetime, reader, follower, overlay, replicator,
    backfiller, backfillSources: options.sources.length, sync, fetcher,
    service: (status) => ({
      handle: observer.serve(guard.wrap(checkSender(createProtocolService(new NodeService(serviceHost), { limits, logger })))),
      admit: (request) => guard.admit(request),
      getChunk: (address) => reader.readOne(address),
      status,
      ...(metrics.expose ? { metrics: () => (metrics.expose as () => Promise<string>)() } : {}),
    }),
    overlayRound: () => overlay.round(),
    tick: () => {
      replicator.tick();
      metrics.gauge('peers', overlay.peerCount());
      metrics.gauge('neighbors', overlay.neighborCount());
      observer.sampleWire(transport);
    },
    stats: (state) => ({
      state,
      address: transport.address,
      network,
      sequenceLength: store.sequenceLength(),
      chunks: store.chunkCount(),
      chunkBytes: store.chunkBytes(),
      ...haveAndTotal(sync),
      ...chainFigures(options.chain, logger),
      peers: overlay.peerCount(),
      pendingPeers: overlay.pendingCount(),
      neighbors: overlay.neighbors(),
      ...replicator.stats(),
      chunksPerSecond: rates.rate(),
    }),
  };
}

/** have and total as the progress event counts them (positions that name no chunk left out). */
function haveAndTotal(sync: SyncState): { have: number; total: number } {
  const { have, total } = sync.progress();
  return { have, total };
}

/**
 * The chain adapter's own counts (ChainAdapter.counts), its finite numbers only: nothing when it
 * has none, or when reading them throws (logged; stats() must not fail for the adapter's sake).
 */
function chainFigures(chain: ChainAdapter, logger: Logger): { chain?: Readonly<Record<string, number>> } {
  if (typeof chain.counts !== 'function') return {};
  let given: unknown;
  try {
    given = chain.counts();
  } catch (error) {
    logger.warn('the chain adapter\'s counts() threw', { error: String(error) });
    return {};
  }
  if (typeof given !== 'object' || given === null) return {};
  const figures: Record<string, number> = {};
  for (const [key, value] of Object.entries(given)) if (typeof value === 'number' && Number.isFinite(value)) figures[key] = value;
  return { chain: figures };
}
