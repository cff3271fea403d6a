/** What `atlas node` does once its options are read: open the node, log what happens, close it on a signal. */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DevChain } from '../../chain/dev.js';
import { legacyRoutes } from '../../legacy/index.js';
import { AtlasNode } from '../../node/atlas-node.js';
import type { Metrics } from '../../node/metrics.js';
import { prometheusMetrics } from '../../node/metrics-prometheus.js';
import type { ChunkStorage } from '../../store/lmdb.js';
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
  chainPoll: number;
  refresh?: number;
  logLevel: CliLogLevel;
  json?: boolean;
  chunkStorage?: ChunkStorage;
  sequenceCacheMb?: number;
  chunkCacheMb?: number;
}

/** How often progress is logged at most while chunks arrive. */
const PROGRESS_LOG_MS = 5_000;

export async function runNode(options: NodeCommandOptions): Promise<void> {
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

  const observer = await openObserver(options, dataDir, options.network, logger);
  const chain = observer ?? (await openDevChain(chainPath, logger));
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
    await transport.close().catch(() => undefined);
    await chain.close?.().catch(() => undefined);
    throw error;
  }

  const progressLog = throttledLog<{ have: number; total: number; missing: number; rate: number }>((fields) => logger.info('progress', fields), PROGRESS_LOG_MS, systemClock);
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
    await node.close().catch(() => undefined);
    throw error;
  }
  const stats = node.stats();
  logger.info('listening', {
    address: node.address,
    network: options.network,
    store: join(dataDir, 'store'),
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

  const stopFollowing = chain instanceof DevChain ? followFile(chain, options.chainPoll * 1000, logger) : () => undefined;
  const signal = await stopped;
  logger.info('shutting down', { signal });
  stopFollowing();
  progressLog.flush();
  node.removeAllListeners();
  await node.close();
  await observer?.close();
  logger.info('stopped');
}
