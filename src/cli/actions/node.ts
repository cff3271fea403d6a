/** What `atlas node` does once its options are read: open the node, log what happens, close it on a signal. */
import { closeSync, mkdirSync, openSync, readdirSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DevChain } from '../../chain/dev.js';
import type { StacksObserverChain } from '../../chain/stacks/observer-chain.js';
import { legacyRoutes } from '../../legacy/index.js';
import { AtlasNode } from '../../node/atlas-node.js';
import type { Metrics } from '../../node/metrics.js';
import { prometheusMetrics } from '../../node/metrics-prometheus.js';
import type { ChunkStorage } from '../../store/lmdb.js';
import { acquireStoreLock, STORE_LOCK_FILE, STORE_LOCK_TEMP } from '../../store/lock.js';
import { systemClock } from '../../runtime.js';
import type { ChunkSource } from '../../sync/sources/types.js';
import { splitHostPort, HttpTransport } from '../../transport/http.js';
import { isLocalHost } from '../args.js';
import { usageError } from '../errors.js';
import { followFile, openDevChain } from '../chain.js';
import { createLogger, type CliLogLevel } from '../logger.js';
import { throttledLog } from '../progress-log.js';
import { untilSignal, type StopSignal } from '../signals.js';
import { checkStacksOptions, chunkSources, nodeRoutes, openObserver, type StacksCliOptions } from '../stacks.js';

/** `atlas node`'s options, as commands/node.ts reads them. */
export interface NodeCommandOptions extends StacksCliOptions {
  dataDir: string;
  listen: string;
  advertise?: string;
  seed?: string[];
  network: string;
  chain?: string;
  neighbors?: number;
  allowLocal?: boolean;
  metrics?: boolean;
  legacy?: boolean;
  /** Seconds between reads of the chain file (default 1); undefined: not given. */
  chainPoll?: number;
  refresh?: number;
  logLevel: CliLogLevel;
  json?: boolean;
  chunkStorage?: ChunkStorage;
  sequenceCacheMb?: number;
  chunkCacheMb?: number;
}

/** How often progress is logged at most while chunks arrive. */
const PROGRESS_LOG_MS = 5_000;
/** Seconds between reads of the chain file when --chain-poll is not given. */
const DEFAULT_CHAIN_POLL_SECONDS = 1;

/**
 * Runs `atlas node` until a stop signal. Bad usage throws a CliError with exit code 2 before
 * anything is created; a start that fails (a store refused, a port in use) removes what it
 * created itself, and only that (StartFootprint), before its error is thrown.
 */
export async function runNode(options: NodeCommandOptions): Promise<void> {
  // An unset variable (`-d "$DIR"`) must not put a store in the current folder.
  if (options.dataDir.trim() === '') throw usageError(`option '-d, --data-dir <dir>' is empty (an unset variable?): name the node's folder, e.g. ./atlas-data`);
  if (options.chain?.trim() === '') throw usageError(`option '-c, --chain <file>' is empty (an unset variable?): name the DevChain file, or leave the option out for <data-dir>/chain.jsonl`);
  const flagSources = checkStacksOptions(options, options.listen);
  const logger = createLogger({ level: options.logLevel, format: options.json ? 'json' : 'pretty' });
  const dataDir = resolve(options.dataDir);
  if (statSync(dataDir, { throwIfNoEntry: false })?.isDirectory() === false) throw usageError(`--data-dir ${dataDir} is a file, not a folder`);
  const chainPath = resolve(options.chain ?? join(dataDir, 'chain.jsonl'));
  const allowLocal = options.allowLocal ?? isLocalHost(splitHostPort(options.listen).host);
  // Waiting for a signal from before anything is opened: a signal during the start lets what is
  // being opened finish opening, then closes it (within STOP_GRACE_MS), instead of exiting with
  // the store open and its lock left behind.
  const stopping = untilSignal();
  try {
    await runUntilStopped(options, flagSources, logger, dataDir, chainPath, allowLocal, stopping.promise);
  } finally {
    stopping.dispose();
  }
}

async function runUntilStopped(
  options: NodeCommandOptions,
  flagSources: readonly ChunkSource[],
  logger: ReturnType<typeof createLogger>,
  dataDir: string,
  chainPath: string,
  allowLocal: boolean,
  stopped: Promise<StopSignal>,
): Promise<void> {
  const metrics: Metrics | undefined = options.metrics ? await prometheusMetrics({ defaultMetrics: true }) : undefined;
  const footprint = new StartFootprint(dataDir, options.stacksObserver === undefined ? chainPath : undefined);
  let started: Started;
  try {
    started = await openAndStart({ options, flagSources, logger, dataDir, chainPath, allowLocal, metrics, footprint });
  } catch (error) {
    footprint.undo();
    throw error;
  }
  const { node, chain, observer, progressLog } = started;
  const stats = node.stats();
  const { chunkStorage } = node.store;
  // The layout is fixed when a store is created: a flag asking another of an existing one would otherwise go unheard.
  if (options.chunkStorage !== undefined && chunkStorage !== undefined && chunkStorage !== options.chunkStorage) {
    logger.warn('--chunk-storage applies to a new store only: this one keeps its layout', { asked: options.chunkStorage, chunkStorage, store: join(dataDir, 'store') });
  }
  logger.info('listening', {
    address: node.address,
    network: options.network,
    store: join(dataDir, 'store'),
    ...(chunkStorage !== undefined ? { chunkStorage } : {}),
    chain: observer ? `stacks observer ${observer.address}` : chainPath,
    have: stats.have,
    total: stats.total,
    ...(metrics ? { metrics: `http://${node.address}/metrics` } : {}),
  });

  // Zone files the store now holds need not stay in the observer's attachments log as well.
  const releaseAttachments = () => {
    try {
      observer?.releaseAttachments((address) => node.store.has(address));
    } catch (error) {
      logger.warn('cannot compact the stacks observer attachments log', { error: (error as Error).message });
    }
  };
  if (observer) {
    releaseAttachments();
    node.on('synced', releaseAttachments);
  }

  const stopFollowing = chain instanceof DevChain ? followFile(chain, (options.chainPoll ?? DEFAULT_CHAIN_POLL_SECONDS) * 1000, logger) : () => undefined;
  const signal = await stopped;
  logger.info('shutting down', { signal });
  stopFollowing();
  progressLog.flush();
  node.removeAllListeners();
  await node.close();
  await observer?.close();
  logger.info('stopped');
}

interface StartContext {
  options: NodeCommandOptions;
  flagSources: readonly ChunkSource[];
  logger: ReturnType<typeof createLogger>;
  dataDir: string;
  chainPath: string;
  allowLocal: boolean;
  metrics: Metrics | undefined;
  footprint: StartFootprint;
}

interface Started {
  node: AtlasNode;
  chain: DevChain | StacksObserverChain;
  observer: StacksObserverChain | undefined;
  progressLog: ReturnType<typeof throttledLog<ProgressFields>>;
}

type ProgressFields = { have: number; total: number; missing: number; rate: number };

/** Opens the chain and the node and starts it; a failure closes all it opened (the store included) before it is thrown. */
async function openAndStart(context: StartContext): Promise<Started> {
  const { options, dataDir, chainPath, logger, footprint } = context;
  const observer = await openObserver(options, dataDir, options.network, logger);
  footprint.observer = observer;
  const chain = observer ?? (await openDevChain(chainPath, logger));
  try {
    return { ...(await openNode(context, chain, observer)), chain, observer };
  } catch (error) {
    // The node closes the transport and the store it opened; the chain is ours to close.
    await chain.close().catch(() => undefined);
    throw error;
  }
}

/** Opens the node on `chain` and starts it; a failure closes the transport and the store before it is thrown. */
async function openNode(
  { options, flagSources, logger, dataDir, allowLocal, metrics }: StartContext,
  chain: DevChain | StacksObserverChain,
  observer: StacksObserverChain | undefined,
): Promise<Pick<Started, 'node' | 'progressLog'>> {
  let opened: AtlasNode | undefined;
  const transport = new HttpTransport({
    listen: options.listen,
    logger,
    routes: [...nodeRoutes(() => opened), ...legacyRoutes(options.legacy === true)],
    ...(options.advertise ? { advertise: options.advertise } : {}),
  });
  let node: AtlasNode;
  try {
    node = await AtlasNode.open({
      chain,
      transport,
      dataDir: join(dataDir, 'store'),
      ...(options.chunkStorage ? { chunkStorage: options.chunkStorage } : {}),
      ...(options.sequenceCacheMb !== undefined ? { sequenceCacheBytes: options.sequenceCacheMb * 1024 * 1024 } : {}),
      ...(options.chunkCacheMb !== undefined ? { chunkCacheBytes: options.chunkCacheMb * 1024 * 1024 } : {}),
      seeds: options.seed ?? [],
      network: options.network,
      logger,
      ...(options.neighbors !== undefined ? { neighbors: options.neighbors } : {}),
      ...(options.refresh !== undefined ? { timers: { inventoryRefreshMs: Math.round(options.refresh * 1000) } } : {}),
      ...(allowLocal ? { addressPolicy: { allowLoopback: true, allowPrivate: true } } : {}),
      ...(metrics ? { metrics } : {}),
      sources: chunkSources(flagSources, observer),
    });
    opened = node;
  } catch (error) {
    // A failed open has closed the store it opened (AtlasNode.open).
    await transport.close().catch(() => undefined);
    throw error;
  }

  const progressLog = throttledLog<ProgressFields>((fields) => logger.info('progress', fields), PROGRESS_LOG_MS, systemClock);
  node.on('error', (error) => logger.error('node error', { error: error.message }));
  node.on('peer:reach', ({ peer }) => logger.debug('peer reached', { peer }));
  node.on('peer:add', ({ peer }) => logger.info('peer added', { peer }));
  node.on('peer:remove', ({ peer, reason }) => logger.info('peer removed', { peer, reason }));
  node.on('chunk', ({ address, from }) => logger.debug('chunk stored', { address, from }));
  node.on('progress', ({ have, total, missing }) => progressLog.update({ have, total, missing, rate: Number(node.stats().chunksPerSecond.toFixed(1)) }));
  node.on('synced', ({ have }) => logger.info('synced', { have }));

  try {
    await node.start();
  } catch (error) {
    // node.close() closes the transport and the store (the node opened it).
    node.removeAllListeners();
    await node.close().catch(() => undefined);
    throw error;
  }
  return { node, progressLog };
}

/**
 * What a start creates on disk, recorded as it is created: mkdir and an exclusive create fail on
 * what is there, so nothing that existed before is ever counted (nor is what another process
 * created meanwhile). Made before the chain and the store are opened: the data folder and its
 * missing parents, its `store` folder, its `stacks` folder (with --stacks-observer), the chain
 * file (without) and its missing parents. A step that fails is left to the open that follows,
 * which reports it in its own words. undo() removes, once everything is closed, what still holds
 * only what this start put there.
 */
class StartFootprint {
  /** Folders created, the store's and the observer's aside. */
  readonly #dirs: string[] = [];
  readonly #storeDir: string | undefined;
  readonly #stacksDir: string | undefined;
  readonly #chainFile: { path: string; ino: number } | undefined;
  /** The observer, once open: what a stacks-node delivered to it is not ours to drop. */
  observer: StacksObserverChain | undefined;

  /** `chainPath`: the DevChain file, undefined with --stacks-observer (whose folder is made instead). */
  constructor(dataDir: string, chainPath: string | undefined) {
    this.#makeDirectories(dataDir);
    this.#storeDir = makeDirectory(join(dataDir, 'store'));
    if (chainPath === undefined) {
      this.#stacksDir = makeDirectory(join(dataDir, 'stacks'));
      return;
    }
    this.#makeDirectories(dirname(chainPath));
    try {
      closeSync(openSync(chainPath, 'wx'));
      this.#chainFile = { path: chainPath, ino: statSync(chainPath).ino };
    } catch {
      // there already (then not ours), or refused: DevChain.open says why
    }
  }

  /** Removes what the start created, after it closed all it opened; never throws (the start's error is what is reported). */
  undo(): void {
    const chainFile = this.#chainFile;
    // Still empty: nothing but this start touched it (`atlas announce` may have written to it meanwhile).
    if (chainFile !== undefined) {
      ignoreFailure(() => {
        const now = statSync(chainFile.path);
        if (now.ino === chainFile.ino && now.size === 0) unlinkSync(chainFile.path);
      });
    }
    // A new journal holds blocks only when a stacks-node delivered some, which it would not deliver again.
    if (this.#stacksDir !== undefined && this.observer?.tip === undefined) ignoreFailure(() => rmSync(this.#stacksDir as string, { recursive: true, force: true }));
    if (this.#storeDir !== undefined) removeStoreFolder(this.#storeDir);
    // Innermost first; a folder that holds anything else (kept above, or another's) stays.
    for (const dir of [...this.#dirs].sort((a, b) => b.length - a.length)) ignoreFailure(() => rmdirSync(dir));
  }

  /** Creates `dir` and its missing parents, outermost first, recording each one created. */
  #makeDirectories(dir: string): void {
    const missing: string[] = [];
    for (let at = dir; isAbsent(at) && dirname(at) !== at; at = dirname(at)) missing.unshift(at);
    for (const level of missing) {
      const made = makeDirectory(level);
      if (made === undefined) return;
      this.#dirs.push(made);
    }
  }
}

/** Whether nothing is at `path` (a path that cannot be looked at counts as there: creating it would fail too). */
function isAbsent(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

/** `dir` when this call created it; undefined when it was there or cannot be created. */
function makeDirectory(dir: string): string | undefined {
  try {
    mkdirSync(dir);
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Removes the store folder `dir`, created by this start, under the store's lock: a process that
 * opened it meanwhile (two nodes started on one new folder) holds the lock, and keeps it all.
 */
function removeStoreFolder(dir: string): void {
  let lock: ReturnType<typeof acquireStoreLock>;
  try {
    lock = acquireStoreLock(dir);
  } catch {
    return;
  }
  try {
    for (const name of readdirSync(dir)) {
      if (name !== STORE_LOCK_FILE && !STORE_LOCK_TEMP.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
    }
  } catch {
    // what is left stays, with the folder
  } finally {
    lock.release();
  }
  // Fails when a process has locked it since: its lock file is in it.
  ignoreFailure(() => rmdirSync(dir));
}

function ignoreFailure(remove: () => void): void {
  try {
    remove();
  } catch {
    // left as it is
  }
}
