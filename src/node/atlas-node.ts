/**
 * AtlasNode: opens the store, runs the lifecycle (open -> starting -> running -> closing ->
 * closed), serves the public API and forwards events. Its parts are built and connected in
 * wiring.ts; the replication policy lives in sync/replicator.ts (README "Embedding", "Design").
 */
import { isAddress, parseAddress, type Address } from '../address.js';
import { AtlasError, ErrorCodes, InvalidOptionError, abortedError, isAtlasError } from '../errors.js';
import type { ReadonlyInventoryLog } from '../inventory/change-log.js';
import type { ProtocolLimits } from '../protocol/limits.js';
import { hashReady } from '../hash/index.js';
import type { ChunkStore, PutOutcome } from '../store/types.js';
import { readonlyStore, type ReadonlyChunkStore } from '../store/readonly-store.js';
import type { MissingChunk } from '../sync/sources/backfill-types.js';
import { NameResolver, type NameEntry, type ResolveOptions, type Resolution } from '../bns/names.js';
import { TypedEmitter, type AtlasNodeEventMap, type AtlasNodeEvents, type ProgressEvent } from './events.js';
import type { AtlasNodeOptions } from './options.js';
import type { FetchOptions, FetchResult } from '../sync/fetch.js';
import { listenError } from '../listen-error.js';
import { claimStore, claimTransport, notRunningError, openNodeStore, releaseStore, releaseTransport, stateError, type NodeState } from './lifecycle.js';
import { resolveNodeOptions, type ResolvedNodeOptions } from './resolve-options.js';
import type { NodeStats } from './stats.js';
import { wireNode, type NodeParts } from './wiring.js';
import { addressList, callOptions } from './arguments.js';
export type { LiveNodeState, NodeState } from './lifecycle.js';

/**
 * One Atlas peer: it follows the chain, admits, stores and serves announced chunks, and replicates
 * from its neighbours; a failed start goes back to 'open'. Events: see events.ts. A listener that
 * throws is the host's bug but must not break replication: the node logs "event listener threw",
 * reports it on 'error' (when something listens there), then goes on.
 */
export class AtlasNode extends TypedEmitter<AtlasNodeEventMap> {
  readonly network: string;
  /** What the node holds, read-only: write through `putChunks`, or pass a store of your own as the `store` option. */
  readonly store: ReadonlyChunkStore;
  readonly #ownStore: ChunkStore;
  readonly limits: Readonly<ProtocolLimits>;
  private readonly parts: NodeParts;
  readonly #closeStore: boolean;
  private names: NameResolver | undefined;
  readonly #nameLimits: ResolvedNodeOptions['names'];
  private roundTimer: unknown;
  private roundRunning: Promise<void> | undefined;
  #state: NodeState = 'open';
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedNodeOptions, store: ChunkStore) {
    super();
    this.#ownStore = store;
    this.store = readonlyStore(store);
    this.#closeStore = options.closeStore;
    this.#nameLimits = options.names;
    this.parts = wireNode(options, store, {
      emit: (event, payload) => this.emitSafe(event, payload),
      listens: (event) => this.listenerCount(event) > 0,
      fail: (error) => this.fail(error),
      running: () => this.#state === 'running',
      fetchChunks: (addresses, opts) => this.fetchChunks(addresses, opts),
    });
    this.network = this.parts.network;
    this.limits = this.parts.limits;
  }

  /**
   * Opens the store and catches up with the chain; the node serves nothing until start().
   * Wrong options throw INVALID_OPTION (the error's `option` names which); a data directory that
   * cannot be created or written throws STORE_PERMISSION, one that is not a store STORE_CORRUPT.
   * `signal` aborts the chain catch-up (ABORTED); it has no say once open has resolved. A failed
   * open closes the store it opened (a given store is closed only with `closeStore: true`). A
   * store given as `store` serves one node at a time: BUSY (`details.option` 'store') while another
   * node has it open, checked before the transport is taken; it is free again once that node has
   * closed (or its open failed).
   */
  static async open(options: AtlasNodeOptions, init?: { signal?: AbortSignal }): Promise<AtlasNode> {
    const resolved = resolveNodeOptions(options);
    // Checked before the transport is claimed: a bad argument leaves nothing taken.
    const { signal } = callOptions('open', init, ['signal']);
    if (signal?.aborted) throw abortedError('open', signal);
    const given = resolved.storage.kind === 'given' ? resolved.storage.store : undefined;
    if (given !== undefined) claimStore(given); // before the transport: a store in use leaves the transport free
    const release = (): void => {
      releaseTransport(resolved.transport);
      if (given !== undefined) releaseStore(given);
    };
    try {
      claimTransport(resolved.transport);
    } catch (error) {
      if (given !== undefined) releaseStore(given);
      throw error;
    }
    let store: ChunkStore;
    try {
      await hashReady();
      store = await openNodeStore(resolved.storage, resolved.maxChunkSize);
    } catch (error) {
      release();
      throw error;
    }
    // The follower keeps the signal it starts with for its whole run: it gets one of the open's own.
    const catchUp = new AbortController();
    const onAbort = (): void => catchUp.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw abortedError('open', signal);
      const node = new AtlasNode(resolved, store);
      await node.parts.follower.start({ signal: catchUp.signal });
      return node;
    } catch (error) {
      release();
      // A store the node opened has no other owner: an open that fails closes it, whatever closeStore says.
      if (resolved.closeStore || resolved.storage.kind !== 'given') await store.close().catch(() => undefined);
      throw signal?.aborted ? abortedError('open', signal) : error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  get state(): NodeState {
    return this.#state;
  }

  /**
   * The inventory change log peers read our changes from (its epoch changes on rollback); reads
   * only. Throws CLOSED from the moment close() begins, as stats() does: a closed node has no log
   * peers read.
   */
  get log(): ReadonlyInventoryLog {
    this.assertUsable('read the change log');
    return this.parts.replicator.log;
  }

  /**
   * The address peers reach this node at (its transport's, once started); undefined from the
   * moment close() begins: a closing node is no longer reached there.
   */
  get address(): string | undefined {
    return this.closingOrClosed() ? undefined : this.parts.transport.address;
  }

  /**
   * Listens, then runs replication in the background until close(). Throws ALREADY_STARTED when
   * starting or running, CLOSED after close(), ADDRESS_IN_USE when the port is taken; after a
   * failed start the node is 'open' again and start() may be retried. `signal` gives up on a
   * listen that has not finished (a host name waits on DNS) with ABORTED, the node 'open' again;
   * a transport that does not take the signal (Transport.listen) finishes its listen first.
   */
  async start(options?: { signal?: AbortSignal }): Promise<void> {
    const { signal } = callOptions('start', options, ['signal']);
    if (this.#state !== 'open') throw stateError(this.#state, 'start');
    if (signal?.aborted) throw abortedError('start', signal);
    this.#state = 'starting';
    try {
      await this.parts.transport.listen(this.parts.service(() => this.stats()), { signal });
    } catch (error) {
      if (this.#state === 'starting') this.#state = 'open';
      if (signal?.aborted && isAtlasError(error) && error.code === ErrorCodes.ABORTED) throw abortedError('start', signal);
      throw listenError(error, this.parts.transport.address);
    }
    if (this.#state !== 'starting') throw stateError(this.#state, 'start'); // closed meanwhile
    this.#state = 'running';
    this.parts.replicator.start();
    this.parts.overlay.start();
    // Without other sources the downloader alone retries peers (with its own capped back-off).
    if (this.parts.backfillSources > 0) this.parts.backfiller.start();
    this.parts.logger.info('node started', { address: this.address, network: this.network, sequence: this.#ownStore.sequenceLength() });
    this.scheduleRound(0);
  }

  /**
   * Stores chunks put by a client (SPEC §2), then pushes them to neighbours. `signal`, aborted
   * before the write begins, stores nothing (ABORTED); a write under way is not given up: what it
   * acknowledges is durable, and the call resolves with it.
   */
  async putChunks(chunks: readonly Uint8Array[], options?: { signal?: AbortSignal }): Promise<boolean[]> {
    return (await this.putChunksDetailed(chunks, options)).map((outcome) => outcome.ok);
  }

  /** Like putChunks, with the reason for every refusal (an AtlasError with a stable code). */
  async putChunksDetailed(chunks: readonly Uint8Array[], options?: { signal?: AbortSignal }): Promise<PutOutcome[]> {
    this.assertUsable('putChunks');
    const { signal } = callOptions('putChunks', options, ['signal']);
    if (signal?.aborted) throw abortedError('putChunks', signal);
    const outcomes = await this.#ownStore.putMany(chunks);
    // Stored, and so acknowledged, even when the node began closing meanwhile: only the push is left out.
    if (this.#state === 'closing' || this.#state === 'closed') return outcomes;
    const added = outcomes.filter((o): o is PutOutcome & { ok: true } => o.ok && o.added);
    if (added.length > 0) this.parts.replicator.received(added, undefined, 'local'); // our caller's: pushed
    return outcomes;
  }

  /**
   * Chunks held locally, keyed by address (lower-case hex, whatever case was asked); addresses not
   * held are absent from the map. BAD_ADDRESS for an input that is not an address.
   */
  async getChunks(addresses: readonly string[]): Promise<Map<Address, Uint8Array>> {
    this.assertUsable('getChunks');
    const asked = addressList('getChunks', addresses).map((input) => parseAddress(input));
    const found = new Map<Address, Uint8Array>();
    for (const { address, data } of this.parts.reader.read(asked).chunks) found.set(address, data);
    return found;
  }

  /**
   * Chunks held locally, else fetched from peers (verified and stored); with `wait`, also those
   * that arrive later. The result is a Map of the chunks obtained whose `missing` and `refused`
   * account for every other address asked (fetch.ts). Rejects with NOT_STARTED until start() has
   * resolved (getChunks reads what is held without peers), ABORTED when `signal` aborts, CLOSED
   * once close() has begun or when the node closes meanwhile.
   */
  async fetchChunks(addresses: readonly string[], options?: FetchOptions): Promise<FetchResult> {
    this.assertRunning('fetchChunks');
    return this.parts.fetcher(addressList('fetchChunks', addresses) as readonly string[], callOptions('fetchChunks', options, ['signal', 'wait']));
  }

  /** Have and total announced positions, and how many are missing. Throws CLOSED from the moment close() begins, as stats() does. */
  progress(): ProgressEvent {
    this.assertUsable('read progress');
    return this.parts.sync.progress();
  }

  /**
   * Resolves once every announced chunk is held (at once when it already is). Rejects with
   * NOT_STARTED until start() has resolved (a node not started fetches nothing, so it would wait
   * for ever), ABORTED when `signal` aborts, CLOSED once close() has begun or when the node
   * closes first.
   */
  async whenSynced(options?: { signal?: AbortSignal }): Promise<ProgressEvent> {
    this.assertRunning('whenSynced');
    return this.parts.sync.whenSynced(callOptions('whenSynced', options, ['signal']));
  }

  /** Announced chunks not held, oldest first, at most `limit`, with their age and last attempt (sync/sources). */
  missing(limit = Infinity): MissingChunk[] {
    this.assertUsable('missing');
    return this.parts.backfiller.missing(limit === Infinity ? limit : countArgument('missing: limit', limit));
  }

  /** How many announced chunks are not held (as `missing()` would list them without a limit). */
  get missingCount(): number {
    this.assertUsable('missingCount');
    return this.parts.backfiller.missingCount;
  }

  /** A BNS name's current zone file, owner and status (bns/names.ts). */
  async resolve(name: string, options?: ResolveOptions): Promise<Resolution> {
    const checked = callOptions('resolve', options, ['signal', 'host']);
    if (checked.host !== undefined && typeof checked.host !== 'string') throw new InvalidOptionError('host', 'resolve: expected the asking host as a string');
    return await this.nameResolver().resolve(name, checked);
  }

  /** Every change of a BNS name, oldest first. */
  async history(name: string, options?: { signal?: AbortSignal }): Promise<NameEntry[]> {
    return await this.nameResolver().history(name, callOptions('history', options, ['signal']));
  }

  /** The bytes of a held chunk (e.g. a zone file), or undefined. */
  zonefile(hash: string): Uint8Array | undefined {
    this.assertUsable('zonefile');
    const address = typeof hash === 'string' ? hash.toLowerCase() : undefined;
    return isAddress(address) ? this.parts.reader.readOne(address) : undefined;
  }

  private nameResolver(): NameResolver {
    this.assertUsable('resolve names');
    this.names ??= new NameResolver({ chain: this.parts.chain, chunk: (address) => this.parts.reader.readOne(address) }, { subdomains: this.#nameLimits, clock: this.parts.clock });
    return this.names;
  }

  /** The inventory bytes [offset, offset + length) of SPEC §4, clamped. */
  inventory(offset = 0, length?: number): Uint8Array {
    this.assertUsable('inventory');
    countArgument('inventory: offset', offset);
    return this.#ownStore.inventory.toBytes(offset, length === undefined || length === Infinity ? undefined : countArgument('inventory: length', length));
  }

  stats(): NodeStats {
    const state = this.#state;
    if (state === 'closing' || state === 'closed') throw stateError(state, 'read stats');
    return this.parts.stats(state);
  }

  /**
   * Stops everything; leaves no timer, socket or open transaction behind. Every call answers the
   * same promise, which settles once all is released: each step runs even when one before it
   * failed, the store is closed last whatever happened, and the first step's error (if any) is
   * the rejection. The node is 'closed' either way.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    const failures: unknown[] = [];
    const step = async (run: () => unknown): Promise<void> => {
      try {
        await run();
      } catch (error) {
        failures.push(error);
      }
    };
    await step(() => {
      this.parts.lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed'));
      this.parts.sync.changes.notify();
      if (this.roundTimer !== undefined) this.parts.clock.clearTimeout(this.roundTimer);
    });
    await step(() => this.parts.replicator.stop());
    await step(() => this.parts.backfiller.stop());
    await step(() => this.names?.close());
    await step(() => this.roundRunning?.catch(() => undefined)); // before overlay.stop: a round re-adds neighbours
    await step(() => this.parts.overlay.stop());
    await step(() => this.parts.follower.stop());
    await step(() => this.parts.transport.close()); // the chain adapter is the host's: we only unsubscribed from it
    if (this.#closeStore) await step(() => this.#ownStore.close());
    releaseStore(this.#ownStore); // a given store may go to another node now (a no-op for one the node opened)
    this.#state = 'closed';
    if (failures.length > 0) {
      for (const failure of failures.slice(1)) this.parts.logger.error('close: a further step failed', { error: String(failure) });
      throw failures[0];
    }
  }

  /**
   * Every roundMs: the replicator's tick, and the overlay's round unless the last one is still
   * running. The overlay's round waits on peers (admission pings, walk steps); the tick does not
   * wait for it, so peers slow to answer there cannot slow refreshes, audits and downloads.
   */
  private scheduleRound(delayMs: number): void {
    if (this.#state !== 'running') return;
    this.roundTimer = this.parts.clock.setTimeout(() => {
      this.roundTimer = undefined;
      this.roundRunning ??= this.parts.overlayRound().then(
        () => {
          this.roundRunning = undefined;
        },
        (error: unknown) => {
          this.roundRunning = undefined;
          if (this.#state === 'running') this.fail(error);
        },
      );
      try {
        this.parts.tick();
      } catch (error) {
        this.fail(error);
      }
      this.scheduleRound(this.parts.timers.roundMs);
    }, delayMs);
  }

  /**
   * No event is emitted once close() has begun: listeners never see a closing node's store. Each
   * listener is called on its own, so one that throws does not keep the event from the others
   * (emit() stops at the first that throws), and an async one's rejection is its throw: left to
   * itself it was an unhandled rejection, which ends the process.
   */
  private emitSafe<E extends keyof AtlasNodeEvents>(event: E, payload: AtlasNodeEvents[E]): void {
    for (const listener of this.rawListeners(event) as ((payload: unknown) => unknown)[]) {
      if (this.closingOrClosed()) return; // a listener before this one may have closed the node
      try {
        const returned = listener.call(this, payload);
        if (isThenable(returned)) returned.then(undefined, (error: unknown) => this.listenerThrew(event, error));
      } catch (error) {
        this.listenerThrew(event, error);
      }
    }
  }

  /** A throwing listener must not break replication: logged, then reported on 'error'. */
  private listenerThrew(event: keyof AtlasNodeEvents, error: unknown): void {
    this.parts.logger.error('event listener threw', { event, error: String(error) });
    if (event !== 'error' && this.listenerCount('error') > 0) this.emitSafe('error', error instanceof Error ? error : new Error(String(error)));
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.parts.logger.error('node error', { error: err.message });
    if (this.listenerCount('error') > 0) this.emitSafe('error', err);
  }

  private closingOrClosed(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  private assertUsable(action: string): void {
    if (this.closingOrClosed()) throw stateError(this.#state, action);
  }

  /** For what asks peers or waits on them: CLOSED once close() has begun, NOT_STARTED until start() has resolved. */
  private assertRunning(action: string): void {
    const error = notRunningError(this.#state, action);
    if (error !== undefined) throw error;
  }
}

/** A count or offset a caller passes: BAD_REQUEST unless a whole number >= 0. */
function countArgument(what: string, value: unknown): number {
  if (!(Number.isSafeInteger(value) && (value as number) >= 0)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `${what} must be a whole number >= 0, got ${String(value).slice(0, 40)}`);
  return value as number;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
