import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

vi.mock('../../src/hash/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/hash/index.js')>();
  return { ...original, hash160Batch: vi.fn(original.hash160Batch) };
});

const { hash160Batch } = await import('../../src/hash/index.js');
const { admitChunks, admitVerified, verifyClaimed } = await import('../../src/store/admission.js');
const { MemoryChunkStore } = await import('../../src/store/memory.js');
const { digestOf, DIGEST_CHECKPOINT_INTERVAL, SequenceDigest, ZERO_DIGEST } = await import('../../src/store/sequence-digest.js');

/** hash160 written out with node:crypto, independent of src/hash. */
const reference = (data: Uint8Array) => createHash('ripemd160').update(createHash('sha256').update(data).digest()).digest();
const addressOf = (data: Uint8Array) => reference(data).toString('hex');
const bytes = (text: string) => new TextEncoder().encode(text);
const outcome = (o: { ok: boolean; error?: { code: string } }) => (o.ok ? 'ok' : o.error?.code);

describe('admission', () => {
  it('hashes every admissible chunk of a batch in one hash160Batch call, and never an oversized one', () => {
    const chunks = [bytes('one'), new Uint8Array(0), bytes('two'), new Uint8Array(11), bytes('three')];
    const announced = new Set([addressOf(chunks[0]!), addressOf(chunks[4]!)]);
    vi.mocked(hash160Batch).mockClear();
    const results = admitChunks(chunks, 10, (a) => announced.has(a));
    expect(vi.mocked(hash160Batch)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(hash160Batch).mock.calls[0]?.[0]).toEqual([chunks[0], chunks[2], chunks[4]]);
    expect(results.map(outcome)).toEqual(['ok', 'CHUNK_EMPTY', 'NOT_ANNOUNCED', 'CHUNK_TOO_LARGE', 'ok']);
    expect(results[2]?.address).toBe(addressOf(chunks[2]!));
    expect(results[3]?.address).toBeUndefined();
  });

  it('putMany of a store makes exactly one hash call per batch', async () => {
    const store = new MemoryChunkStore();
    const chunks = Array.from({ length: 50 }, (_, i) => bytes(`chunk ${i}`));
    await store.append(chunks.map((c, position) => ({ position, address: addressOf(c) })));
    vi.mocked(hash160Batch).mockClear();
    const outcomes = await store.putMany(chunks);
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(vi.mocked(hash160Batch)).toHaveBeenCalledTimes(1);
  });

  it('verifyClaimed refuses a chunk whose hash is not its claimed address (HASH_MISMATCH)', () => {
    const good = bytes('genuine');
    const forged = bytes('forged');
    vi.mocked(hash160Batch).mockClear();
    const results = verifyClaimed(
      [
        { address: addressOf(good).toUpperCase(), data: good },
        { address: addressOf(good), data: forged },
        { address: 'short', data: good },
        { address: addressOf(good), data: new Uint8Array(0) },
      ],
      100,
    );
    expect(vi.mocked(hash160Batch)).toHaveBeenCalledTimes(1);
    expect(results.map(outcome)).toEqual(['ok', 'HASH_MISMATCH', 'BAD_ADDRESS', 'CHUNK_EMPTY']);
    expect(results[0]?.address).toBe(addressOf(good));
    expect(results[1]).toMatchObject({ ok: false, error: { details: { address: addressOf(good), actual: addressOf(forged) } } });
  });

  it('admitVerified trusts the hash but checks address form, size and announcement', () => {
    const data = bytes('verified');
    vi.mocked(hash160Batch).mockClear();
    const results = admitVerified(
      [
        { address: addressOf(data), data },
        { address: 'ZZ'.repeat(20), data },
        { address: addressOf(data), data: new Uint8Array(5) },
        { address: '11'.repeat(20), data },
      ],
      4,
      (a) => a === addressOf(data),
    );
    expect(vi.mocked(hash160Batch)).not.toHaveBeenCalled();
    expect(results.map(outcome)).toEqual(['CHUNK_TOO_LARGE', 'BAD_ADDRESS', 'CHUNK_TOO_LARGE', 'CHUNK_TOO_LARGE']);
    expect(admitVerified([{ address: '11'.repeat(20), data: bytes('x') }], 4, () => false).map(outcome)).toEqual(['NOT_ANNOUNCED']);
  });
});

describe('sequence digest', () => {
  it('follows d0 = 20 zero bytes, d(i+1) = hash160(d(i) || address(i))', () => {
    const addresses = [bytes('a'), bytes('b'), bytes('c')].map(reference);
    let expected = Buffer.alloc(20);
    for (const address of addresses) expected = reference(Buffer.concat([expected, address]));
    expect(Buffer.from(digestOf(addresses)).equals(expected)).toBe(true);
    expect(Buffer.from(digestOf([])).equals(Buffer.alloc(20))).toBe(true);
    expect(Buffer.from(ZERO_DIGEST).equals(Buffer.alloc(20))).toBe(true);
  });

  it('keeps one checkpoint per interval and restores from them, rebuilding what is missing', () => {
    const addresses = Array.from({ length: 3 * DIGEST_CHECKPOINT_INTERVAL + 10 }, (_, i) => reference(bytes(`p${i}`)));
    const read = (from: number, to: number) => addresses.slice(from, to);
    const digest = SequenceDigest.empty(read);
    const plan = digest.planAppend(Buffer.concat(addresses)); // the store packs an append's addresses
    expect(plan.checkpoints.map((c) => c.index)).toEqual([1, 2, 3]);
    expect(digest.length).toBe(0);
    digest.commitAppend(plan);
    expect(digest.checkpointCount).toBe(4);
    for (const length of [0, 5, DIGEST_CHECKPOINT_INTERVAL, 2 * DIGEST_CHECKPOINT_INTERVAL + 1, addresses.length]) {
      expect(Buffer.from(digest.digest(length)).equals(Buffer.from(digestOf(addresses.slice(0, length))))).toBe(true);
    }
    const persisted = [undefined, digest.checkpoint(1), digest.checkpoint(2)];
    const { digest: restored, rebuilt } = SequenceDigest.restore(read, addresses.length, persisted);
    expect(rebuilt.map((c) => c.index)).toEqual([3]);
    expect(restored.digestHex()).toBe(digest.digestHex());
    // Nothing persisted: every checkpoint is rebuilt, each the digest of its prefix.
    const fromScratch = SequenceDigest.restore(read, addresses.length, []);
    expect(fromScratch.rebuilt.map((c) => c.index)).toEqual([1, 2, 3]);
    for (const { index, digest: checkpoint } of fromScratch.rebuilt) {
      expect(Buffer.from(checkpoint).equals(Buffer.from(digestOf(addresses.slice(0, index * DIGEST_CHECKPOINT_INTERVAL))))).toBe(true);
    }
    expect(fromScratch.digest.digestHex()).toBe(digest.digestHex());
    restored.truncate(DIGEST_CHECKPOINT_INTERVAL + 1);
    expect(restored.checkpointCount).toBe(2);
    expect(restored.digestHex()).toBe(Buffer.from(digestOf(addresses.slice(0, DIGEST_CHECKPOINT_INTERVAL + 1))).toString('hex'));
    expect(() => digest.commitAppend(plan)).toThrow(/stale/);
  });
});
