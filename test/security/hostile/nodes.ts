/** Starts real nodes for security tests (fast timers, local address policy) and closes them all. */
import { MemoryChain } from '../../../src/chain/memory.js';
import { AtlasNode } from '../../../src/node/atlas-node.js';
import type { AtlasNodeOptions } from '../../../src/node/options.js';
import { LOCAL_ADDRESS_POLICY } from '../../../src/peers/address-policy.js';
import type { Transport } from '../../../src/transport/types.js';
import { FAST_TIMERS } from '../../support/cluster.js';

export class TestNodes {
  private readonly open: AtlasNode[] = [];

  async start(chain: MemoryChain, transport: Transport, extra: Partial<AtlasNodeOptions> = {}): Promise<AtlasNode> {
    const node = await AtlasNode.open({ chain, transport, network: 'testnet', timers: FAST_TIMERS, addressPolicy: LOCAL_ADDRESS_POLICY, ...extra });
    this.open.push(node);
    await node.start();
    return node;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((node) => node.close()));
  }
}

/** A chain announcing `addresses`. */
export function chainOf(addresses: readonly string[]): MemoryChain {
  const chain = new MemoryChain();
  chain.announce([...addresses]);
  return chain;
}
