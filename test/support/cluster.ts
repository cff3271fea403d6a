import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { AtlasNode, type AtlasNodeOptions } from '../../src/node/index.js';
import type { MemoryChain } from '../../src/chain/memory.js';
import type { Transport } from '../../src/transport/types.js';

/** Fast timers for tests in real time. */
export const FAST_TIMERS = { roundMs: 50, inventoryRefreshMs: 300, neighborRenewMs: 5_000, refusalMs: 1_000 } as const;

export interface ClusterNode {
  node: AtlasNode;
  address: string;
}

/** Opens and starts nodes that share one chain; node i seeds from node 0. Close with closeAll. */
export async function startCluster(
  count: number,
  chain: MemoryChain,
  makeTransport: (index: number) => Transport,
  extra: (index: number) => Partial<AtlasNodeOptions> = () => ({}),
): Promise<AtlasNode[]> {
  const nodes: AtlasNode[] = [];
  for (let i = 0; i < count; i++) {
    const seeds = i === 0 ? [] : [nodes[0]!.address as string];
    const node = await AtlasNode.open({
      chain,
      transport: makeTransport(i),
      seeds,
      network: 'testnet',
      timers: FAST_TIMERS,
      addressPolicy: LOCAL_ADDRESS_POLICY,
      ...extra(i),
    });
    await node.start();
    nodes.push(node);
  }
  return nodes;
}

export async function closeAll(nodes: readonly AtlasNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.close()));
}

/** True when every node holds every position of the sequence. */
export function allSynced(nodes: readonly AtlasNode[]): boolean {
  return nodes.every((n) => {
    const s = n.stats();
    return s.total > 0 && s.have === s.total;
  });
}
