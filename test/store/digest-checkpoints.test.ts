/**
 * A damaged sequence-digest checkpoint is not trusted at open: the link into the last checkpoint
 * is checked against the sequence, and when it does not hold every checkpoint is hashed again,
 * the damaged ones rewritten, with a warning.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openLmdb } from 'lmdb';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { DIGEST_CHECKPOINT_INTERVAL, SequenceDigest, digestOf } from '../../src/store/sequence-digest.js';
import { addressOf, announcementsFor, chunkOf } from './contract.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-digest-checkpoints-'));
let counter = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Flips `bits` of byte `at` of `bytes`. */
function flip(bytes: Buffer | undefined, at: number, bits: number): void {
  if (bytes === undefined) throw new Error('no checkpoint to damage');
  bytes.writeUInt8((bytes.readUInt8(at) ^ bits) & 0xff, at);
}

const raw = (count: number, salt: string) => Array.from({ length: count }, (_, i) => Buffer.from(addressOf(chunkOf(`${salt} ${i}`)), 'hex'));

describe('SequenceDigest.restore', () => {
  const addresses = raw(3 * DIGEST_CHECKPOINT_INTERVAL + 50, 'restore');
  const read = (from: number, to: number) => addresses.slice(from, to);
  const truth = (length: number) => Buffer.from(digestOf(addresses.slice(0, length)));
  const persisted = () => [undefined, 1, 2, 3].map((k) => (k === undefined ? undefined : truth(k * DIGEST_CHECKPOINT_INTERVAL)));

  it('trusts checkpoints whose last link holds, and rebuilds nothing', () => {
    const { digest, rebuilt } = SequenceDigest.restore(read, addresses.length, persisted());
    expect(rebuilt).toEqual([]);
    expect(Buffer.from(digest.digest())).toEqual(truth(addresses.length));
  });

  for (const damaged of [3, 2]) {
    it(`catches a flipped bit in checkpoint ${damaged} of 3 and rebuilds exactly it`, () => {
      const checkpoints = persisted();
      flip(checkpoints[damaged], 7, 0x10);
      const { digest, rebuilt } = SequenceDigest.restore(read, addresses.length, checkpoints);
      expect(rebuilt.map((checkpoint) => checkpoint.index)).toEqual([damaged]);
      expect(Buffer.from(rebuilt[0]?.digest as Uint8Array)).toEqual(truth(damaged * DIGEST_CHECKPOINT_INTERVAL));
      for (const length of [0, 1_000, 1_024, 2_047, 2_048, 2_100, 3_072, addresses.length]) {
        expect(Buffer.from(digest.digest(length))).toEqual(truth(length));
      }
    });
  }

  it('catches a checkpoint of the wrong length followed by a damaged one', () => {
    const checkpoints: (Buffer | undefined)[] = persisted();
    checkpoints[2] = Buffer.alloc(3);
    flip(checkpoints[3], 0, 1);
    const { digest, rebuilt } = SequenceDigest.restore(read, addresses.length, checkpoints);
    expect(rebuilt.map((checkpoint) => checkpoint.index)).toEqual([2, 3]);
    expect(Buffer.from(digest.digest())).toEqual(truth(addresses.length));
  });
});

describe('LmdbChunkStore with a damaged checkpoint in data.mdb', () => {
  for (const [positions, damaged] of [[2_100, 2], [3_100, 2]] as const) {
    it(`reports the true digest of ${positions} positions with checkpoint ${damaged} damaged, warns, and repairs it`, async () => {
      const path = join(root, `store-${counter++}`);
      const addresses = Array.from({ length: positions }, (_, i) => addressOf(chunkOf(`position ${i}`)));
      let store = await LmdbChunkStore.open({ path, chunkStorage: 'lmdb' });
      await store.append(announcementsFor(addresses, 0));
      await store.close();
      const memory = new MemoryChunkStore();
      await memory.append(announcementsFor(addresses, 0));

      const env = openLmdb({ path, maxDbs: 8 });
      const checkpoints = env.openDB<Buffer, number>('checkpoints', { keyEncoding: 'uint32', encoding: 'binary' });
      const value = Buffer.from(checkpoints.get(damaged) as Buffer);
      flip(value, 0, 1);
      await checkpoints.put(damaged, value);
      await env.close();

      const warnings: string[] = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => void warnings.push(message) };
      store = await LmdbChunkStore.open({ path, logger });
      expect(warnings.length).toBe(1);
      for (const length of [1_500, 2_048, 2_100, positions]) expect(store.sequenceDigest(length)).toBe(memory.sequenceDigest(length));
      await store.close();
      warnings.length = 0;
      store = await LmdbChunkStore.open({ path, logger });
      expect(warnings).toEqual([]);
      expect(store.sequenceDigest()).toBe(memory.sequenceDigest());
      await store.close();
    });
  }
});
