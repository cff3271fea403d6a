/**
 * Issue 3 item 8: five real nodes over HttpTransport on 127.0.0.1 share one chain announcing the
 * 1,631 real zone files (generated ones of the same shape when ../shared/data is absent); the files
 * are put to one node; every node ends with every bit set and every chunk byte-identical.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import type { AtlasNode } from '../../src/node/index.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { HttpTransport } from '../../src/transport/http.js';
import { allSynced, closeAll, startCluster } from '../support/cluster.js';
import { CORPUS_SKIP_MESSAGE, corpus } from '../support/data.js';
import { waitFor } from '../support/wait.js';

const chunks = corpus ?? generateChunks(1_631, seededRandom(1631));
if (!corpus) console.warn(`${CORPUS_SKIP_MESSAGE}: using 1,631 generated zone files instead`);

describe('five nodes over real HTTP on 127.0.0.1', () => {
  const nodes: AtlasNode[] = [];
  afterAll(async () => {
    await closeAll(nodes);
  });

  it('replicates every zone file to every node, byte for byte', async () => {
    const chain = new MemoryChain();
    chain.announce(chunks.map((c) => c.address));
    nodes.push(...(await startCluster(5, chain, () => new HttpTransport({ listen: '127.0.0.1:0' }))));
    for (let i = 0; i < chunks.length; i += 500) {
      const saved = await nodes[0]!.putChunks(chunks.slice(i, i + 500).map((c) => c.data));
      expect(saved.every(Boolean)).toBe(true);
    }

    await waitFor(() => allSynced(nodes), 'all five nodes to hold all 1,631 chunks', 60_000);

    const expected = nodes[0]!.inventory();
    for (const node of nodes) {
      const stats = node.stats();
      expect(stats.have).toBe(chunks.length);
      expect(stats.total).toBe(chunks.length);
      expect(Buffer.from(node.inventory()).equals(Buffer.from(expected))).toBe(true);
      const held = await node.getChunks(chunks.map((c) => c.address));
      for (const chunk of chunks) expect(Buffer.from(held.get(chunk.address)!).equals(Buffer.from(chunk.data))).toBe(true);
    }
  });
});
