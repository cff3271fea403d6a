/**
 * The demo's network: N nodes over real HttpTransport on 127.0.0.1 (free ports), each with its
 * own LMDB store under one temporary root, all following one chain; node i > 0 seeds from node 0.
 */
import { join } from 'node:path';
import type { ChainAdapter } from '../../chain/types.js';
import { AtlasNode } from '../../node/atlas-node.js';
import type { NodeTimers } from '../../node/options.js';
import type { Logger } from '../../runtime.js';
import { HttpTransport } from '../../transport/http.js';

/** Faster than the defaults (2 s rounds, 15 s refreshes) so a demo on one machine is short. */
export const DEMO_TIMERS: Readonly<Partial<NodeTimers>> = Object.freeze({ roundMs: 250, inventoryRefreshMs: 1_000 });
/** The network id the demo's nodes share. */
export const DEMO_NETWORK = 'atlas-demo';

/** One node of the demo: its index (0 takes the puts), the node, its transport and address. */
export interface DemoNode {
  index: number;
  node: AtlasNode;
  transport: HttpTransport;
  address: string;
}

/** What startCluster builds: how many nodes, on which chain, under which folder. */
export interface ClusterOptions {
  count: number;
  chain: ChainAdapter;
  root: string;
  logger: Logger & { child(fields: Record<string, unknown>): Logger };
  timers?: Partial<NodeTimers>;
}

/** A view of a shared chain without close(): the demo closes the chain once, not once per node. */
export function sharedChain(chain: ChainAdapter): ChainAdapter {
  return {
    length: (options) => chain.length(options),
    read: (from, limit, options) => chain.read(from, limit, options),
    subscribe: (listener) => chain.subscribe(listener),
  };
}

/** Opens and starts the nodes one by one; on failure closes those already started and rethrows. */
export async function startCluster(options: ClusterOptions): Promise<DemoNode[]> {
  const nodes: DemoNode[] = [];
  try {
    for (let index = 0; index < options.count; index++) {
      const transport = new HttpTransport({ listen: '127.0.0.1:0' });
      const seed = nodes[0]?.address;
      const node = await AtlasNode.open({
        chain: sharedChain(options.chain),
        transport,
        dataDir: join(options.root, `node${index}`),
        seeds: seed === undefined ? [] : [seed],
        network: DEMO_NETWORK,
        timers: { ...DEMO_TIMERS, ...options.timers },
        addressPolicy: { allowLoopback: true, allowPrivate: true },
        logger: options.logger.child({ node: index }),
      });
      try {
        await node.start();
      } catch (error) {
        await node.close().catch(() => undefined);
        throw error;
      }
      nodes.push({ index, node, transport, address: node.address as string });
    }
    return nodes;
  } catch (error) {
    await closeCluster(nodes);
    throw error;
  }
}

/** Closes every node, whatever each one's close does. */
export async function closeCluster(nodes: readonly DemoNode[]): Promise<void> {
  for (const n of nodes) n.node.removeAllListeners(); // the demo's listeners read stats: none once closing
  await Promise.allSettled(nodes.map((n) => n.node.close()));
}
