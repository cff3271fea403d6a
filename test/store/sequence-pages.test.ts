import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { InvalidOptionError } from '../../src/errors.js';
import { AtlasNode } from '../../src/node/index.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { DEFAULT_SEQUENCE_CACHE_BYTES, SEQUENCE_PAGE_BYTES, SEQUENCE_PAGE_POSITIONS, SequencePages } from '../../src/store/sequence-pages.js';

const PAGE = SEQUENCE_PAGE_POSITIONS;

const root = mkdtempSync(join(tmpdir(), 'atlasnet-pages-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A distinct 20-byte address per (position, generation): a cut and re-announced position gets another. */
function addressBytes(position: number, generation = 0): Buffer {
  const bytes = Buffer.alloc(20, generation + 1);
  bytes.writeUInt32BE(position, 0);
  return bytes;
}

/** A sequence in an array, read the way LMDB's range scan reads it, counting the scans and positions read. */
function fakeSequence(length: number) {
  const addresses = Array.from({ length }, (_, i) => addressBytes(i));
  const reads = { scans: 0, positions: 0 };
  const read = function* (from: number, to: number): Iterable<Uint8Array> {
    reads.scans++;
    for (let p = from; p < Math.min(to, addresses.length); p++) {
      reads.positions++;
      yield addresses[p] as Buffer;
    }
  };
  return { addresses, reads, read };
}

const same = (hex: string | undefined, b: Uint8Array) => hex !== undefined && hex === Buffer.from(b).toString('hex');

describe('SequencePages', () => {
  it('reads a page in one scan on its first use and answers every position of it from memory', () => {
    const sequence = fakeSequence(SEQUENCE_PAGE_POSITIONS + 100);
    const pages = new SequencePages(sequence.read, 4 * SEQUENCE_PAGE_BYTES);
    expect(same(pages.hexAt(70), sequence.addresses[70] as Buffer)).toBe(true);
    expect(sequence.reads).toEqual({ scans: 1, positions: SEQUENCE_PAGE_POSITIONS });
    for (const p of [0, 1, PAGE - 1, PAGE >> 1]) {
      expect(same(pages.hexAt(p), sequence.addresses[p] as Buffer)).toBe(true);
      expect(pages.hexAt(p)).toBe((sequence.addresses[p] as Buffer).toString('hex'));
      expect(pages.matches(p, sequence.addresses[p] as Buffer)).toBe(true);
      // Another position's address, and one differing in its last byte only, are not this one.
      expect(pages.matches(p, sequence.addresses[p + 1] as Buffer)).toBe(false);
      const lastByteOff = Buffer.from(sequence.addresses[p] as Buffer);
      lastByteOff.writeUInt8(lastByteOff.readUInt8(19) ^ 1, 19);
      expect(pages.matches(p, lastByteOff)).toBe(false);
    }
    expect(sequence.reads.scans).toBe(1);
    // The second page holds only the sequence's last 100 positions.
    expect(same(pages.hexAt(SEQUENCE_PAGE_POSITIONS + 99), sequence.addresses[SEQUENCE_PAGE_POSITIONS + 99] as Buffer)).toBe(true);
    expect(sequence.reads).toEqual({ scans: 2, positions: SEQUENCE_PAGE_POSITIONS + 100 });
    expect(pages.bytes).toBe(2 * SEQUENCE_PAGE_BYTES);
  });

  it('holds no more pages than its bound, and never evicts one: past it, a position is not answered (read from LMDB instead)', () => {
    const sequence = fakeSequence(3 * SEQUENCE_PAGE_POSITIONS);
    const pages = new SequencePages(sequence.read, 2 * SEQUENCE_PAGE_BYTES + SEQUENCE_PAGE_BYTES / 2);
    expect(pages.hexAt(0)).toBeDefined();
    expect(pages.hexAt(SEQUENCE_PAGE_POSITIONS)).toBeDefined();
    const scans = sequence.reads.scans;
    expect(pages.hexAt(2 * SEQUENCE_PAGE_POSITIONS)).toBeUndefined();
    expect(pages.hexAt(2 * SEQUENCE_PAGE_POSITIONS + 1)).toBeUndefined();
    expect(pages.matches(2 * SEQUENCE_PAGE_POSITIONS + 1, sequence.addresses[2 * SEQUENCE_PAGE_POSITIONS + 1] as Buffer)).toBeUndefined();
    expect(sequence.reads.scans).toBe(scans); // nothing read for a page it has no room for
    expect(same(pages.hexAt(5), sequence.addresses[5] as Buffer)).toBe(true); // the first page stays
    expect(pages.bytes).toBe(2 * SEQUENCE_PAGE_BYTES);

    const none = new SequencePages(sequence.read, SEQUENCE_PAGE_BYTES - 1);
    expect(none.hexAt(0)).toBeUndefined();
    expect(none.bytes).toBe(0);
  });

  it('keeps no page where nothing is stored (a position past the end)', () => {
    const sequence = fakeSequence(10);
    const pages = new SequencePages(sequence.read, SEQUENCE_PAGE_BYTES);
    expect(pages.hexAt(PAGE + 3)).toBeUndefined();
    expect(pages.bytes).toBe(0);
    // Its one page of room is still there for the positions that exist.
    expect(same(pages.hexAt(3), sequence.addresses[3] as Buffer)).toBe(true);
    expect(pages.bytes).toBe(SEQUENCE_PAGE_BYTES);
  });

  it('reads only the positions the sequence grew by into a page it holds, and answers none past the end', () => {
    const sequence = fakeSequence(10);
    const pages = new SequencePages(sequence.read, SEQUENCE_PAGE_BYTES);
    expect(pages.hexAt(10)).toBeUndefined();
    expect(same(pages.hexAt(9), sequence.addresses[9] as Buffer)).toBe(true);
    expect(sequence.reads.positions).toBe(10);
    sequence.addresses.push(addressBytes(10), addressBytes(11));
    expect(same(pages.hexAt(11), sequence.addresses[11] as Buffer)).toBe(true);
    expect(sequence.reads.positions).toBe(12);
  });

  it('forgets the positions a cut drops, so a re-announced position is read again', () => {
    const sequence = fakeSequence(SEQUENCE_PAGE_POSITIONS + 10);
    const pages = new SequencePages(sequence.read, 2 * SEQUENCE_PAGE_BYTES);
    expect(pages.hexAt(100)).toBeDefined();
    expect(pages.hexAt(SEQUENCE_PAGE_POSITIONS + 5)).toBeDefined();
    // Cut to 50 and announce other addresses from there on.
    sequence.addresses.length = 50;
    pages.dropFrom(50);
    expect(pages.bytes).toBe(SEQUENCE_PAGE_BYTES);
    expect(pages.hexAt(50)).toBeUndefined();
    for (let p = 50; p < 200; p++) sequence.addresses.push(addressBytes(p, 1));
    expect(same(pages.hexAt(100), addressBytes(100, 1))).toBe(true);
    expect(same(pages.hexAt(49), addressBytes(49))).toBe(true);
  });

  it('takes appended addresses into the pages they continue or begin, within the bound, so none is read back', () => {
    const sequence = fakeSequence(0);
    const pages = new SequencePages(sequence.read, 2 * SEQUENCE_PAGE_BYTES);
    const append = (from: number, to: number) => {
      for (let p = from; p < to; p++) sequence.addresses.push(addressBytes(p));
      pages.appended(from, Buffer.concat(sequence.addresses.slice(from, to)));
    };
    append(0, 100); // begins page 0
    append(100, PAGE + 50); // continues page 0, begins page 1
    append(PAGE + 50, 2 * PAGE + 10); // continues page 1; page 2 would be past the bound
    expect(pages.bytes).toBe(2 * SEQUENCE_PAGE_BYTES);
    for (const p of [0, 99, 100, PAGE - 1, PAGE, PAGE + 50, 2 * PAGE - 1]) expect(same(pages.hexAt(p), sequence.addresses[p] as Buffer), `position ${p}`).toBe(true);
    expect(sequence.reads.scans).toBe(0);
    expect(pages.hexAt(2 * PAGE + 3)).toBeUndefined(); // no room: read from LMDB instead
  });

  it('leaves to the first read an append that starts inside a page not held or after a part not yet read', () => {
    const sequence = fakeSequence(PAGE + 10);
    const pages = new SequencePages(sequence.read, 4 * SEQUENCE_PAGE_BYTES);
    for (let p = PAGE + 10; p < PAGE + 20; p++) sequence.addresses.push(addressBytes(p));
    pages.appended(PAGE + 10, Buffer.concat(sequence.addresses.slice(PAGE + 10, PAGE + 20)));
    expect(pages.bytes).toBe(0); // page 1 begins before the append: nothing to continue
    expect(same(pages.hexAt(PAGE + 15), sequence.addresses[PAGE + 15] as Buffer)).toBe(true);
    expect(sequence.reads).toEqual({ scans: 1, positions: 20 });
    // Page 1 now holds 20 positions; positions 20-29 are appended while 30-39 arrive apart (a gap).
    for (let p = PAGE + 20; p < PAGE + 40; p++) sequence.addresses.push(addressBytes(p));
    pages.appended(PAGE + 30, Buffer.concat(sequence.addresses.slice(PAGE + 30, PAGE + 40)));
    expect(same(pages.hexAt(PAGE + 35), sequence.addresses[PAGE + 35] as Buffer)).toBe(true);
    expect(sequence.reads.positions).toBe(40); // read from the gap on, as before
  });

  it('stops a page at a record that is not 20 bytes (a damaged store), leaving it to be read on its own', () => {
    const sequence = fakeSequence(10);
    sequence.addresses[4] = Buffer.alloc(7);
    const pages = new SequencePages(sequence.read, SEQUENCE_PAGE_BYTES);
    expect(same(pages.hexAt(3), sequence.addresses[3] as Buffer)).toBe(true);
    expect(pages.hexAt(4)).toBeUndefined();
    expect(pages.hexAt(6)).toBeUndefined();
  });
});

describe('LmdbChunkStore with sequence pages', () => {
  it('answers every position as LMDB holds it across pages, cuts and reopening, with pages on and off', async () => {
    const length = 3 * PAGE + 3_000;
    const cut = PAGE + 1_000; // back into the second page
    const hex = (bytes: Buffer) => bytes.toString('hex');
    const announce = (from: number, to: number, generation: number) =>
      Array.from({ length: to - from }, (_, i) => ({ position: from + i, address: hex(addressBytes(from + i, generation)) }));
    const probes = [0, 1, PAGE - 1, PAGE, cut - 1, cut, cut + 1, 2 * PAGE + 5, length - 1];
    const generationAt = (p: number) => (p >= cut ? 1 : 0);
    for (const sequenceCacheBytes of [undefined, 0]) {
      const path = join(root, `store-${sequenceCacheBytes ?? 'default'}`);
      let store = await LmdbChunkStore.open({ path, noSync: true, ...(sequenceCacheBytes !== undefined ? { sequenceCacheBytes } : {}) });
      await store.append(announce(0, length, 0));
      for (const p of probes) expect(store.addressAt(p)).toBe(hex(addressBytes(p)));
      expect(store.positionsOf(hex(addressBytes(2 * PAGE + 7)))).toEqual([2 * PAGE + 7]);
      // A reorganisation back into the second page, then other announcements from there on.
      await store.truncate(cut);
      expect(store.addressAt(cut)).toBeUndefined();
      expect(store.positionsOf(hex(addressBytes(cut + 1)))).toEqual([]);
      await store.append(announce(cut, length, 1));
      for (const p of probes) expect(store.addressAt(p)).toBe(hex(addressBytes(p, generationAt(p))));
      expect(store.positionsOf(hex(addressBytes(cut + 1, 1)))).toEqual([cut + 1]);
      // The same addresses as bytes end to end, from the pages or from LMDB alike; none past the end.
      expect(hex(Buffer.from(store.packedAddressesAt(probes) as Uint8Array))).toBe(probes.map((p) => hex(addressBytes(p, generationAt(p)))).join(''));
      expect(store.packedAddressesAt([0, length])).toBeUndefined();
      if (sequenceCacheBytes === undefined) expect(store.sequenceCache.bytes).toBeGreaterThan(0);
      await store.close();
      expect(store.sequenceCache.bytes).toBe(0); // a closed store still referenced holds no pages
      store = await LmdbChunkStore.open({ path, noSync: true });
      for (const p of probes) expect(store.addressAt(p)).toBe(hex(addressBytes(p, generationAt(p))));
      await store.close();
    }
  });

  it('holds the bound a node is opened with, in whole pages (AtlasNode.open; default 32 MiB)', async () => {
    const network = new MemoryNetwork();
    try {
      const cases: [number | undefined, number][] = [
        [undefined, DEFAULT_SEQUENCE_CACHE_BYTES - (DEFAULT_SEQUENCE_CACHE_BYTES % SEQUENCE_PAGE_BYTES)],
        [0, 0],
        [3 * SEQUENCE_PAGE_BYTES + 5, 3 * SEQUENCE_PAGE_BYTES],
      ];
      for (const [sequenceCacheBytes, maxBytes] of cases) {
        const chain = new MemoryChain();
        chain.announce('ab'.repeat(20));
        const node = await AtlasNode.open({
          chain,
          transport: network.transport(`n${String(sequenceCacheBytes)}`),
          dataDir: join(root, `node-${String(sequenceCacheBytes)}`),
          ...(sequenceCacheBytes !== undefined ? { sequenceCacheBytes } : {}),
        });
        try {
          const { store } = node;
          // The announcement appended at open began the first page (none when the bound is 0).
          expect(store.sequenceCache).toEqual({ bytes: maxBytes === 0 ? 0 : SEQUENCE_PAGE_BYTES, maxBytes });
          expect(store.addressAt(0)).toBe('ab'.repeat(20));
          // Reading it takes no page more (and, with a bound of 0, none at all).
          expect(store.sequenceCache?.bytes).toBe(maxBytes === 0 ? 0 : SEQUENCE_PAGE_BYTES);
        } finally {
          await node.close();
        }
      }
    } finally {
      await network.close();
    }
  });

  it('refuses a sequenceCacheBytes that is not a whole number of bytes >= 0, creating nothing', async () => {
    for (const sequenceCacheBytes of [-1, 1.5, Number.NaN]) {
      const path = join(root, `refused-${String(sequenceCacheBytes)}`);
      const error = await LmdbChunkStore.open({ path, sequenceCacheBytes }).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('sequenceCacheBytes');
      expect(existsSync(path)).toBe(false);
    }
  });
});
