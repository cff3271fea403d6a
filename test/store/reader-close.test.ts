/**
 * A verified reader's failed discard settling after the store began closing (close() marks the
 * store closed at once and lets queued writes finish): the failure is still reported through
 * discardFailed, once, and nothing throws in the rejection handler (an unhandled rejection ends
 * a Node process). The reader no longer asks the store whether it still holds the chunk there.
 */
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { hashReady } from '../../src/hash/index.js';
import { BackedChunkStore } from '../../src/store/chunk-store.js';
import { MemoryBackend } from '../../src/store/memory.js';
import type { ChunkStore, DiscardOutcome } from '../../src/store/types.js';
import { VerifiedReader } from '../../src/store/verified-read.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

class FailingRemove extends MemoryBackend {
  override async removeChunk(): Promise<void> {
    throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
  }
}

/** A store holding one chunk whose record is damaged in place, and whose removals all fail. */
async function damagedStore(seed: string): Promise<{ store: BackedChunkStore; address: string }> {
  await hashReady();
  const backend = new FailingRemove();
  const store = new BackedChunkStore(backend);
  const chunk = chunkOf(seed);
  const address = addressOf(chunk);
  await store.append(announcementsFor([address], 0));
  await store.put(chunk);
  const record = backend.chunks.get(address) as Uint8Array;
  record[1] = (record[1] as number) ^ 0x40;
  return { store, address };
}

/** Runs `body` and answers the unhandled rejections seen meanwhile (and for 50 ms after). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.prependListener('unhandledRejection', onUnhandled);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.removeListener('unhandledRejection', onUnhandled);
  }
  return unhandled;
}

describe('a failed discard settling while the store closes', () => {
  it('is reported once through discardFailed, with no unhandled rejection', async () => {
    const { store, address } = await damagedStore('reader close');
    const failed: { address: string; code: unknown }[] = [];
    const reader = new VerifiedReader(store, { discardFailed: (at, error) => void failed.push({ address: at, code: (error as { code?: unknown }).code }) });
    const unhandled = await unhandledDuring(async () => {
      // The reader quarantines the chunk and queues its discard; the node then closes the store.
      expect(reader.read([address]).missing).toEqual([address]);
      await store.close(); // the queued discard still runs, and its removal fails
    });
    expect(unhandled).toEqual([]);
    expect(failed).toEqual([{ address, code: 'STORE_IO' }]);
  });

  it('a store that throws from has() after the failure (another ChunkStore) keeps the chunk quarantined, and reports once', async () => {
    await hashReady();
    const chunk = chunkOf('reader close, another store');
    const address = addressOf(chunk);
    const bad = Uint8Array.from(chunk, (byte, i) => (i === 1 ? byte ^ 0x40 : byte));
    let closed = false;
    const store = {
      get: () => bad,
      has: () => {
        if (closed) throw new AtlasError(ErrorCodes.CLOSED, 'the chunk store is closed');
        return true;
      },
      discard: async (): Promise<DiscardOutcome> => {
        closed = true;
        throw new AtlasError(ErrorCodes.STORE_IO, 'cannot remove');
      },
    } as unknown as ChunkStore;
    const failed: unknown[] = [];
    const reader = new VerifiedReader(store, { discardFailed: (_at, error) => void failed.push(error) });
    const unhandled = await unhandledDuring(async () => {
      expect(reader.read([address]).missing).toEqual([address]);
    });
    expect(unhandled).toEqual([]);
    expect(failed).toHaveLength(1);
    // Still quarantined: the store could not say it stopped serving the bad bytes.
    closed = false;
    expect(reader.read([address]).missing).toEqual([address]);
    expect(reader.corruptFound).toBe(1);
  });

  it('a discardFailed hook that throws ends in no unhandled rejection', async () => {
    const { store, address } = await damagedStore('reader close, throwing hook');
    let calls = 0;
    const reader = new VerifiedReader(store, {
      discardFailed: () => {
        calls++;
        throw new Error('a logger that throws');
      },
    });
    const unhandled = await unhandledDuring(async () => {
      expect(reader.read([address]).missing).toEqual([address]);
    });
    expect(unhandled).toEqual([]);
    expect(calls).toBe(1);
    await store.close();
  });
});
