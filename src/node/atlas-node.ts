/**
 * AtlasNode: opens the store, wires chain follower, protocol service, peers and the sync
 * components, runs the lifecycle and forwards their events (README "Embedding").
 *
 * Longer than 450 lines: besides wiring it still holds the replication policy (offers, pullers,
 * refresh scheduling and error classification, push-or-offer, rollback handling, holder choice),
 * which is to move into one replicator under sync/ with unit tests of its own.
 */
import { setMaxListeners } from 'node:events';
import { isAddress, parseAddress, type Address } from '../address.js';
import { ChainFollower } from '../sync/chain-follow.js';
import type { ChainAdapter } from '../chain/types.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import type { InventoryLog } from '../inventory/change-log.js';
import { Replicator } from '../sync/replicator.js';
import { resolveLimits, type ProtocolLimits } from '../protocol/limits.js';
import { ProtocolClient } from '../protocol/client.js';
import { createProtocolService } from '../protocol/server.js';
import { RequestGuard } from '../protocol/request-guard.js';
import { checkSender } from '../protocol/sender-check.js';
import { PEER_TABLE_DEFAULTS } from '../peers/table.js';
import { OutboundGuard } from './outbound-guard.js';
import { hashReady } from '../hash/index.js';
import { silentLogger, systemClock, type Clock, type Logger, type Random } from '../runtime.js';
import type { ChunkStore, PutOutcome } from '../store/types.js';
import { VerifiedReader } from '../store/verified-read.js';
import { Backfiller, type MissingChunk } from '../sync/sources/backfill.js';
import { peerSource } from '../sync/sources/local-sources.js';
import { NameResolver, type NameEntry, type Resolution } from '../bns/names.js';
import type { Transport, TransportService } from '../transport/types.js';
import { TypedEmitter, type AtlasNodeEventMap, type AtlasNodeEvents, type ProgressEvent } from './events.js';
import { noMetrics, type Metrics } from './metrics.js';
import { DEFAULT_TIMERS, type AtlasNodeOptions, type NodeTimers } from './options.js';
import { NodeService } from './service.js';
import { Overlay } from './overlay.js';
import type { FetchOptions, FetchResult } from './fetch.js';
import { nodeFetcher } from './fetch-chunks.js';
import { SyncState } from './sync-state.js';
import { listenError, openNodeStore, stateError, type NodeState } from './lifecycle.js';
import { checkNodeOptions } from './option-checks.js';
import { RequestObserver } from './observe.js';
import { PeerEvents } from './peer-events.js';
import type { NodeStats } from './stats.js';
import { RateMeter } from './stats.js';

export type { NodeState } from './lifecycle.js';

/**
 * One Atlas peer: it follows the chain, admits and stores announced chunks, serves them, and
 * replicates from its neighbours. The protocol logic lives in protocol/, peers/ and sync/; this
 * class wires them together and owns the lifecycle: open -> starting -> running -> closing ->
 * closed (a failed start goes back to open).
 *
 * Events: a Node EventEmitter (see events.ts for names and payloads). A listener that throws is
 * the host's bug, but must not break replication: the node catches it, logs "event listener
 * threw" and reports it on 'error' (when something listens there), then goes on.
 */
export class AtlasNode extends TypedEmitter<AtlasNodeEventMap> {
  readonly network: string;
  readonly store: ChunkStore;
  readonly limits: Readonly<ProtocolLimits>;
  /** Every chunk that leaves the node is read through it: hash-checked, corrupt ones quarantined. */
  private readonly reader: VerifiedReader;
  private readonly chain: ChainAdapter;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly logger: Logger;
  private readonly metrics: Metrics;
  private readonly timers: NodeTimers;
  private readonly client: ProtocolClient;
  private readonly follower: ChainFollower;
  /** Replication policy: views, downloads, audits, pushes and offers, the change log. */
  private readonly replicator: Replicator;
  private readonly overlay: Overlay;
  private readonly rates: RateMeter;
  /** Never gives up on an announced chunk: asks the configured sources, then peers. */
  private readonly backfiller: Backfiller;
  private names: NameResolver | undefined;
  private readonly backfillSources: number;
  /** Sheds load with BUSY: per-host token buckets and concurrency bounds (protocol/request-guard). */
  private readonly guard: RequestGuard;
  /** Every outgoing call passes here: blocked peers and addresses the policy refuses are never dialled. */
  private readonly outbound: OutboundGuard;
  private readonly lifetime = new AbortController();
  private readonly peerEvents: PeerEvents;
  private readonly observer: RequestObserver;
  /** Have/total/missing, the 'synced' transition, and the waits on them (whenSynced, fetchChunks' wait). */
  private readonly sync: SyncState;
  private readonly fetcher: ReturnType<typeof nodeFetcher>;
  private roundTimer: unknown;
  private roundRunning: Promise<void> | undefined;
  #state: NodeState = 'open';

  private constructor(options: AtlasNodeOptions, store: ChunkStore) {
    super();
    // Every call in flight listens on the lifetime signal; the bound is the in-flight limits.
    setMaxListeners(0, this.lifetime.signal);
    this.network = options.network ?? 'mainnet';
    this.store = store;
    this.chain = options.chain;
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.metrics = options.metrics ?? noMetrics;
    this.timers = { ...DEFAULT_TIMERS, ...options.timers };
    this.limits = resolveLimits({ ...options.limits, maxChunkSize: store.maxChunkSize });
    this.sync = new SyncState(store, this.clock, this.lifetime.signal);
    const maxPeers = options.maxPeers ?? 1_000;
    const maxPending = options.maxPendingPeers ?? 800;
    this.peerEvents = new PeerEvents((event, payload) => this.emitSafe(event, payload), options.seeds ?? [], maxPeers + maxPending);
    this.observer = new RequestObserver(this.metrics, this.logger, this.clock);
    this.outbound = new OutboundGuard(this.transport, {
      clock: this.clock,
      policy: options.addressPolicy ?? {},
      seeds: options.seeds ?? [],
      onCall: (outcome) => {
        this.observer.sent(outcome);
        if (outcome.error === undefined) this.peerEvents.answered(outcome.peer);
      },
    });
    this.client = new ProtocolClient(this.outbound, { limits: this.limits });
    this.rates = new RateMeter(this.clock);
    this.guard = new RequestGuard(this.clock, options.requests);
    const self = () => this.transport.address;
    this.reader = new VerifiedReader(store, {
      corrupt: (chunk) => this.replicator.quarantined(chunk),
      discardFailed: (address, error) => this.logger.error('a corrupt chunk could not be removed from the store', { address, error: String(error) }),
    });

    this.follower = new ChainFollower(store, this.chain, {
      onAppend: (from, count) => {
        this.replicator.appended(from, count);
        this.backfiller.sequenceChanged();
      },
      onRollback: (length) => this.replicator.rolledBack(length),
      onError: (error) => this.fail(error),
    });
    this.overlay = new Overlay({
      client: this.client,
      network: this.network,
      store,
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      timers: this.timers,
      neighbors: options.neighbors ?? 8,
      seeds: options.seeds ?? [],
      self,
      signal: this.lifetime.signal,
      table: {
        maxPeers,
        maxPending,
        addressPolicy: options.addressPolicy ?? {},
        refusalMs: this.timers.refusalMs,
        limits: options.peerTable ?? {},
      },
      events: {
        peerAdded: (peer) => {
          this.replicator.peerAdmitted(peer);
          this.logger.debug('peer admitted', { peer });
          this.peerEvents.added(peer);
        },
        peerRemoved: (peer, reason) => {
          const table = { ...PEER_TABLE_DEFAULTS, ...options.peerTable };
          this.outbound.removed(peer, reason, table.blockMs, table.healthWindowMs);
          this.logger.debug('peer removed', { peer, reason });
          this.peerEvents.removed(peer, reason);
        },
        neighborAdded: (peer) => this.replicator.neighborAdded(peer),
        neighborRemoved: (peer) => this.replicator.neighborRemoved(peer),
      },
    });
    this.replicator = new Replicator({
      store,
      client: this.client,
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      self,
      peers: {
        recordCall: (peer, ok) => this.overlay.recordCall(peer, ok),
        health: (peer) => this.overlay.health(peer),
        dropStaller: (peer) => this.overlay.dropStaller(peer),
        penalise: (peer, code) => {
          this.outbound.offended(peer);
          this.overlay.penalise(peer, code);
        },
        isKnownPeer: (peer) => this.overlay.isKnownPeer(peer),
        contact: (peer) => this.overlay.contact(peer),
        isSeed: (peer) => this.overlay.isSeed(peer),
      },
      events: {
        stored: (outcomes, from) => this.onStored(outcomes, from),
        sequenceChanged: (length) => {
          this.metrics.gauge('sequence_length', length);
          this.emitProgress();
        },
        quarantined: (chunk) => {
          this.emitSafe('chunk:corrupt', { address: chunk.address, positions: chunk.positions });
          this.emitProgress();
        },
        inventoryRead: (bytes) => this.metrics.count('inventory_bytes_received_total', bytes),
        failed: (error) => this.fail(error),
      },
    }, { neighbors: options.neighbors ?? 8, inventoryRefreshMs: this.timers.inventoryRefreshMs, downloads: options.downloads, audit: options.audit, push: options.push });
    this.backfillSources = options.sources?.length ?? 0;
    this.backfiller = new Backfiller({
      store,
      // The configured sources first (a local observer answers at once); peers, which the
      // downloader already asks continuously, last.
      sources: [...(options.sources ?? []), peerSource((addresses, opts) => this.fetchChunks(addresses, opts))],
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      onStored: (outcomes, source) => this.replicator.stored(outcomes, source, 'offer'),
      ...(options.backfill ? { options: options.backfill } : {}),
    });
    this.fetcher = nodeFetcher({
      store,
      readLocal: (addresses) => this.reader.read(addresses).chunks,
      clock: this.clock,
      changes: this.sync.changes,
      lifetime: this.lifetime.signal,
      client: this.client,
      limits: this.limits,
      views: this.replicator.views,
      knownPeers: () => this.overlay.knownPeers(),
      canFetch: () => this.#state === 'running',
      onStored: (outcomes, peer) => this.replicator.stored(outcomes, peer, 'offer'),
      onFault: (peer, error) => this.replicator.peerFault(peer, 'bad-data', error),
      onCall: (peer, ok) => this.overlay.recordCall(peer, ok),
    });
  }

  /**
   * Opens the store and catches up with the chain; the node serves nothing until start().
   * Wrong options throw INVALID_OPTION (the error's `option` names which); a data directory that
   * cannot be created or written throws STORE_PERMISSION, one that is not a store STORE_CORRUPT.
   */
  static async open(options: AtlasNodeOptions): Promise<AtlasNode> {
    checkNodeOptions(options);
    await hashReady();
    const store = await openNodeStore(options);
    let node: AtlasNode;
    try {
      node = new AtlasNode(options, store);
      await node.follower.start();
    } catch (error) {
      await store.close();
      throw error;
    }
    return node;
  }

  get state(): NodeState {
    return this.#state;
  }

  /** The inventory change log peers read our changes from (its epoch changes on rollback). */
  get log(): InventoryLog {
    return this.replicator.log;
  }

  /** The address peers reach this node at, once started. */
  get address(): string | undefined {
    return this.transport.address;
  }

  /**
   * Listens, then runs replication in the background until close(). Throws ALREADY_STARTED when
   * starting or running, CLOSED after close(), ADDRESS_IN_USE when the port is taken; after a
   * failed start the node is 'open' again and start() may be retried.
   */
  async start(): Promise<void> {
    if (this.#state !== 'open') throw stateError(this.#state, 'start');
    this.#state = 'starting';
    const handle = this.guard.wrap(checkSender(createProtocolService(new NodeService(this.serviceHost()), { limits: this.limits, logger: this.logger })));
    const service: TransportService = {
      handle: this.observer.serve(handle),
      getChunk: (address) => this.reader.readOne(address),
      status: () => this.stats(),
      ...(this.metrics.expose ? { metrics: () => (this.metrics.expose as () => Promise<string>)() } : {}),
    };
    try {
      await this.transport.listen(service);
    } catch (error) {
      if (this.#state === 'starting') this.#state = 'open';
      throw listenError(error, this.transport.address);
    }
    if (this.#state !== 'starting') return; // closed meanwhile
    this.#state = 'running';
    this.replicator.start();
    this.overlay.start();
    // Without other sources the downloader alone retries peers (with its own capped back-off).
    if (this.backfillSources > 0) this.backfiller.start();
    this.logger.info('node started', { address: this.address, network: this.network, sequence: this.store.sequenceLength() });
    this.scheduleRound(0);
  }

  /** Stores chunks put by a client (SPEC §2), then pushes them to neighbours. */
  async putChunks(chunks: readonly Uint8Array[]): Promise<boolean[]> {
    return (await this.putChunksDetailed(chunks)).map((outcome) => outcome.ok);
  }

  /** Like putChunks, with the reason for every refusal (an AtlasError with a stable code). */
  async putChunksDetailed(chunks: readonly Uint8Array[]): Promise<PutOutcome[]> {
    this.assertUsable('putChunks');
    const outcomes = await this.store.putMany(chunks);
    const added = outcomes.filter((o): o is PutOutcome & { ok: true } => o.ok && o.added);
    if (added.length > 0) {
      this.replicator.stored(added, 'local', 'push');
    }
    return outcomes;
  }

  /** Chunks held locally; addresses not held are absent from the map. */
  async getChunks(addresses: readonly string[]): Promise<Map<Address, Uint8Array>> {
    this.assertUsable('getChunks');
    const found = new Map<Address, Uint8Array>();
    for (const { address, data } of this.reader.read(addresses.map((input) => parseAddress(input))).chunks) found.set(address, data);
    return found;
  }

  /**
   * Chunks held locally, else fetched from peers (verified and stored); with `wait`, also those
   * that arrive later. The result is a Map of the chunks obtained whose `missing` and `refused`
   * account for every other address asked (fetch.ts). Rejects with ABORTED when `signal` aborts,
   * CLOSED when the node closes meanwhile.
   */
  async fetchChunks(addresses: readonly string[], options: FetchOptions = {}): Promise<FetchResult> {
    this.assertUsable('fetchChunks');
    return this.fetcher(addresses, options);
  }

  /** Have and total announced positions, and how many are missing. */
  progress(): ProgressEvent {
    return this.sync.progress();
  }

  /**
   * Resolves once every announced chunk is held (at once when it already is). Rejects with
   * ABORTED when `signal` aborts, CLOSED when the node closes first.
   */
  async whenSynced(options: { signal?: AbortSignal } = {}): Promise<ProgressEvent> {
    this.assertUsable('whenSynced');
    return this.sync.whenSynced(options);
  }

  /** Announced chunks not held, oldest first, with their age and last attempt (sync/sources). */
  missing(): MissingChunk[] {
    return this.backfiller.missing();
  }

  /** A BNS name's current zone file, owner and status (bns/names.ts). */
  resolve(name: string, options: { signal?: AbortSignal } = {}): Promise<Resolution> {
    return this.nameResolver().resolve(name, options);
  }

  /** Every change of a BNS name, oldest first. */
  history(name: string, options: { signal?: AbortSignal } = {}): Promise<NameEntry[]> {
    return this.nameResolver().history(name, options);
  }

  /** The bytes of a held chunk (e.g. a zone file), or undefined. */
  zonefile(hash: string): Uint8Array | undefined {
    const address = hash.toLowerCase();
    return isAddress(address) ? this.reader.readOne(address) : undefined;
  }

  private nameResolver(): NameResolver {
    this.assertUsable('resolve names');
    this.names ??= new NameResolver({ chain: this.chain, chunk: (address) => this.reader.readOne(address) });
    return this.names;
  }

  /** The inventory bytes [offset, offset + length) of SPEC §4, clamped. */
  inventory(offset = 0, length?: number): Uint8Array {
    return this.store.inventory.toBytes(offset, length ?? Math.max(0, this.store.inventory.byteLength() - offset));
  }

  stats(): NodeStats {
    const inventory = this.store.inventory;
    return {
      state: this.#state,
      address: this.address,
      network: this.network,
      sequenceLength: this.store.sequenceLength(),
      chunks: this.store.chunkCount(),
      chunkBytes: this.store.chunkBytes(),
      have: inventory.count,
      total: inventory.length,
      peers: this.overlay.peerCount(),
      pendingPeers: this.overlay.pendingCount(),
      neighbors: this.overlay.neighbors(),
      ...this.replicator.stats(),
      chunksPerSecond: this.rates.rate(),
    };
  }

  /** Stops everything; leaves no timer, socket or open transaction behind. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    this.lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed'));
    this.sync.changes.notify();
    if (this.roundTimer !== undefined) this.clock.clearTimeout(this.roundTimer);
    this.replicator.stop();
    this.backfiller.stop();
    this.names?.close();
    await this.roundRunning?.catch(() => undefined); // before overlay.stop: a round re-adds neighbours
    this.overlay.stop();
    await this.follower.stop();
    await this.transport.close(); // the chain adapter is the host's: we only unsubscribed from it
    await this.store.close();
    this.#state = 'closed';
  }

  // --- internals -----------------------------------------------------------------------------

  private serviceHost() {
    return {
      network: this.network,
      store: this.store,
      reader: this.reader,
      log: this.replicator.log,
      limits: this.limits,
      candidate: (address: string) => this.overlay.candidate(address),
      puller: (address: string, relay: boolean) => this.replicator.pulled(address, relay),
      livePeers: (max: number, exclude: string | undefined) => this.overlay.livePeers(max, exclude),
      stored: (outcomes: readonly (PutOutcome & { ok: true })[], pushedBy: string | undefined, remote: string) => this.replicator.received(outcomes, pushedBy, remote),
      offered: (address: string, positions: Uint32Array) => this.replicator.offered(address, positions),
    };
  }

  private scheduleRound(delayMs: number): void {
    if (this.#state !== 'running') return;
    this.roundTimer = this.clock.setTimeout(() => {
      this.roundTimer = undefined;
      this.roundRunning = this.round().finally(() => {
        this.roundRunning = undefined;
        this.scheduleRound(this.timers.roundMs);
      });
    }, delayMs);
  }

  private async round(): Promise<void> {
    try {
      await this.overlay.round();
      this.replicator.tick();
      this.metrics.gauge('peers', this.overlay.peerCount());
      this.metrics.gauge('neighbors', this.overlay.neighbors().length);
      this.observer.sampleWire(this.transport);
    } catch (error) {
      if (this.#state === 'running') this.fail(error);
    }
  }

  /** Chunks newly stored (already logged and relayed): events, rate and metrics. */
  private onStored(outcomes: readonly (PutOutcome & { ok: true })[], from: string): void {
    if (this.listenerCount('chunk') > 0) {
      for (const { address, positions } of outcomes) this.emitSafe('chunk', { address, positions, from });
    }
    this.rates.add(outcomes.length);
    this.metrics.count('chunks_stored_total', outcomes.length);
    this.emitProgress();
  }

  private emitProgress(): void {
    const { progress, caughtUp } = this.sync.changed();
    this.metrics.gauge('chunks_held', progress.have);
    this.emitSafe('progress', progress);
    if (caughtUp) this.emitSafe('synced', progress);
  }

  /** No event is emitted once close() has begun: listeners never see a closing node's store. */
  private emitSafe<E extends keyof AtlasNodeEvents>(event: E, payload: AtlasNodeEvents[E]): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    try {
      (this.emit as (event: string, payload: unknown) => boolean)(event, payload);
    } catch (error) {
      // A throwing listener must not break replication: logged, then reported on 'error'.
      this.logger.error('event listener threw', { event, error: String(error) });
      if (event !== 'error' && this.listenerCount('error') > 0) this.emitSafe('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.logger.error('node error', { error: err.message });
    if (this.listenerCount('error') > 0) this.emitSafe('error', err);
  }

  private assertUsable(action: string): void {
    if (this.#state === 'closing' || this.#state === 'closed') throw new AtlasError(ErrorCodes.CLOSED, `cannot ${action}: node is ${this.#state}`);
  }
}
