/**
 * A damaged record whose removal the backend keeps failing (cbb8e23: counted as gone, its key kept
 * in DamagedRecords) costs a write of its chunk only that chunk: a batch holding it stores the
 * others and answers that one with the removal's typed error, on every put path (putMany,
 * putVerified, a downloader's received columns). A downloader then backs that one address off and
 * catches up on the rest, instead of pausing for a store failure and sending the address again.
 */
import { describe, expect, it } from 'vitest';
import { isAtlasError } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { resolveLimits } from '../../src/protocol/limits.js';
import { seededRandom } from '../../src/runtime.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { generateChunks } from '../../src/sim/workload.js';
import { BackedChunkStore } from '../../src/store/chunk-store.js';
import { MemoryBackend } from '../../src/store/memory.js';
import { putReceived, Received } from '../../src/store/received.js';
import type { PutOutcome } from '../../src/store/types.js';
import { Downloader } from '../../src/sync/downloader.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import { checkReply } from '../../src/sync/verify.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

/** A memory backend whose removeChunk fails with EIO while `fail` is set. */
class FailingRemove extends MemoryBackend {
  fail = false;
  removes = 0;
  override async removeChunk(key: Buffer): Promise<void> {
    this.removes++;
    if (this.fail) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    return super.removeChunk(key);
  }
}

/** Flips a bit of the stored record of `address` in place, then has the store discard it while the removal fails. */
async function damage(store: BackedChunkStore, backend: FailingRemove, address: string): Promise<void> {
  const record = backend.chunks.get(address) as Uint8Array;
  record[1] = (record[1] as number) ^ 0x40;
  backend.fail = true;
  await expect(store.discard(address)).rejects.toMatchObject({ code: 'STORE_IO' });
}

/** Four chunks announced at 0..3 (the first again at 4), the first stored, damaged and not removable. */
async function damagedStore() {
  await hashReady();
  const backend = new FailingRemove();
  const store = new BackedChunkStore(backend);
  const chunks = [0, 1, 2, 3].map((i) => chunkOf(`damaged batch ${i}`));
  const addresses = chunks.map(addressOf);
  await store.append(announcementsFor([...addresses, addresses[0] as string], 0));
  await store.put(chunks[0] as Uint8Array);
  await damage(store, backend, addresses[0] as string);
  expect([store.inventory.has(0), store.inventory.has(4), store.chunkCount()]).toEqual([false, false, 0]);
  return { backend, store, chunks, addresses };
}

const summary = (outcomes: readonly PutOutcome[]) =>
  outcomes.map((o) => (o.ok ? (o.added ? 'added' : 'held') : isAtlasError(o.error) ? `${o.error.code} ${String((o.error.details as { errno?: string }).errno)}` : 'refused'));

describe('a batch holding a chunk whose damaged record cannot be removed', () => {
  it('putMany stores the other chunks and answers that one alone with STORE_IO (a repeat of it too, one removal tried)', async () => {
    const { backend, store, chunks, addresses } = await damagedStore();
    const removes = backend.removes;
    const outcomes = await store.putMany([chunks[1]!, chunks[0]!, chunks[2]!, chunks[3]!, chunks[0]!]);
    expect(summary(outcomes)).toEqual(['added', 'STORE_IO EIO', 'added', 'added', 'STORE_IO EIO']);
    expect(backend.removes - removes).toBe(1);
    expect(outcomes[1]).toMatchObject({ ok: false, address: addresses[0] });
    // The others are stored, held and counted; the damaged one is not.
    expect([1, 2, 3].map((i) => store.has(addresses[i]!) && store.inventory.has(i))).toEqual([true, true, true]);
    expect([store.inventory.has(0), store.inventory.has(4), store.has(addresses[0]!), store.get(addresses[0]!)]).toEqual([false, false, false, undefined]);
    expect(store.chunkCount()).toBe(3);
    expect(store.chunkBytes()).toBe(chunks[1]!.length + chunks[2]!.length + chunks[3]!.length);
    // put() of it alone rejects with that error, changing nothing.
    await expect(store.put(chunks[0]!)).rejects.toMatchObject({ code: 'STORE_IO' });
    expect(store.chunkCount()).toBe(3);
    // The disk recovers: the next put removes the damaged record and stores the good bytes.
    backend.fail = false;
    expect(summary(await store.putMany([chunks[1]!, chunks[0]!]))).toEqual(['held', 'added']);
    expect([store.inventory.has(0), store.inventory.has(4), Buffer.from(store.get(addresses[0]!) ?? []).equals(chunks[0]!)]).toEqual([true, true, true]);
    expect(store.chunkCount()).toBe(4);
    await store.close();
  });

  it('putVerified answers the same, and a batch of that chunk alone writes nothing', async () => {
    const { store, chunks, addresses } = await damagedStore();
    const verified = (i: number) => ({ address: addresses[i]!, data: chunks[i]!, position: i });
    expect(summary(await store.putVerified([verified(0), verified(2)]))).toEqual(['STORE_IO EIO', 'added']);
    expect(summary(await store.putVerified([verified(0)]))).toEqual(['STORE_IO EIO']);
    expect([store.inventory.has(0), store.inventory.has(2), store.chunkCount()]).toEqual([false, true, 1]);
    await store.close();
  });

  it("a downloader's received columns: that chunk REFUSED, the others ADDED (or HELD) with their positions", async () => {
    const { store, chunks, addresses } = await damagedStore();
    await store.put(chunks[3]!);
    const reply = [0, 1, 2, 3].map((i) => ({ address: addresses[i]!, data: chunks[i]! }));
    const check = checkReply(reply, [0, 1, 2, 3], [0, 1, 2, 3]);
    const outcome = await putReceived(store, { ...check.batch, handedOver: false }, check.addresses);
    expect(Array.from(outcome.status)).toEqual([Received.REFUSED, Received.ADDED, Received.ADDED, Received.HELD]);
    expect(outcome.positions).toEqual([undefined, [1], [2], undefined]);
    expect([0, 1, 2, 3, 4].map((i) => store.inventory.has(i))).toEqual([false, true, true, true, false]);
    expect(store.chunkCount()).toBe(3);
    await store.close();
  });
});

describe('catch-up from one holder with a chunk whose damaged record cannot be removed', () => {
  /** 3,000 chunks of 20 bytes from peer A; `damaged`: the first stored, damaged, and its removal failing. */
  async function catchUp(damaged: boolean) {
    await hashReady();
    const count = 3_000;
    const chunks = generateChunks(count, seededRandom(1), { size: 20 });
    const byAddress = new Map(chunks.map((c) => [c.address as string, c]));
    const backend = new FailingRemove();
    const store = new BackedChunkStore(backend);
    await store.append(chunks.map((c, i) => ({ position: i, address: c.address })));
    const first = chunks[0]!.address as string;
    if (damaged) {
      await store.put(chunks[0]!.data);
      await damage(store, backend, first);
    }
    const clock = new VirtualClock(1_000_000);
    let asksOfFirst = 0;
    const client = {
      getChunks: (_peer: string, params: { addresses: readonly string[] }) => {
        if (params.addresses.includes(first)) asksOfFirst++;
        return Promise.resolve({ chunks: params.addresses.map((a) => byAddress.get(a)!).map((c) => ({ address: c.address, data: c.data })), missing: [] });
      },
    };
    const noInventory = () => Promise.reject(new Error('no inventory'));
    const views = new PeerViews({ client: { inventory: noInventory, inventoryChanges: noInventory }, limits: resolveLimits({}), self: () => 'me', localLength: () => store.sequenceLength() }, { maxPeers: 32 });
    views.trackPassive('A', clock.now() + 3_600_000);
    views.markHeld('A', Uint32Array.from({ length: count }, (_, i) => i), clock.now());
    let storeFailures = 0;
    const hooks = { stored() {}, called() {}, fault() {}, reliability: () => 1, storeFailed: () => void storeFailures++ };
    const downloader = new Downloader({ store, views, client: client as never, clock, random: seededRandom(2), hooks }, {});
    downloader.pump();
    const start = clock.now();
    await clock.run({ deadline: start + 120_000, until: () => store.inventory.count >= count - 1 });
    const caughtUp = { held: store.inventory.count, ms: clock.now() - start };
    // A minute more with the removal still failing: the address is backed off, not asked in a loop.
    const asksBefore = asksOfFirst;
    await clock.run({ deadline: clock.now() + 60_000 });
    const asksInAMinute = asksOfFirst - asksBefore;
    // The disk recovers: the address comes back from its back-off and the good bytes are stored.
    backend.fail = false;
    await clock.run({ deadline: clock.now() + 600_000, until: () => store.inventory.count >= count });
    downloader.stop();
    const result = { caughtUp, asksInAMinute, storeFailures, heldAtEnd: store.inventory.count, servesFirst: store.has(first) };
    await store.close();
    return result;
  }

  it('catches up on every other chunk as fast as without the damage, never pauses for the store, and stores that one once it can', async () => {
    const healthy = await catchUp(false);
    const damaged = await catchUp(true);
    expect(healthy.caughtUp.held).toBeGreaterThanOrEqual(2_999);
    expect(damaged.caughtUp.held).toBe(2_999);
    // Without the fix: 120 s and still 2,700 held, with 24 store failures.
    expect(damaged.caughtUp.ms).toBeLessThanOrEqual(healthy.caughtUp.ms + 1_000);
    expect(damaged.storeFailures).toBe(0);
    // Backed off per address (1 s doubling): a handful of asks in a minute, not one a batch.
    expect(damaged.asksInAMinute).toBeLessThanOrEqual(8);
    expect([damaged.heldAtEnd, damaged.servesFirst]).toEqual([3_000, true]);
  });
});
