/** `atlas node`: runs one node until SIGINT or SIGTERM, then closes it cleanly. */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AtlasNode } from '../../node/atlas-node.js';
import type { Metrics } from '../../node/metrics.js';
import type { ChunkStorage } from '../../store/lmdb.js';
import { prometheusMetrics } from '../../node/metrics-prometheus.js';
import { systemClock } from '../../runtime.js';
import { splitHostPort, HttpTransport } from '../../transport/http.js';
import { collectPeer, intParser, isLocalHost, parseChunkStorage, parseListen, parseLogLevel, parseNetwork, parsePeer, secondsParser } from '../args.js';
import { DevChain } from '../../chain/dev.js';
import { legacyRoutes } from '../../legacy/index.js';
import { followFile, openDevChain } from '../chain.js';
import { createLogger, type CliLogLevel } from '../logger.js';
import { throttledLog } from '../progress-log.js';
import { DEFAULT_NODE } from '../remote.js';
import { untilSignal } from '../signals.js';
import { chunkSources, collectString, nodeRoutes, openObserver, type StacksCliOptions } from '../stacks.js';

export const DEFAULT_DATA_DIR = './atlas-data';
export const DEFAULT_LISTEN = DEFAULT_NODE;
/** How often progress is logged at most while chunks arrive. */
const PROGRESS_LOG_MS = 5_000;

interface NodeCommandOptions extends StacksCliOptions {
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

export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one node until interrupted (SIGINT/SIGTERM close it cleanly)')
    .option('-d, --data-dir <dir>', 'node folder: the LMDB store goes in <dir>/store', DEFAULT_DATA_DIR)
    .option('--chunk-storage <layout>', "where a new store keeps chunk bytes: log (an append-only file, the default) or lmdb", parseChunkStorage)
    .option('--sequence-cache-mb <mb>', "memory (MiB) holding the sequence's addresses in 80 KiB pages read whole on first use (default 32; 0: read each from LMDB)", intParser(0, 1_048_576))
    .option('--chunk-cache-mb <mb>', 'memory (MiB) keeping chunks read again and again at random places from the chunk log, so they cost no read call (default 8; 0: none)', intParser(0, 1_048_576))
    .option('-l, --listen <host:port>', 'address to listen on (port 0 picks a free one)', parseListen, DEFAULT_LISTEN)
    .option('--advertise <host:port>', 'address other peers should use (default: the listen address)', parsePeer)
    .option('-s, --seed <host:port>', 'a peer to start from (repeatable)', collectPeer)
    .option('-n, --network <id>', 'network id; peers of another network are refused', parseNetwork, 'mainnet')
    .option('-c, --chain <file>', 'DevChain file the announcements come from (default: <data-dir>/chain.jsonl)')
    .option('--chain-poll <seconds>', 'how often the chain file is re-read for new announcements', secondsParser(3600), 1)
    .option('--refresh <seconds>', "how often each neighbour's inventory is re-read (default 15)", secondsParser(86_400))
    .option('--neighbors <k>', 'active neighbours to keep', intParser(1, 64))
    .option('--allow-local', 'dial loopback and private addresses (on by default when listening on one)')
    .option('--metrics', 'serve Prometheus metrics at GET /metrics (needs the optional package prom-client)')
    .option('--legacy', 'also answer the original Atlas XML-RPC (/RPC2), /v1 REST and Stacks /v2/attachments routes')
    .option('--stacks-observer <host:port>', 'follow a stacks-node: listen there for its [[events_observer]] (instead of a DevChain file)')
    .option('--stacks-observer-allow <ip>', 'an IP address or CIDR range besides this machine that may post to the observer, e.g. a stacks-node on another host (repeatable)', collectString)
    .option('--stacks-node <url>', 'a Stacks node to fetch missing zone files from, GET /v2/attachments/<hash> (repeatable)', collectString)
    .option('--mirror <url-template>', 'a mirror serving zone files, e.g. https://host/v1/zonefiles/{hash} (repeatable)', collectString)
    .option('--log-level <level>', 'debug, info, warn, error or silent', parseLogLevel, 'info')
    .option('--json', 'write logs as JSON lines')
    .action(async (options: NodeCommandOptions) => runNode(options));
}

async function runNode(options: NodeCommandOptions): Promise<void> {
  const logger = createLogger({ level: options.logLevel, format: options.json ? 'json' : 'pretty' });
  const dataDir = resolve(options.dataDir);
  const chainPath = resolve(options.chain ?? join(dataDir, 'chain.jsonl'));
  const allowLocal = options.allowLocal ?? isLocalHost(splitHostPort(options.listen).host);
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
      sources: chunkSources(options, observer),
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

  const stopping = untilSignal();
  try {
    await node.start();
  } catch (error) {
    stopping.dispose();
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
  const signal = await stopping.promise;
  logger.info('shutting down', { signal });
  stopFollowing();
  progressLog.flush();
  node.removeAllListeners();
  try {
    await node.close();
    await observer?.close();
  } finally {
    stopping.dispose();
  }
  logger.info('stopped');
}
