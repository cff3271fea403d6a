/**
 * The in-memory address -> positions index against a plain Map model, through random appends
 * (fresh, repeated and hash-colliding addresses), truncations and lookups.
 */
import { describe, expect, it } from 'vitest';
import { AddressArray } from '../../src/store/address-array.js';
import { AddressIndex, homeSlot, keyedAddressHasher, type AddressHasher } from '../../src/store/address-index.js';
import { mix32, randomInt, seededRandom, type Random } from '../../src/runtime.js';
import { withTypedArrayRefused } from '../support/refused-allocation.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function randomAddress(random: Random): Buffer {
  return Buffer.from(Array.from({ length: 20 }, () => randomInt(random, 256)));
}

/**
 * A weak hasher, to make collisions on purpose: the slot hash from bytes 0-7 and the tag from
 * bytes 8-15 (keyed by `seed`), so addresses sharing those bytes share the hash or the tag. The
 * index's own hasher covers all 20 bytes (see the last test).
 */
function prefixHasher(seed: Uint8Array): AddressHasher {
  const s0 = Buffer.from(seed).readUInt32LE(0);
  const s1 = Buffer.from(seed).readUInt32LE(4);
  const word = (key: Uint8Array, at: number) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).readUInt32LE(at);
  return (key, at = 0) =>
    mix32(Math.imul(word(key, at) ^ s0, 0xcc9e2d51) ^ Math.imul(word(key, at + 4) ^ s1, 0x1b873593)) * 256 +
    (mix32(Math.imul(word(key, at + 8) ^ s1, 0x85ebca6b) ^ Math.imul(word(key, at + 12) ^ s0, 0xc2b2ae35)) >>> 24);
}

/** The slot hash and the tag an AddressHasher gives `key`. */
const hashOf = (hasher: AddressHasher, key: Uint8Array) => Math.floor(hasher(key) / 256);
const tagOf = (hasher: AddressHasher, key: Uint8Array) => hasher(key) % 256;

/** An address with the same slot hash and tag under prefixHasher (same first 16 bytes): only reading it back tells them apart. */
function twinOf(address: Uint8Array, random: Random, from = 16): Buffer {
  const twin = Buffer.from(address);
  do for (let i = from; i < 20; i++) twin[i] = randomInt(random, 256);
  while (twin.equals(Buffer.from(address)));
  return twin;
}

/** The index beside the sequence it reads, and the model: address -> ascending positions. */
class Harness {
  readonly sequence = new AddressArray();
  readonly index: AddressIndex;
  /** Positions read back from the sequence to confirm a candidate. */
  reads = 0;
  constructor(seed: Uint8Array) {
    this.index = new AddressIndex(
      (position, key) => {
        this.reads++;
        return this.sequence.isAt(position, key);
      },
      { hasher: prefixHasher(seed) },
    );
  }
  readonly model = new Map<string, number[]>();
  readonly seen: Buffer[] = [];

  append(keys: readonly Buffer[]): void {
    const start = this.sequence.length;
    keys.forEach((key) => this.sequence.push(key));
    keys.forEach((key, i) => {
      const list = this.model.get(hex(key));
      expect(this.index.add(key, start + i)).toBe(list !== undefined);
      if (list) list.push(start + i);
      else this.model.set(hex(key), [start + i]);
      this.seen.push(key);
    });
  }

  /** As the store does it: plan while the dropped positions are readable, apply once they are gone. */
  truncate(length: number): void {
    const dropped = new Map<string, Buffer>();
    for (const key of this.sequence.range(length, this.sequence.length)) dropped.set(hex(key), Buffer.from(key));
    const plan = this.index.planTruncate(length, [...dropped.values()]);
    this.sequence.truncate(length);
    this.index.applyTruncate(plan);
    [...dropped.keys()].forEach((address, i) => {
      const kept = (this.model.get(address) ?? []).filter((position) => position < length);
      if (kept.length === 0) this.model.delete(address);
      else this.model.set(address, kept);
      expect(plan.entries[i]?.stays).toBe(kept.length > 0);
    });
  }

  check(random: Random): void {
    expect(this.index.size).toBe(this.model.size);
    const probes = [...this.seen, randomAddress(random), ...this.seen.slice(-20).map((key) => twinOf(key, random))];
    for (const key of probes) {
      const expected = this.model.get(hex(key)) ?? [];
      expect(this.index.positionsOf(key), hex(key)).toEqual(expected);
      expect(this.index.has(key)).toBe(expected.length > 0);
      // A position hint, right or wrong, never changes the answer.
      const hints = [...expected, randomInt(random, this.sequence.length + 2), undefined];
      for (const hint of hints) expect(this.index.positionsNear(key, hint), `${hex(key)} near ${hint}`).toEqual(expected);
    }
  }
}

function pick(random: Random, keys: readonly Buffer[]): Buffer {
  return keys[randomInt(random, keys.length)] as Buffer;
}

describe('AddressArray', () => {
  it('compares an address in place, false past its end, at a cut position or a position that is no index', () => {
    const sequence = new AddressArray();
    const a = Buffer.alloc(20, 1);
    const b = Buffer.alloc(20, 1);
    b[19] = 2;
    sequence.push(a);
    sequence.push(b);
    expect([sequence.isAt(0, a), sequence.isAt(0, b), sequence.isAt(1, b), sequence.isAt(1, a)]).toEqual([true, false, true, false]);
    expect([sequence.isAt(2, a), sequence.isAt(-1, a), sequence.isAt(0.5, a)]).toEqual([false, false, false]);
    sequence.truncate(1);
    expect(sequence.isAt(1, b)).toBe(false);
  });
});

describe('AddressIndex', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`matches a Map through random appends, repeats, hash twins and truncations (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const h = new Harness(randomAddress(random).subarray(0, 8));
      for (let step = 0; step < 120; step++) {
        if (h.sequence.length > 0 && random() < 0.25) {
          h.truncate(randomInt(random, h.sequence.length + 1));
        } else {
          const batch: Buffer[] = [];
          const size = 1 + randomInt(random, 80);
          for (let i = 0; i < size; i++) {
            const roll = random();
            const pool = [...h.seen, ...batch];
            if (pool.length > 0 && roll < 0.15) batch.push(pick(random, pool)); // repeat, announced or truncated away
            else if (pool.length > 0 && roll < 0.3) batch.push(twinOf(pick(random, pool), random));
            else batch.push(randomAddress(random));
          }
          h.append(batch);
        }
        if (step % 10 === 9) h.check(random);
      }
      h.check(random);
      expect(h.sequence.length).toBeGreaterThan(0);
    });
  }

  it('answers a hinted address held only at its hint from one read of the sequence, without hashing it', () => {
    const random = seededRandom(12);
    let hashed = 0;
    const hasher = keyedAddressHasher();
    const sequence = new AddressArray();
    const index = new AddressIndex((position, key) => sequence.isAt(position, key), { hasher: (key) => (hashed++, hasher(key)) });
    const keys = Array.from({ length: 50 }, () => randomAddress(random));
    const append = (key: Buffer) => {
      sequence.push(key);
      index.add(key, sequence.length - 1);
    };
    keys.forEach(append);
    append(keys[9] as Buffer); // keys[9] at 9 and 50: repeated throughout, so the bitmap of repeated positions is always asked
    append(keys[7] as Buffer); // keys[7] at 7 and 51
    hashed = 0;
    expect(index.positionsNear(keys[3] as Buffer, 3)).toEqual([3]);
    expect(hashed).toBe(0);
    expect(index.positionsNear(keys[7] as Buffer, 7)).toEqual([7, 51]); // repeated: looked up
    expect(index.positionsNear(keys[7] as Buffer, 51)).toEqual([7, 51]);
    expect(index.positionsNear(keys[3] as Buffer, 4)).toEqual([3]); // a wrong hint: looked up
    expect(hashed).toBe(3);
    // The repeat is cut off: keys[7] is held once again, and position 51 now holds another address.
    const cut = (length: number, dropped: Buffer[]) => {
      const plan = index.planTruncate(length, dropped);
      sequence.truncate(length);
      index.applyTruncate(plan);
    };
    cut(51, [keys[7] as Buffer]);
    append(randomAddress(random));
    hashed = 0;
    expect(index.positionsNear(keys[7] as Buffer, 7)).toEqual([7]);
    expect(index.positionsNear(sequence.at(51) as Buffer, 51)).toEqual([51]);
    expect(hashed).toBe(0);
    expect(index.isRepeatedAt(9)).toBe(true);
    // A repeated address cut off entirely leaves none of its positions marked for the addresses after it.
    const gone = randomAddress(random);
    append(gone);
    append(gone); // at 52 and 53
    cut(52, [gone]);
    append(randomAddress(random));
    append(randomAddress(random));
    hashed = 0;
    expect(index.positionsNear(sequence.at(52) as Buffer, 52)).toEqual([52]);
    expect(index.positionsNear(sequence.at(53) as Buffer, 53)).toEqual([53]);
    expect(hashed).toBe(0);
  });

  it('grows past many table sizes and still finds every address, then empties completely', () => {
    const random = seededRandom(9);
    const h = new Harness(randomAddress(random).subarray(0, 8));
    for (let round = 0; round < 20; round++) h.append(Array.from({ length: 1_000 }, () => randomAddress(random)));
    h.append(h.seen.slice(0, 500)); // repeated once each
    h.check(random);
    expect(h.index.byteSize).toBeLessThan(20_500 * 24); // table and side lists, not a Map of strings
    h.truncate(10_000);
    h.check(random);
    h.truncate(0);
    h.check(random);
    expect(h.index.size).toBe(0);
  });

  it('survives tombstone churn: repeated truncations and re-appends of colliding addresses', () => {
    const random = seededRandom(5);
    const h = new Harness(randomAddress(random).subarray(0, 8));
    const base = randomAddress(random);
    const family = Array.from({ length: 40 }, () => twinOf(base, random)); // one probe run
    for (let round = 0; round < 200; round++) {
      h.append(Array.from({ length: 1 + randomInt(random, 10) }, () => pick(random, family)));
      h.append(Array.from({ length: 5 }, () => randomAddress(random)));
      if (round % 3 === 2) h.truncate(randomInt(random, h.sequence.length + 1));
    }
    h.check(random);
  });

  it('steps over removed entries: a run that wrapped past the table end is reordered by growth, then cut', () => {
    // Twins share a hash; one homed in the last slots of the first table (1,024) wraps to slot 0.
    // Growth re-inserts slot 0 first, so the youngest twins land before the oldest, and cutting
    // them leaves removed slots in the path to the survivors.
    const random = seededRandom(8);
    const seed = Buffer.from('0123456789abcdef', 'hex');
    const hasher = prefixHasher(seed);
    let base = randomAddress(random);
    while (homeSlot(hashOf(hasher, base), 1024) < 1021) base = randomAddress(random);
    const family = [base, ...Array.from({ length: 5 }, () => twinOf(base, random))];
    const h = new Harness(seed);
    h.append(family);
    h.append(Array.from({ length: 800 }, () => randomAddress(random))); // one growth, to 1,536 slots
    h.truncate(3);
    h.check(random);
    expect(h.index.positionsOf(family[0]!)).toEqual([0]);
  });

  it('tells apart addresses that share the slot hash by their tag, without reading the sequence', () => {
    const random = seededRandom(12);
    const seed = randomAddress(random).subarray(0, 8);
    const h = new Harness(seed);
    const base = randomAddress(random);
    const hasher = prefixHasher(seed);
    const tag = tagOf(hasher, base);
    // Same leading 8 bytes (so the same 32-bit hash), other bytes differing and tags differing.
    const family = [base];
    while (family.length < 30) {
      const twin = twinOf(base, random, 8);
      if (tagOf(hasher, twin) !== tag && family.every((member) => tagOf(hasher, member) !== tagOf(hasher, twin))) family.push(twin);
    }
    h.append(family);
    h.append(family.slice(0, 10)); // repeats, found by their own tags
    const readsToConfirm = h.reads;
    expect(readsToConfirm).toBe(10); // one read per repeat: its own entry; never a twin's
    h.check(random);
  });

  it('sizes its table up front: presized for a rebuild, and reserve() leaves nothing to allocate in the adds after it', () => {
    const random = seededRandom(10);
    const presized = new AddressIndex(() => false, { expected: 20_500 });
    expect(presized.byteSize).toBe(Math.ceil(20_500 / 0.75) * 9); // the fewest slots holding 20,500 at <= 0.75 load, 9 bytes each
    const h = new Harness(randomAddress(random).subarray(0, 8));
    h.index.reserve(5_000);
    const reserved = h.index.byteSize;
    expect(reserved).toBeGreaterThanOrEqual((5_000 / 0.75) * 8);
    h.append(Array.from({ length: 5_000 }, () => randomAddress(random)));
    expect(h.index.byteSize).toBe(reserved);
    h.check(random);
  });

  it('refuses a truncation plan made before the table was rebuilt', () => {
    const random = seededRandom(6);
    const h = new Harness(randomAddress(random).subarray(0, 8));
    h.append([randomAddress(random)]);
    const plan = h.index.planTruncate(0, [h.seen[0] as Buffer]);
    h.append(Array.from({ length: 2_000 }, () => randomAddress(random))); // forces growth
    expect(() => h.index.applyTruncate(plan)).toThrow(/stale/);
  });
});

describe('AddressIndex growth', () => {
  it('keeps its table whole when a growth cannot be allocated, so an append that reserved fails whole', () => {
    const random = seededRandom(21);
    const sequence = new AddressArray();
    const index = new AddressIndex((position, key) => sequence.isAt(position, key));
    const keys = Array.from({ length: 700 }, () => randomAddress(random));
    for (const key of keys) {
      sequence.push(key);
      index.add(key, sequence.length - 1);
    }
    const before = index.byteSize;
    // The new table is allocated, then its tags fail as an allocation past what the process may hold would.
    expect(() => withTypedArrayRefused(Uint8Array, 1_500, () => index.reserve(300))).toThrow(RangeError);
    expect(index.byteSize).toBe(before);
    expect(index.size).toBe(700);
    keys.forEach((key, position) => expect(index.positionsOf(key)).toEqual([position]));
    index.reserve(300);
    expect(index.byteSize).toBeGreaterThan(before);
    keys.forEach((key, position) => expect(index.positionsOf(key)).toEqual([position]));
  });
});

describe('keyedAddressHasher', () => {
  // Anyone can announce any 20 bytes, e.g. 20,000 addresses that differ only in their last bytes.
  const chosen = Array.from({ length: 20_000 }, (_, i) => Buffer.from(i.toString(16).padStart(40, '0'), 'hex'));

  it('spreads addresses that share 16 leading bytes over the table, under any key', () => {
    for (const key of [Buffer.alloc(8), Buffer.from('0123456789abcdef', 'hex')]) {
      const hasher = keyedAddressHasher(key);
      const perSlot = new Map<number, number>();
      for (const address of chosen) {
        const slot = homeSlot(hashOf(hasher, address), 32_768);
        perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
      }
      expect(perSlot.size).toBeGreaterThan(14_500); // random placement fills 14,972 of 32,768 slots on average (1 - e^-0.61)
      expect(Math.max(...perSlot.values())).toBeLessThan(10);
    }
    // The weak prefix hasher puts them all in one slot: that is the run the keyed hash prevents.
    expect(new Set(chosen.map((address) => hashOf(prefixHasher(Buffer.alloc(8)), address))).size).toBe(1);
  });

  it('is HalfSipHash-1-3 with a 64-bit output: the slot hash its first word, the tag the low byte of its second', () => {
    // Computed with an independent implementation of the reference halfsiphash.c (cROUNDS 1, dROUNDS 3, outlen 8).
    const expected: Record<string, number[]> = {
      '0001020304050607': [822438933992, 176687043149, 681869678767, 69084565429],
      ffffffffffffffff: [837047054291, 842915382353, 410947479555, 295829444024],
      '0123456789abcdef': [264351701055, 312930384168, 419117759891, 379812415590],
    };
    const addresses = ['00'.repeat(20), '000102030405060708090a0b0c0d0e0f10111213', 'ff'.repeat(20), 'b472a266d0bd89c13706a4132ccfb16f7c3b9fcb'];
    for (const [key, hashes] of Object.entries(expected)) {
      const hasher = keyedAddressHasher(Buffer.from(key, 'hex'));
      expect(addresses.map((address) => hasher(Buffer.from(address, 'hex')))).toEqual(hashes);
    }
    // At an offset inside a larger buffer, as the chunk log's batches are hashed.
    const framed = Buffer.concat([Buffer.alloc(3, 0xaa), Buffer.from(addresses[3] as string, 'hex'), Buffer.alloc(5, 0xbb)]);
    expect(keyedAddressHasher(Buffer.from('0001020304050607', 'hex'))(framed, 3)).toBe(69084565429);
  });

  it('places differently under another key, and gives a tag that depends on the whole address', () => {
    const a = keyedAddressHasher(Buffer.from('0001020304050607', 'hex'));
    const b = keyedAddressHasher(Buffer.from('0001020304050608', 'hex'));
    const sameHash = chosen.slice(0, 1_000).filter((address) => hashOf(a, address) === hashOf(b, address)).length;
    expect(sameHash).toBeLessThan(5);
    const tags = new Set(chosen.slice(0, 1_000).map((address) => tagOf(a, address)));
    expect(tags.size).toBeGreaterThan(200); // of 256
  });

  it('indexes them with the default hasher, each confirmed by one read at most', () => {
    const sequence = new AddressArray();
    let reads = 0;
    const index = new AddressIndex((position, key) => (reads++, sequence.isAt(position, key)));
    chosen.forEach((address, position) => {
      sequence.push(address);
      expect(index.add(address, position)).toBe(false);
    });
    reads = 0;
    chosen.forEach((address, position) => expect(index.positionsOf(address)).toEqual([position]));
    expect(reads).toBeLessThan(chosen.length * 1.01);
  });
});

describe('AddressArray', () => {
  it('holds 20-byte addresses by position across growth and truncation', () => {
    const random = seededRandom(7);
    const array = new AddressArray();
    const model: Buffer[] = [];
    for (let i = 0; i < 5_000; i++) {
      const key = randomAddress(random);
      array.push(key);
      model.push(key);
      if (i % 997 === 996) {
        const length = randomInt(random, model.length);
        array.truncate(length);
        model.length = length;
      }
    }
    expect(array.length).toBe(model.length);
    model.forEach((key, i) => expect(hex(array.at(i)!)).toBe(hex(key)));
    expect(array.at(model.length)).toBeUndefined();
    expect(array.at(-1)).toBeUndefined();
    expect([...array.range(10, 13)].map(hex)).toEqual(model.slice(10, 13).map(hex));
    expect(() => array.push(new Uint8Array(19))).toThrow(RangeError);
  });
});
