/**
 * The work plan over a sequence in which one address is announced many times: planning one of its
 * positions asks one map whether the address is in flight, not every position of it (that scan
 * made a catch-up quadratic in N); and positions announcing NO_CHUNK_ADDRESS, which no data
 * hashes to, are never planned, however many a peer claims. No timing: the tests count the
 * positions the plan reads from the store's lists, and what it plans.
 */
import { describe, expect, it } from 'vitest';
import { NO_CHUNK_ADDRESS, type Address } from '../../src/address.js';
import { hashReady } from '../../src/hash/index.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkStore } from '../../src/store/types.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { WorkPlan, type Batches, type PlannedRequest } from '../../src/sync/work-plan.js';

function handMarkedViews(localLength: () => number): PeerViews {
  const noInventory = () => Promise.reject(new Error('this test pulls no inventory'));
  return new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength }, { maxPeers: 8 });
}

const planned = (batches: Batches) => [...batches.values()].flatMap((request) => [...request.addresses]);

type PlanSource = Pick<ChunkStore, 'inventory' | 'addressAt' | 'positionsOf' | 'isRepeatedAt' | 'packedAddressesAt'>;

/** `store` as a plan sees it, counting every element the plan reads from a list positionsOf answers. */
function counting(store: MemoryChunkStore, withRepeats: boolean): { source: PlanSource; reads: () => number } {
  let reads = 0;
  const source: PlanSource = {
    inventory: store.inventory,
    addressAt: (position) => store.addressAt(position),
    positionsOf: (address) =>
      new Proxy(store.positionsOf(address), {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      }),
    packedAddressesAt: (positions) => store.packedAddressesAt(positions),
    ...(withRepeats ? { isRepeatedAt: (position: number) => store.isRepeatedAt(position) } : {}),
  };
  return { source, reads: () => reads };
}

describe('WorkPlan: an address announced many times', () => {
  it.each([true, false])('is planned with work bounded by the positions planned, not by their square (store says which repeat: %s)', async (withRepeats) => {
    await hashReady();
    const M = 100;
    const N = 2_000;
    const chunks = generateChunks(M + 1, seededRandom(21));
    const popular = chunks[M]!;
    const store = new MemoryChunkStore();
    await store.append([...chunks.slice(0, M).map((chunk) => chunk.address), ...Array.from({ length: N }, () => popular.address)].map((address, position) => ({ position, address })));
    const data = new Map(chunks.map((chunk) => [chunk.address, chunk.data]));
    const views = handMarkedViews(() => store.sequenceLength());
    views.track('P');
    views.markHeld('P', Uint32Array.from({ length: M + N }, (_, i) => i), 0);
    const { source, reads } = counting(store, withRepeats);
    const plan = new WorkPlan(source, views, seededRandom(22), { ...DEFAULT_DOWNLOADER, planWindow: 512 });
    // A reply comes a take later: each request stays in flight while the next take plans.
    let open: PlannedRequest[] = [];
    let takes = 0;
    let popularAsked = 0;
    while (store.inventory.count < M + N && takes < 100) {
      const batches = plan.take(2, 20, takes * 1_000, () => true, () => 1);
      takes++;
      popularAsked += planned(batches).filter((address) => address === popular.address).length;
      for (const request of open) {
        await store.putVerified(request.addresses.map((address, i) => ({ address, data: data.get(address)!, position: request.positions[i] as number })));
        plan.release(request);
      }
      open = [...batches.values()];
    }
    expect(store.inventory.count).toBe(M + N);
    expect(popularAsked).toBe(1);
    expect(takes).toBeLessThanOrEqual(M / 20 + 3);
    // Scanning every position of the address per position planned read hundreds of thousands.
    expect(reads()).toBeLessThanOrEqual(takes);
  });

  it('counts an address in flight where it was claimed: released after a cut left it announced once, it is planned again', async () => {
    await hashReady();
    const [a, b] = generateChunks(2, seededRandom(23));
    const store = new MemoryChunkStore();
    await store.append([a, b, a].map((chunk, position) => ({ position, address: chunk!.address })));
    const views = handMarkedViews(() => store.sequenceLength());
    views.track('P');
    views.markHeld('P', Uint32Array.of(1, 2), 0);
    const plan = new WorkPlan(store, views, seededRandom(24), DEFAULT_DOWNLOADER);
    const first = plan.take(1, 5, 0, () => true, () => 1);
    expect(first.get('P')?.positions).toEqual(expect.arrayContaining([1, 2]));
    // The chain rolls back past position 2: a is announced once, at 0, while its request is open.
    await store.truncate(2);
    plan.truncate(2);
    views.markHeld('P', Uint32Array.of(0, 1), 0);
    plan.markStale();
    expect(planned(plan.take(1, 5, 1_000, () => true, () => 1))).toEqual([]);
    for (const request of first.values()) plan.release(request);
    plan.markStale();
    expect(planned(plan.take(1, 5, 2_000, () => true, () => 1)).sort()).toEqual([a!.address, b!.address].sort());
  });
});

describe('WorkPlan: positions announcing NO_CHUNK_ADDRESS', () => {
  it('are never planned, and a peer claiming thousands of them crowds no chunk out of the window', async () => {
    await hashReady();
    const real = generateChunks(10, seededRandom(25)).map((chunk) => chunk.address);
    const sequence: Address[] = [...real.slice(0, 5), ...Array.from({ length: 2_000 }, () => NO_CHUNK_ADDRESS), ...real.slice(5)];
    const store = new MemoryChunkStore();
    await store.append(sequence.map((address, position) => ({ position, address })));
    const views = handMarkedViews(() => store.sequenceLength());
    views.track('liar');
    views.markHeld('liar', Uint32Array.from(sequence, (_, i) => i), 0);
    views.track('seed');
    views.markHeld('seed', Uint32Array.from(sequence.flatMap((address, i) => (address === NO_CHUNK_ADDRESS ? [] : [i]))), 0);
    // Held by one peer only, they are the rarest: planned at all, they would fill a window of 16.
    const plan = new WorkPlan(store, views, seededRandom(26), { ...DEFAULT_DOWNLOADER, planWindow: 16 });
    const asked: Address[] = [];
    for (let round = 0; round < 5; round++) {
      const batches = plan.take(2, 10, round * 1_000, () => true, () => 1);
      asked.push(...planned(batches));
      for (const request of batches.values()) plan.release(request);
    }
    expect(asked).not.toContain(NO_CHUNK_ADDRESS);
    expect(new Set(asked)).toEqual(new Set(real));
    // The first take alone plans every chunk there is.
    expect(new Set(planned(new WorkPlan(store, views, seededRandom(27), { ...DEFAULT_DOWNLOADER, planWindow: 16 }).take(2, 10, 0, () => true, () => 1)))).toEqual(new Set(real));
  });

  it('are left out again after a rollback announces them at positions that named chunks', async () => {
    await hashReady();
    const real = generateChunks(4, seededRandom(28)).map((chunk) => chunk.address);
    const store = new MemoryChunkStore();
    await store.append(real.map((address, position) => ({ position, address })));
    const views = handMarkedViews(() => store.sequenceLength());
    views.track('P');
    views.markHeld('P', Uint32Array.of(0, 1, 2, 3), 0);
    const plan = new WorkPlan(store, views, seededRandom(29), DEFAULT_DOWNLOADER);
    const first = plan.take(1, 10, 0, () => true, () => 1);
    expect(planned(first)).toHaveLength(4);
    for (const request of first.values()) plan.release(request);
    await store.truncate(2);
    plan.truncate(2);
    await store.append([2, 3, 4].map((position) => ({ position, address: NO_CHUNK_ADDRESS })));
    views.markHeld('P', Uint32Array.of(0, 1, 2, 3, 4), 0);
    plan.markStale();
    expect(planned(plan.take(1, 10, 1_000, () => true, () => 1)).sort()).toEqual(real.slice(0, 2).sort());
  });
});
