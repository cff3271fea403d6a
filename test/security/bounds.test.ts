/**
 * Security review, bounded queues (issue 6, item 4): every per-peer and global queue a remote can
 * grow stops at its named limit, observed from the outside where possible (what a component
 * sends, what a node answers, the memory it holds).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { InventoryLog } from '../../src/inventory/change-log.js';
import { decodePositions } from '../../src/inventory/varint.js';
import { AtlasNode } from '../../src/node/index.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { systemClock, seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { Backoff } from '../../src/sync/backoff.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { MAX_PULLERS_PER_HOST, Pusher } from '../../src/sync/pusher.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/types.js';
import { liveBytes } from '../support/heap.js';

/** A peer that records calls and answers only when released (a stalled peer). */
class StalledPeers implements Transport {
  readonly address = 'self';
  readonly calls: { peer: string; method: string; params: Record<string, unknown> }[] = [];
  private waiting: (() => void)[] = [];
  async listen(): Promise<string> {
    return this.address;
  }
  call(peer: string, method: string, params: unknown): Promise<unknown> {
    const request = params as Record<string, unknown>;
    this.calls.push({ peer, method, params: request });
    const reply = method === 'offer' ? { wanted: 0 } : { saved: (request.chunks as unknown[]).map(() => true) };
    return new Promise((resolve) => this.waiting.push(() => resolve(reply)));
  }
  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
  async close(): Promise<void> {}
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
/** A pusher's parts over `peers`: it knows of no holdings and has no recent changes. */
const pusherParts = (peers: Transport) => ({ client: new ProtocolClient(peers), clock: systemClock, self: () => 'self', peerInventory: () => undefined, recent: () => [] });

describe('the pusher', () => {
  it('keeps at most maxPendingPerTarget positions for a stalled puller, and one call in flight', async () => {
    const peers = new StalledPeers();
    const pusher = new Pusher(pusherParts(peers), { maxPendingPerTarget: 1_000 });
    pusher.addPuller('stalled');
    pusher.offer([0]); // starts the one call in flight
    for (let p = 1; p <= 100_000; p++) pusher.offer([p]);
    expect(peers.calls).toHaveLength(1);
    peers.release();
    await settle();
    expect(peers.calls).toHaveLength(2);
    const queued = decodePositions(peers.calls[1]!.params.added as Uint8Array, { maxCount: 1_000_000 });
    expect(queued.length).toBe(1_000);
    pusher.stop();
  });

  it('keeps at most maxPushBytesPerTarget of chunk bytes for a stalled neighbour (the rest is only offered)', async () => {
    const peers = new StalledPeers();
    const pusher = new Pusher(pusherParts(peers), { maxPushBytesPerTarget: 10_000, pushBatch: 5 });
    pusher.addNeighbor('stalled');
    const chunks = generateChunks(2_000, seededRandom(81)).map((c, i) => ({ data: c.data, positions: [i] }));
    pusher.push(chunks);
    let pushedBytes = 0;
    for (let round = 0; round < 200 && peers.calls.length > 0; round++) {
      const before = peers.calls.length;
      peers.release();
      await settle();
      if (peers.calls.length === before) break;
    }
    for (const call of peers.calls) if (call.method === 'putChunks') for (const c of call.params.chunks as Uint8Array[]) pushedBytes += c.byteLength;
    expect(pushedBytes).toBeLessThanOrEqual(10_000 + 5 * 40_960);
    expect(peers.calls.some((c) => c.method === 'offer')).toBe(true);
    pusher.stop();
  });

  it('offers to at most maxTargets peers, however many pull', async () => {
    const peers = new StalledPeers();
    const pusher = new Pusher(pusherParts(peers), { maxTargets: 16 });
    for (let i = 0; i < 10_000; i++) pusher.addPuller(`puller-${i}`);
    pusher.offer([1, 2, 3]);
    expect(new Set(peers.calls.map((c) => c.peer)).size).toBe(16);
    pusher.stop();
  });

  it('keeps at most maxTargets calls in flight, and a few pullers per host, while one host churns ports', async () => {
    const peers = new StalledPeers();
    // Every new target is offered our recent changes at first contact.
    const pusher = new Pusher({ ...pusherParts(peers), recent: () => [1, 2, 3] }, { maxTargets: 16 });
    for (let port = 1; port <= 10_000; port++) pusher.addPuller(`198.51.100.7:${port}`);
    expect(peers.calls.length).toBeLessThanOrEqual(16);
    // Once those calls end, the next offer reaches the pullers kept: a few from that host, and an
    // honest puller on another host that came after all of them.
    pusher.addPuller('203.0.113.5:6264');
    for (let round = 0; round < 50; round++) {
      peers.release();
      await settle();
    }
    const before = peers.calls.length;
    pusher.offer([4]);
    const reached = new Set(peers.calls.slice(before).map((c) => c.peer));
    expect([...reached].filter((p) => p.startsWith('198.51.100.7:')).length).toBeLessThanOrEqual(MAX_PULLERS_PER_HOST);
    expect(reached.has('203.0.113.5:6264')).toBe(true);
    pusher.stop();
  });
});

describe('other queues', () => {
  it('the downloader\'s back-off map forgets the oldest entries beyond maxEntries', () => {
    const backoff = new Backoff<string>({ baseMs: 1_000, maxMs: 600_000, maxEntries: 5_000 }, seededRandom(1));
    for (let i = 0; i < 200_000; i++) backoff.fail(`address-${i}`, 0);
    expect(backoff.size).toBe(5_000);
    expect(backoff.failures('address-0')).toBe(0);
    expect(backoff.failures('address-199999')).toBe(1);
  });

  it('the inventory change log holds at most maxEntries positions, whatever is recorded', () => {
    const log = new InventoryLog({ maxEntries: 1 << 16, epoch: 'e' });
    const before = liveBytes();
    for (let i = 0; i < 50; i++) log.record(Uint32Array.from({ length: 100_000 }, (_, k) => i * 100_000 + k));
    expect(liveBytes() - before).toBeLessThan(4 * 1024 * 1024);
    expect(log.since(0)).toBeUndefined();
    expect(log.since(log.oldestVersion)!.length).toBe(1 << 16);
  });

  it('peer views track at most their bound of peers', () => {
    const views = new PeerViews({ client: new ProtocolClient(new StalledPeers()), limits: DEFAULT_LIMITS, self: () => 'self', localLength: () => 1_000 }, { maxPeers: 32 });
    let tracked = 0;
    for (let i = 0; i < 10_000; i++) if (views.track(`peer-${i}`)) tracked++;
    expect(tracked).toBe(32);
    expect(views.size).toBe(32);
  });

  it('the blocklist holds at most maxBlocked addresses, and a flood of temporary blocks never lifts a block for good', () => {
    const blocklist = new Blocklist(1_000);
    blocklist.block('host-choice', Number.POSITIVE_INFINITY);
    for (let i = 0; i < 50_000; i++) blocklist.block(`peer-${i}`, 60_000);
    expect(blocklist.size).toBe(1_000);
    expect(blocklist.isBlocked('peer-0', 0)).toBe(false);
    expect(blocklist.isBlocked('peer-49999', 0)).toBe(true);
    expect(blocklist.isBlocked('host-choice', Number.MAX_SAFE_INTEGER)).toBe(true);
  });
});

describe('requests a node handles at once', () => {
  const open: AtlasNode[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((n) => n.close()));
  });

  it('over MemoryNetwork, 1,000 callers at once: at most maxConcurrent are handled, the rest get BUSY at once', async () => {
    const chunks = generateChunks(1_000, seededRandom(82));
    const chain = new MemoryChain();
    chain.announce(chunks.map((c) => c.address));
    // A slow disk: every write waits, so requests pile up inside the node.
    const store = new MemoryChunkStore();
    let inside = 0;
    let most = 0;
    const putMany = store.putMany.bind(store);
    store.putMany = async (batch) => {
      most = Math.max(most, ++inside);
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        return await putMany(batch);
      } finally {
        inside--;
      }
    };
    const network = new MemoryNetwork();
    const node = await AtlasNode.open({ chain, store, transport: network.transport('node'), network: 'testnet', requests: { maxConcurrent: 16, maxConcurrentPerHost: 16 } });
    open.push(node);
    await node.start();
    const outcomes = await Promise.all(
      chunks.map(async (chunk, i) => {
        const client = new ProtocolClient(network.transport(`caller-${i}`));
        try {
          return (await client.putChunks('node', { chunks: [chunk.data] })).saved[0] ? 'saved' : 'refused';
        } catch (error) {
          return error instanceof AtlasError ? error.code : 'other';
        }
      }),
    );
    expect(most).toBeLessThanOrEqual(16);
    expect(outcomes.filter((o) => o === ErrorCodes.BUSY).length).toBeGreaterThan(900);
    expect(outcomes.filter((o) => o === 'saved').length).toBeGreaterThanOrEqual(16);
    expect(outcomes.every((o) => o === 'saved' || o === ErrorCodes.BUSY)).toBe(true);
    // Afterwards it serves again at once.
    expect((await new ProtocolClient(network.transport('later')).putChunks('node', { chunks: [chunks[0]!.data] })).saved).toEqual([true]);
  });
});
