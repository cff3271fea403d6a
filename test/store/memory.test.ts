import { describe, expect, it } from 'vitest';
import { BackedChunkStore } from '../../src/store/chunk-store.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { MemoryBackend, MemoryChunkStore } from '../../src/store/memory.js';
import type { ChunkWrites } from '../../src/store/backend.js';
import type { PutOutcome, VerifiedChunk } from '../../src/store/types.js';
import { handOverChunks, isHandedOver } from '../../src/store/handed-over.js';
import { putReceived, Received } from '../../src/store/received.js';
import { checkReply } from '../../src/sync/verify.js';
import { announcementsFor, chunkOf, addressOf, describeChunkStoreContract } from './contract.js';

describeChunkStoreContract('MemoryChunkStore', {
  create: async (options) => new MemoryChunkStore(options),
});

describe('MemoryChunkStore options', () => {
  it('refuses an invalid maxChunkSize, and a misspelt option, with INVALID_OPTION naming it', () => {
    for (const maxChunkSize of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryChunkStore({ maxChunkSize })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', option: 'maxChunkSize' }));
    }
    expect(() => new MemoryChunkStore({ maxChunkSise: 10 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', option: 'maxChunkSise' }));
    expect(() => new MemoryChain({ maxReadLimt: 10 } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION', option: 'maxReadLimt' }));
    expect(new MemoryChunkStore({ maxChunkSize: 10 }).maxChunkSize).toBe(10);
  });
});

describe('MemoryChunkStore reads', () => {
  it('serves its kept bytes without a copy (getShared), and gives every other reader a copy of its own (get)', async () => {
    const store = new MemoryChunkStore();
    const chunk = chunkOf('kept once');
    const address = addressOf(chunk);
    await store.append(announcementsFor([address], 0));
    await store.put(chunk);
    const shared = store.getShared(address) as Uint8Array;
    expect(store.getShared(address)).toBe(shared);
    const own = store.get(address) as Uint8Array;
    expect(own).not.toBe(shared);
    own[0] = (own[0] as number) ^ 0xff;
    expect(Buffer.from(store.getShared(address) as Uint8Array).equals(Buffer.from(chunk))).toBe(true);
  });
});

describe('a cut whose backend fails after committing', () => {
  it('leaves reads asking the address index, so no chunk it cut is served, until the store reopens', async () => {
    /** Commits the cut, then fails, as a backend whose work after its commit throws would. */
    class FailingAfterCut extends MemoryBackend {
      override async truncate(length: number, old: number, firstDroppedCheckpoint: number): Promise<void> {
        await super.truncate(length, old, firstDroppedCheckpoint);
        throw new Error('failed after the commit');
      }
    }
    const store = new BackedChunkStore(new FailingAfterCut());
    const [a, b] = [chunkOf('cut then fail a'), chunkOf('cut then fail b')];
    await store.append(announcementsFor([addressOf(a), addressOf(b)], 0));
    await store.putMany([a, b]);
    await expect(store.truncate(1)).rejects.toThrow('failed after the commit');
    // The state this test is about: the store's counters were not updated (they still say both
    // chunks are announced, so they alone would let reads skip the index), while the sequence the
    // backend holds no longer announces b.
    expect(store.chunkCount()).toBe(2);
    expect(store.get(addressOf(b))).toBeUndefined();
    expect(store.has(addressOf(b))).toBe(false);
    expect(store.get(addressOf(a))).toBeDefined();
    await store.close();
  });
});

describe('chunks handed over by the library', () => {
  /** Records the bytes each storeChunks call is given; `keeps`: whether it says it keeps them as given. */
  class RecordingBackend extends MemoryBackend {
    readonly given: Uint8Array[] = [];
    override readonly keepsChunkBytes: boolean;
    constructor(keeps: boolean) {
      super();
      this.keepsChunkBytes = keeps;
    }
    override async storeChunks(writes: ChunkWrites): Promise<boolean[]> {
      this.given.push(...writes.data);
      // A backend that says it does not keep them writes them during the call: a copy.
      return super.storeChunks(this.keepsChunkBytes ? writes : { ...writes, data: writes.data.map((data) => Uint8Array.prototype.slice.call(data)) });
    }
  }

  it('reach a backend that writes them during the call as they are, where any other list reaches it copied', async () => {
    const backend = new RecordingBackend(false);
    const store = new BackedChunkStore(backend);
    const [a, b] = [chunkOf('handed over by the downloader'), chunkOf('put by an embedder')];
    await store.append(announcementsFor([addressOf(a), addressOf(b)], 0));

    const handedOver = handOverChunks([{ address: addressOf(a), data: a }]);
    expect(isHandedOver(handedOver)).toBe(true);
    expect(await store.putVerified(handedOver)).toMatchObject([{ ok: true, added: true }]);
    expect(backend.given[0]).toBe(a);

    const plain = [{ address: addressOf(b), data: b }];
    expect(isHandedOver(plain)).toBe(false);
    expect(await store.putVerified(plain)).toMatchObject([{ ok: true, added: true }]);
    expect(backend.given[1]).not.toBe(b);
    expect(Buffer.from(backend.given[1] as Uint8Array).equals(b)).toBe(true);
  });

  it('go through putVerified when a store overrides it: a subclass of the library\'s store sees the downloader\'s chunks', async () => {
    const seen: string[] = [];
    class Watching extends MemoryChunkStore {
      override putVerified(chunks: readonly VerifiedChunk[]): Promise<PutOutcome[]> {
        for (const chunk of chunks) seen.push(chunk.address);
        return super.putVerified(chunks);
      }
    }
    const store = new Watching();
    const a = chunkOf('seen by an override');
    await store.append(announcementsFor([addressOf(a)], 0));
    const check = checkReply([{ address: addressOf(a), data: a }], [0], [0]);
    const outcome = await putReceived(store, { ...check.batch, handedOver: true }, check.addresses);
    expect(Array.from(outcome.status)).toEqual([Received.ADDED]);
    expect(outcome.positions).toEqual([[0]]);
    expect(seen).toEqual([addressOf(a)]);
  });

  it('reach it so as received batches (the downloader\'s columns) too: as they are when handed over, copied when not', async () => {
    const backend = new RecordingBackend(false);
    const store = new BackedChunkStore(backend);
    const [a, b] = [chunkOf('received and handed over'), chunkOf('received, not handed over')];
    await store.append(announcementsFor([addressOf(a), addressOf(b)], 0));
    for (const [data, handedOver] of [[a, true], [b, false]] as const) {
      const check = checkReply([{ address: addressOf(data), data }], [0], [handedOver ? 0 : 1]);
      const outcome = await putReceived(store, { ...check.batch, handedOver }, check.addresses);
      expect(Array.from(outcome.status)).toEqual([Received.ADDED]);
    }
    expect(backend.given[0]).toBe(a);
    expect(backend.given[1]).not.toBe(b);
    expect(Buffer.from(backend.given[1] as Uint8Array).equals(b)).toBe(true);
  });

  it('are copied all the same for a backend that keeps what it is given (the memory backend)', async () => {
    const backend = new RecordingBackend(true);
    const store = new BackedChunkStore(backend);
    const a = chunkOf('handed over to a keeping backend');
    await store.append(announcementsFor([addressOf(a)], 0));
    expect(await store.putVerified(handOverChunks([{ address: addressOf(a), data: a }]))).toMatchObject([{ ok: true, added: true }]);
    expect(backend.given[0]).not.toBe(a);
    // It holds chunks past the call: bytes of the store's own, not views of the caller's.
    a.fill(0);
    expect(Buffer.from(store.get(addressOf(Buffer.from('handed over to a keeping backend'))) as Uint8Array).toString()).toBe('handed over to a keeping backend');
    expect(new MemoryBackend().keepsChunkBytes).toBe(true);
  });
});

describe('the length a backend is told to expect', () => {
  /** Records every expectChunks call, and the storeChunks calls between them. */
  class ExpectingBackend extends MemoryBackend {
    readonly calls: string[] = [];
    expectChunks(count: number): void {
      this.calls.push(`expect ${count}`);
    }
    override async storeChunks(writes: ChunkWrites): Promise<boolean[]> {
      this.calls.push(`store ${writes.count}`);
      return super.storeChunks(writes);
    }
  }

  it('is told at open and whenever the sequence grows or is cut, and not with each write', async () => {
    const backend = new ExpectingBackend();
    const store = new BackedChunkStore(backend);
    const chunks = ['expected a', 'expected b', 'expected c'].map((text) => chunkOf(text));
    await store.append(announcementsFor(chunks.slice(0, 2).map(addressOf), 0));
    await store.putMany(chunks.slice(0, 1));
    await store.putMany(chunks.slice(1, 2));
    await store.append(announcementsFor([addressOf(chunks[2] as Uint8Array)], 2));
    await store.truncate(1);
    expect(backend.calls).toEqual(['expect 0', 'expect 2', 'store 1', 'store 1', 'expect 3', 'expect 1']);
    await store.close();
  });
});
