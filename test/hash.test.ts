import { createRequire } from 'node:module';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isAtlasError } from '../src/errors.js';
import {
  HASH_BACKEND_NAMES,
  hash160,
  hash160Batch,
  hash160Chain,
  hash160Hex,
  hash160Packed,
  hashBackend,
  hashBackends,
  hashReady,
  type Hash160Impl,
  type HashBackendName,
} from '../src/hash/index.js';
import { seededRandom } from '../src/runtime.js';
import { CORPUS_SKIP_MESSAGE, corpus } from './support/data.js';

const require = createRequire(import.meta.url);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

// Expected digests, each obtained without the code under test.
const VECTORS: { name: string; data: () => Uint8Array; hash160: string }[] = [
  // Bitcoin's well-known hash160 of the empty string.
  { name: 'empty', data: () => new Uint8Array(0), hash160: 'b472a266d0bd89c13706a4132ccfb16f7c3b9fcb' },
  // Bitcoin: the compressed public key of private key 1 (the generator G of secp256k1) has the
  // P2PKH address 1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH, whose payload is this hash160.
  {
    name: 'secp256k1 G, compressed',
    data: () => fromHex('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'),
    hash160: '751e76e8199196d454941c45d1b3a323f1433bd6',
  },
  // The same key uncompressed: address 1EHNa6Q4Jz2uvNExL497mE43ikXhwF6kZm.
  {
    name: 'secp256k1 G, uncompressed',
    data: () =>
      fromHex(
        '0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798' +
          '483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8',
      ),
    hash160: '91b24bf9f5288532960ac687abb035127b1d28a5',
  },
  // The next four are the FIPS 180-2 SHA-256 test messages (and a 40,960-byte chunk, the maximum
  // chunk size) run through the OpenSSL 3.0.19 command line, e.g.
  //   printf abc | openssl dgst -sha256 -binary | openssl dgst -rmd160
  // and checked against Python's hashlib.new('ripemd160', hashlib.sha256(m).digest()).
  { name: '"abc"', data: () => ascii('abc'), hash160: 'bb1be98c142444d7a56aa3981c3942a978e4dc33' },
  {
    name: 'FIPS 180-2 two-block message',
    data: () => ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    hash160: '69dda8a60e0cfc2353aa776864092c0e5ccb4834',
  },
  { name: 'one million "a"', data: () => new Uint8Array(1_000_000).fill(0x61), hash160: 'f9be0e104ef2ed83a7ddb4765780951405e56ba4' },
  { name: '40,960 zero bytes', data: () => new Uint8Array(40_960), hash160: '478609aa9b73465b0d7b9f2702990472b0a3a3ed' },
];

let backends: Record<HashBackendName, Hash160Impl | undefined>;
let available: Hash160Impl[];

beforeAll(async () => {
  backends = await hashBackends();
  available = HASH_BACKEND_NAMES.map((name) => backends[name]).filter((impl): impl is Hash160Impl => impl !== undefined);
});

/** Offsets for chunks laid end to end, and the chunks concatenated. */
function pack(chunks: readonly Uint8Array[]): { data: Uint8Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(chunks.length + 1);
  chunks.forEach((chunk, i) => (offsets[i + 1] = (offsets[i] as number) + chunk.length));
  return { data: new Uint8Array(Buffer.concat(chunks)), offsets };
}

/** Every path of one backend, as hex: single calls, one batch (as views and end to end), one packed call. */
function allPaths(impl: Hash160Impl, chunks: readonly Uint8Array[]): { single: string[]; batch: string[]; digests: string[]; packed: string[] } {
  const { data, offsets } = pack(chunks);
  const packed = impl.hash160Packed(data, offsets);
  const digests = impl.hash160Digests(chunks);
  expect(digests.length).toBe(20 * chunks.length);
  return {
    single: chunks.map((chunk) => hex(impl.hash160(chunk))),
    batch: impl.hash160Batch(chunks).map(hex),
    digests: Array.from({ length: chunks.length }, (_, i) => hex(digests.subarray(i * 20, i * 20 + 20))),
    packed: Array.from({ length: chunks.length }, (_, i) => hex(packed.subarray(i * 20, i * 20 + 20))),
  };
}

function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

describe('hash backends', () => {
  it('node:crypto and hash-wasm run on this machine, and so does the addon when it is built', () => {
    expect(backends.node?.name).toBe('node');
    expect(backends.wasm?.name).toBe('wasm');
    expect(backends.native === undefined || backends.native.name === 'native').toBe(true);
    expect(HASH_BACKEND_NAMES).toContain(hashBackend());
  });
});

describe('published vectors', () => {
  for (const vector of VECTORS) {
    it(`${vector.name}: every backend, every path`, () => {
      const data = vector.data();
      for (const impl of available) {
        const paths = allPaths(impl, [data]);
        expect({ backend: impl.name, ...paths }).toEqual({
          backend: impl.name,
          single: [vector.hash160],
          batch: [vector.hash160],
          digests: [vector.hash160],
          packed: [vector.hash160],
        });
      }
      expect(hash160Hex(data)).toBe(vector.hash160);
      expect(hex(hash160(data))).toBe(vector.hash160);
    });
  }

  it('a batch of all vectors, through the public API', () => {
    const chunks = VECTORS.map((v) => v.data());
    expect(hash160Batch(chunks).map(hex)).toEqual(VECTORS.map((v) => v.hash160));
    const { data, offsets } = pack(chunks);
    expect(hex(hash160Packed(data, offsets))).toBe(VECTORS.map((v) => v.hash160).join(''));
  });
});

describe('inputs and outputs', () => {
  it('a batch of zero items gives no digests in every backend', () => {
    for (const impl of available) {
      expect(impl.hash160Batch([])).toEqual([]);
      expect(impl.hash160Packed(new Uint8Array(0), new Uint32Array([0])).length).toBe(0);
      expect(impl.hash160Packed(new Uint8Array(10), new Uint32Array([10])).length).toBe(0);
    }
    expect(hash160Batch([])).toEqual([]);
  });

  it('hashes exactly the bytes of a view into a larger buffer, not its whole buffer', () => {
    const whole = pseudoRandomBytes(1000, 7);
    const view = whole.subarray(13, 513);
    const copy = new Uint8Array(view);
    for (const impl of available) {
      expect(hex(impl.hash160(view))).toBe(hex(impl.hash160(copy)));
      expect(impl.hash160Batch([view, copy]).map(hex)).toEqual([hex(impl.hash160(copy)), hex(impl.hash160(copy))]);
      // Packed chunks taken from the middle of a view: offsets are relative to the view.
      const packed = impl.hash160Packed(whole.subarray(13), new Uint32Array([0, 500, 500]));
      expect(hex(packed)).toBe(hex(impl.hash160(copy)) + hex(impl.hash160(new Uint8Array(0))));
    }
    expect(hex(backends.node!.hash160(Buffer.from(copy)))).toBe(hex(backends.node!.hash160(copy)));
  });

  it('results are independent 20-byte values: a later call does not change an earlier result', () => {
    for (const impl of available) {
      const first = impl.hash160(ascii('abc'));
      const batch = impl.hash160Batch([ascii('abc'), ascii('abd')]);
      const firstHex = hex(first);
      const batchHex = batch.map(hex);
      impl.hash160(ascii('zzz'));
      impl.hash160Batch([ascii('x'), ascii('y')]);
      expect(first.length).toBe(20);
      expect(batch.every((digest) => digest.length === 20)).toBe(true);
      expect(hex(first)).toBe(firstHex);
      expect(batch.map(hex)).toEqual(batchHex);
      expect(batchHex[0]).not.toBe(batchHex[1]);
    }
  });

  it('every length from 0 to 300 and around the block sizes up to 4 KiB agrees across backends and paths', () => {
    const lengths = [...Array.from({ length: 301 }, (_, i) => i), ...[511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097]];
    const chunks = lengths.map((length) => pseudoRandomBytes(length, length + 1));
    const reference = chunks.map((chunk) => hex(backends.node!.hash160(chunk)));
    for (const impl of available) {
      const paths = allPaths(impl, chunks);
      expect(paths.single).toEqual(reference);
      expect(paths.batch).toEqual(reference);
      expect(paths.digests).toEqual(reference);
      expect(paths.packed).toEqual(reference);
    }
  });

  it('refuses what is not bytes with BAD_REQUEST, in every backend and path', () => {
    const bad: unknown[] = [undefined, null, 'abc', 42, {}, [1, 2, 3], new Uint16Array(2), new Int8Array(2), new ArrayBuffer(4)];
    for (const impl of available) {
      for (const value of bad) {
        expect(() => impl.hash160(value as Uint8Array), `${impl.name} hash160(${String(value)})`).toThrow(
          expect.objectContaining({ code: 'BAD_REQUEST' }),
        );
        expect(() => impl.hash160Batch([ascii('ok'), value as Uint8Array]), `${impl.name} batch item`).toThrow(
          expect.objectContaining({ code: 'BAD_REQUEST' }),
        );
      }
      expect(() => impl.hash160Batch('abc' as unknown as Uint8Array[])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
      const data = new Uint8Array(10);
      const badOffsets: unknown[] = [new Uint32Array([]), new Uint32Array([0, 11]), new Uint32Array([5, 4]), new Int32Array([0, 1]), [0, 1]];
      for (const offsets of badOffsets) {
        let caught: unknown;
        try {
          impl.hash160Packed(data, offsets as Uint32Array);
        } catch (error) {
          caught = error;
        }
        expect(isAtlasError(caught, 'BAD_REQUEST'), `${impl.name} packed ${String(offsets)}`).toBe(true);
      }
    }
  });

  it('chains the sequence digest, hash160(previous || address) per address, the same in every backend', () => {
    const { createHash } = require('node:crypto') as typeof import('node:crypto');
    const step = (previous: Uint8Array, address: Uint8Array) => createHash('ripemd160').update(createHash('sha256').update(previous).update(address).digest()).digest();
    const start = pseudoRandomBytes(20, 3);
    const whole = pseudoRandomBytes(7 + 20 * 1500, 4);
    const addresses = whole.subarray(7); // a view into a larger buffer
    const expected: string[] = [hex(start)];
    for (let i = 0; i < 1500; i++) expected.push(hex(step(fromHex(expected[i] as string), addresses.subarray(i * 20, i * 20 + 20))));
    for (const impl of available) {
      for (const steps of [0, 1, 2, 1024, 1500]) {
        expect(hex(impl.hash160Chain(start, addresses.subarray(0, steps * 20))), `${impl.name}, ${steps} steps`).toBe(expected[steps]);
      }
      const none = impl.hash160Chain(start, new Uint8Array(0));
      none[0] = (none[0] as number) ^ 1; // a copy: changing it leaves previous alone
      expect(hex(start)).toBe(expected[0]);
    }
    expect(hex(hash160Chain(start, addresses))).toBe(expected[1500]);
  });

  it('refuses a chain whose previous digest is not 20 bytes or whose addresses are not 20-byte multiples, in every backend', () => {
    const cases: [unknown, unknown][] = [
      [new Uint8Array(19), new Uint8Array(20)],
      [new Uint8Array(20), new Uint8Array(21)],
      [new Uint8Array(20), 'abc'],
      [undefined, new Uint8Array(20)],
      [new Uint8Array(20), new Uint16Array(10)],
    ];
    for (const impl of available) {
      for (const [previous, addresses] of cases) {
        let caught: unknown;
        try {
          impl.hash160Chain(previous as Uint8Array, addresses as Uint8Array);
        } catch (error) {
          caught = error;
        }
        expect(isAtlasError(caught, 'BAD_REQUEST'), `${impl.name} chain ${String(previous)}, ${String(addresses)}`).toBe(true);
      }
    }
  });

  it('hashReady resolves for the backend in use', async () => {
    await expect(hashReady()).resolves.toBeUndefined();
  });
});

describe.skipIf(!corpus)('real zone files (SPEC §9)', () => {
  it(`every zone file hashes to its address, in every backend and path${corpus ? '' : ` (${CORPUS_SKIP_MESSAGE})`}`, () => {
    const entries = corpus!;
    expect(entries.length).toBe(1631);
    const chunks = entries.map((entry) => entry.data);
    const addresses = entries.map((entry) => entry.address);
    for (const impl of available) {
      const paths = allPaths(impl, chunks);
      // Compare as a count first so a failure prints a number, not 1,631 lines.
      const wrong = (list: string[]) => list.filter((address, i) => address !== addresses[i]).length;
      expect({ backend: impl.name, single: wrong(paths.single), batch: wrong(paths.batch), digests: wrong(paths.digests), packed: wrong(paths.packed) }).toEqual({
        backend: impl.name,
        single: 0,
        batch: 0,
        digests: 0,
        packed: 0,
      });
    }
    expect(hash160Batch(chunks).map(hex)).toEqual(addresses);
  });
});

describe('random inputs (fast-check)', () => {
  // Large inputs come from a seed and a length (fast-check would build 50,000 bytes one
  // arbitrary at a time); small ones are arbitrary bytes, where shrinking helps most.
  const seeded = fc
    .record({ length: fc.integer({ min: 0, max: 50_000 }), seed: fc.integer() })
    .map(({ length, seed }) => pseudoRandomBytes(length, seed));
  const input = fc.oneof(seeded, fc.uint8Array({ maxLength: 200 }));

  it('all backends agree on single inputs of 0 to 50,000 bytes', () => {
    fc.assert(
      fc.property(input, (data) => {
        const digests = available.map((impl) => hex(impl.hash160(data)));
        expect(new Set(digests).size).toBe(1);
        expect(digests[0]).toHaveLength(40);
      }),
      { numRuns: 300 },
    );
  });

  it('batch and packed calls agree with single calls, across backends', () => {
    fc.assert(
      fc.property(fc.array(input, { maxLength: 12 }), (chunks) => {
        const expected = chunks.map((chunk) => hex(backends.node!.hash160(chunk)));
        for (const impl of available) {
          const paths = allPaths(impl, chunks);
          expect(paths.batch).toEqual(expected);
          expect(paths.digests).toEqual(expected);
          expect(paths.packed).toEqual(expected);
        }
      }),
      { numRuns: 60 },
    );
  });
});
