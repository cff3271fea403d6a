/**
 * Security review, misbehaving peers: a peer that sends bad data (chunks that do not hash to their
 * address, replies that break the protocol, arbitrary garbage) is penalised, removed, blocked and
 * never called again, even while honest peers keep naming it in peer exchange; nothing it sent is
 * stored, and the victim still syncs from the honest peer.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AtlasNode } from '../../src/node/index.js';
import { seededRandom } from '../../src/runtime.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { listedChunks } from '../../src/sim/byzantine.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { waitFor } from '../support/wait.js';
import { LyingTransport, type Lie } from './hostile/lying-transport.js';
import { chainOf, TestNodes } from './hostile/nodes.js';
import { wireValue } from './hostile/requests.js';

const nodes = new TestNodes();
afterEach(() => nodes.closeAll());

const FAST_BACKOFF = { baseMs: 20, maxMs: 200, maxEntries: 1_000 };

/**
 * honest (seed) and liar both hold `shared`; the liar alone holds `liarOnly`, so the victim keeps
 * asking it. The victim learns of the liar through the honest node's peer list.
 */
async function scenario(lie: Lie) {
  const shared = generateChunks(150, seededRandom(31), { prefix: 'shared' });
  const liarOnly = generateChunks(10, seededRandom(32), { prefix: 'liar' });
  const chain = chainOf([...shared, ...liarOnly].map((c) => c.address));
  const network = new MemoryNetwork();
  const honest = await nodes.start(chain, network.transport('honest'));
  await honest.putChunks(shared.map((c) => c.data));
  const liar = new LyingTransport(network.transport('liar'), lie);
  // A store of its own, written straight into: a node pushes what it is given, and the liar keeps these to itself.
  const liarStore = new MemoryChunkStore();
  await nodes.start(chain, liar, { seeds: ['honest'], store: liarStore, closeStore: true });
  await liarStore.putMany([...shared, ...liarOnly].map((c) => c.data));
  const victim = await nodes.start(chain, network.transport('victim'), { seeds: ['honest'], downloads: { batchSize: 5, maxInFlightPerPeer: 1, backoff: FAST_BACKOFF } });
  const removals: { peer: string; reason: string }[] = [];
  victim.on('peer:remove', (event) => removals.push(event));
  return { shared, liarOnly, liar, victim, removals };
}

/**
 * The liar leaves the victim's table (for its offences, or for the health they cost it) and is
 * never called again: not after its refusal expires (1 s with these timers) although the honest
 * seed keeps listing it, not by the random walk, not by anyone.
 */
async function expectBlockedForGood(victim: AtlasNode, liar: LyingTransport, removals: { peer: string; reason: string }[]): Promise<void> {
  await waitFor(() => removals.some((r) => r.peer === 'liar'), 'the liar to be removed');
  expect(['penalised', 'unhealthy']).toContain(removals.find((r) => r.peer === 'liar')!.reason);
  await new Promise((resolve) => setTimeout(resolve, 50)); // calls already on their way land
  const callsAfterRemoval = liar.servedTo.get('victim') ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(liar.servedTo.get('victim') ?? 0).toBe(callsAfterRemoval);
  expect(victim.stats().peers).toBe(1);
  expect(removals.filter((r) => r.peer === 'liar')).toHaveLength(1);
}

describe('a peer that sends bad data', () => {
  it('is penalised, removed and blocked when its chunks do not hash to their address', async () => {
    const { shared, liarOnly, liar, victim, removals } = await scenario(async (method, params, answer) => {
      const reply = await answer();
      if (method !== 'getChunks') return reply;
      // Spoilt, in the listed form (always accepted): bytes that are not the chunks they are listed under.
      const { chunks, missing } = listedChunks(reply, params);
      return { chunks: chunks.map(({ address, data }) => ({ address, data: Buffer.concat([data, Buffer.from('!')]) })), missing };
    });
    await waitFor(() => victim.stats().have === shared.length, 'the victim to sync the shared chunks from the honest peer');
    await expectBlockedForGood(victim, liar, removals);
    for (const chunk of liarOnly) expect(victim.store.has(chunk.address)).toBe(false);
    expect(victim.stats().downloads.rejectedChunks).toBeGreaterThan(0);
  });

  it('is penalised, removed and blocked when its inventory replies break the protocol', async () => {
    const { shared, liar, victim, removals } = await scenario(async (method, params, answer) => {
      const reply = await answer();
      if (method !== 'inventory' && method !== 'inventoryChanges') return reply;
      return { ...(reply as object), sequenceLength: -1 };
    });
    await waitFor(() => victim.stats().have === shared.length, 'the victim to sync the shared chunks from the honest peer');
    await expectBlockedForGood(victim, liar, removals);
  });

  it('arbitrary garbage in every reply but ping never crashes the victim nor gets stored, and the sender is dropped', async () => {
    const garbage = fc.sample(wireValue, { numRuns: 500, seed: 33 });
    let next = 0;
    const { shared, liarOnly, liar, victim, removals } = await scenario(async (method, _params, answer) => {
      const reply = await answer();
      if (method === 'ping') return reply;
      return garbage[next++ % garbage.length];
    });
    await waitFor(() => victim.stats().have === shared.length, 'the victim to sync the shared chunks from the honest peer');
    await expectBlockedForGood(victim, liar, removals);
    expect(victim.state).toBe('running');
    for (const chunk of liarOnly) expect(victim.store.has(chunk.address)).toBe(false);
    expect(liar.served.get('ping')).toBeGreaterThan(0);
  });
});
