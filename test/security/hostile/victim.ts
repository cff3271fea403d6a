/**
 * A node to attack over real HTTP: HttpTransport on 127.0.0.1 (legacy API on), a memory store
 * holding `chunkCount` chunks of 40 KiB, the given HTTP limits. Shared by test/security/attacks and
 * bench/attack.ts.
 */
import { MemoryChain } from '../../../src/chain/memory.js';
import { legacyRoutes } from '../../../src/legacy/index.js';
import { AtlasNode, type AtlasNodeOptions } from '../../../src/node/index.js';
import type { RequestLimits } from '../../../src/protocol/request-guard.js';
import { seededRandom } from '../../../src/runtime.js';
import { generateChunks, type GeneratedChunk } from '../../../src/sim/workload.js';
import { HttpTransport, splitHostPort, type HttpLimits, type HttpRoute } from '../../../src/transport/http.js';

export const VICTIM_CHUNK_BYTES = 40_960;

export interface Victim {
  node: AtlasNode;
  transport: HttpTransport;
  port: number;
  chunks: GeneratedChunk[];
  close(): Promise<void>;
}

export interface VictimOptions {
  limits?: Partial<HttpLimits>;
  requests?: Partial<RequestLimits>;
  chunkCount?: number;
  seed?: number;
  routes?: HttpRoute[];
  /** Which peer addresses the node may dial (default: the node's default policy, which refuses loopback). */
  addressPolicy?: AtlasNodeOptions['addressPolicy'];
  /** The node's timers (default: the node's defaults). */
  timers?: AtlasNodeOptions['timers'];
  /** A folder for the node's store, as a deployed node has (default: none, chunks in memory). */
  dataDir?: string;
}

export async function startVictim(options: VictimOptions = {}): Promise<Victim> {
  const chunks = generateChunks(options.chunkCount ?? 100, seededRandom(options.seed ?? 1_101), { size: VICTIM_CHUNK_BYTES });
  const chain = new MemoryChain();
  chain.announce(chunks.map((c) => c.address));
  const transport = new HttpTransport({ listen: '127.0.0.1:0', limits: options.limits ?? {}, routes: [...(options.routes ?? []), ...legacyRoutes(true)] });
  const node = await AtlasNode.open({
    chain,
    transport,
    network: 'testnet',
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.requests ? { requests: options.requests } : {}),
    ...(options.addressPolicy ? { addressPolicy: options.addressPolicy } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
  });
  await node.putChunks(chunks.map((c) => c.data));
  await node.start();
  return { node, transport, port: splitHostPort(node.address as string).port, chunks, close: () => node.close() };
}
