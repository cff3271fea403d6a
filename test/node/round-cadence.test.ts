/**
 * The replicator's periodic pass (refreshes, downloads, audits) does not wait for the overlay's
 * round, which waits on peers: peers answering peer lists just under their deadline cannot slow
 * replication to one pass per slow answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasNode } from '../../src/node/atlas-node.js';
import type { Metrics } from '../../src/node/metrics.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { wrapTransport } from '../support/wrap-transport.js';

const nodes: AtlasNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((node) => node.close()));
});

describe('round cadence', () => {
  it('ticks every roundMs while the overlay\'s round waits 1 s on each peer list', async () => {
    const network = new MemoryNetwork();
    const chain = new MemoryChain();
    const seed = await AtlasNode.open({ chain, transport: network.transport('seed'), network: 'x' });
    nodes.push(seed);
    await seed.start();
    // Every `peers` call the node makes (its walk) is answered after 1 s.
    const slowWalk = wrapTransport(network.transport('node'), {
      call: async (peer, method, params, options, next) => {
        if (method === 'peers') await new Promise((resolve) => setTimeout(resolve, 1_000));
        return next(peer, method, params, options);
      },
    });
    let ticks = 0;
    const metrics: Metrics = {
      count() {},
      gauge(name) {
        if (name === 'peers') ticks++; // sampled once a tick
      },
    };
    const node = await AtlasNode.open({ chain, transport: slowWalk, network: 'x', seeds: ['seed'], addressPolicy: LOCAL_ADDRESS_POLICY, metrics, timers: { roundMs: 50 } });
    nodes.push(node);
    await node.start();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // About 30 ticks in 1.5 s at 50 ms; one per slow walk step (1 s) before.
    expect(ticks).toBeGreaterThanOrEqual(15);
  });
});
