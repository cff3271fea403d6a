/**
 * A peer the table removes (here penalised: removed and blocked) loses every view we hold of it at
 * once, not only a neighbour's: a view known from its offers, or an extra relay, stayed until it
 * expired (OFFERED_VIEW_MS) or failed, and its claims could still be planned from meanwhile.
 * Three nodes over a MemoryNetwork; the first keeps one neighbour, so another peer is only known.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import type { AtlasNode } from '../../src/node/atlas-node.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import type { Overlay } from '../../src/peers/overlay.js';
import type { Replicator } from '../../src/sync/replicator.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { closeAll, startCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

/** The node's parts, read for the test (not public API). */
function partsOf(node: AtlasNode): { overlay: Overlay; replicator: Replicator } {
  return (node as unknown as { parts: { overlay: Overlay; replicator: Replicator } }).parts;
}

const open: AtlasNode[] = [];
afterEach(async () => {
  await closeAll(open.splice(0));
});

describe('a peer removed from the table', () => {
  it('loses the view we hold of it from its offers (or as an extra relay) at once', async () => {
    await hashReady();
    const chain = new MemoryChain();
    chain.announce(generateChunks(8, seededRandom(4)).map((c) => c.address));
    const network = new MemoryNetwork();
    const nodes = await startCluster(3, chain, (i) => network.transport(`n${i}`), (i) => (i === 0 ? { neighbors: 1 } : {}));
    open.push(...nodes);
    const { overlay, replicator } = partsOf(nodes[0] as AtlasNode);
    await waitFor(() => ['n1', 'n2'].every((peer) => overlay.isKnownPeer(peer)) && overlay.neighbors().length === 1, 'the first node to know both peers and keep one as neighbour');
    const known = ['n1', 'n2'].find((peer) => !overlay.neighbors().includes(peer)) as string;
    // It offers us what it holds: its view is kept, though it is not our neighbour (unless it
    // already is one as an extra relay).
    replicator.offered(known, Uint32Array.from([0, 1, 2, 3]));
    const view = replicator.views.get(known);
    expect(view?.passiveUntil !== undefined || view?.extra === true).toBe(true);
    const neighbour = overlay.neighbors()[0] as string;

    overlay.penalise(known, ErrorCodes.HASH_MISMATCH); // proof: removed and blocked at once
    expect(overlay.isKnownPeer(known)).toBe(false);
    expect(replicator.views.has(known)).toBe(false);
    expect(replicator.views.inventories().has(known)).toBe(false);
    // The neighbour's own view is untouched.
    expect(replicator.views.has(neighbour)).toBe(true);
  });
});
