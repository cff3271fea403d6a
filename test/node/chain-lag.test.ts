/**
 * A peer ahead of us on the chain: its bits for positions we did not know yet must be read once
 * our sequence reaches them (found in review: views were clipped and never re-read).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

const nodes: AtlasNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

describe('a node behind the chain', () => {
  it('fetches what a peer stored before our chain caught up', async () => {
    const chunks = generateChunks(2, seededRandom(7));
    const chainA = new MemoryChain();
    const chainB = new MemoryChain();
    chainA.announce(chunks[0]!.address);
    chainB.announce(chunks[0]!.address);
    const network = new MemoryNetwork();
    const common = { network: 't', timers: FAST_TIMERS, addressPolicy: LOCAL_ADDRESS_POLICY };
    const a = await AtlasNode.open({ chain: chainA, transport: network.transport('a'), ...common });
    await a.start();
    const b = await AtlasNode.open({ chain: chainB, transport: network.transport('b'), seeds: [a.address!], ...common });
    await b.start();
    nodes.push(a, b);
    await a.putChunks([chunks[0]!.data]);
    await waitFor(() => b.stats().have === 1, 'the first chunk to reach B');

    chainA.announce(chunks[1]!.address); // A sees the announcement first and stores the chunk;
    await waitFor(() => a.stats().sequenceLength === 2, 'A to follow its chain');
    expect(await a.putChunks([chunks[1]!.data])).toEqual([true]); // its push to B is refused
    await waitFor(() => b.stats().inventoryRefreshes >= 4, 'B to refresh A a few times meanwhile');
    chainB.announce(chunks[1]!.address); // B's chain catches up
    await waitFor(() => b.stats().have === 2, 'B to fetch the chunk A stored while B was behind', 10_000);
  });
});
