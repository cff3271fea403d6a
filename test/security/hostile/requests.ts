/**
 * fast-check arbitraries for hostile protocol requests: valid ones, valid ones with one field
 * broken (wrong type, out-of-range number, wrong hash length, too many items, oversize chunk,
 * extra or prototype-polluting fields), and plain garbage, for every method and some that do not
 * exist. Values are what a wire codec can carry: null, booleans, numbers, strings, bytes, arrays
 * and string-keyed objects.
 */
import fc from 'fast-check';
import { encodePositions } from '../../../src/inventory/varint.js';
import { METHODS } from '../../../src/protocol/messages.js';
import type { FuzzPool } from './target.js';

export interface FuzzRequest {
  method: string;
  params: unknown;
  /** What the generator meant: a valid request, one with a broken field, or garbage. */
  kind: 'valid' | 'mutated' | 'garbage';
  /** Call from the host the request's `from` names (else from an unrelated host). */
  asSender: boolean;
}

const WEIRD_NUMBERS = [
  -1, -0, 0.5, 1.5, 255, 256, 65_535, 65_536, 524_288, 524_289, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53),
  Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, NaN, Infinity, -Infinity, 1e308, -1e-308,
];

const FIELD_NAMES = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'then',
  'addresses', 'chunks', 'from', 'offset', 'length', 'since', 'network', 'sequenceLength', 'added', 'epoch', 'version', '$bytes',
];

export const weirdNumber: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(...WEIRD_NUMBERS), fc.integer(), fc.double(), fc.nat());

const fieldName = fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 12 }));

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, '', 'null', '0'),
  weirdNumber,
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uint8Array({ maxLength: 64 }),
);

/** Arbitrary wire values, nested at most 4 deep, objects built with own `__proto__` keys allowed. */
export const wireValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    leaf,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.array(fc.tuple(fieldName, tie('value')), { maxLength: 6 }).map((entries) => Object.fromEntries(entries)),
  ),
})).value;

const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF');

function hexString(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc.array(hexChar, { minLength, maxLength }).map((chars) => chars.join(''));
}

/** Addresses: known ones (held, missing, never announced), random, and every kind of wrong one. */
export function addressArb(pool: FuzzPool): fc.Arbitrary<unknown> {
  const known = [...pool.held, ...pool.missing, ...pool.unannounced, pool.big, pool.oversize].map((c) => c.address);
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.constantFrom(...known).map((a) => a.toUpperCase()) },
    { weight: 2, arbitrary: hexString(40, 40) },
    { weight: 2, arbitrary: fc.oneof(hexString(0, 39), hexString(41, 80)) },
    { weight: 1, arbitrary: fc.constantFrom(...known).map((a) => `${a} `) },
    { weight: 1, arbitrary: fc.constantFrom(...known).map((a) => a.slice(0, 39) + 'g') },
    { weight: 1, arbitrary: fc.constantFrom('../../etc/passwd', '%00', '\u0000'.repeat(40), 'é'.repeat(40), '0x' + '0'.repeat(38)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 20, maxLength: 20 }) },
    { weight: 1, arbitrary: leaf },
  );
}

/** Peer addresses a caller may claim to be: public, private, loopback, names, IPv6, garbage, long. */
export const peerAddressArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 1, max: 65_535 })).map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}:${port}`) },
  fc.tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255), fc.integer({ min: 0, max: 70_000 })).map(([a, b, c, d, port]) => `${a}.${b}.${c}.${d}:${port}`),
  fc.constantFrom(
    '127.0.0.1:6264', '10.0.0.1:6264', '192.168.1.1:80', '172.16.0.1:1', '169.254.169.254:80', '0.0.0.0:6264', '255.255.255.255:1',
    '224.0.0.1:6264', '[::1]:6264', '[fe80::1]:6264', '[fc00::1]:6264', '[::ffff:127.0.0.1]:80', '[2001:db8::1]:6264', '[64:ff9b::7f00:1]:80',
    'localhost:6264', 'metadata.google.internal:80', 'example.com:443', 'capture-target', 'node-1', '8.8.8.8:0', '8.8.8.8:65536', '8.8.8.8',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 290, maxLength: 400 }).map((s) => `${s.replace(/[^a-z]/g, 'a')}.example:80`),
  leaf,
);

/** Chunk bodies: known ones (held, missing, never announced), random, empty, at and over the size limit. */
export function chunkArb(pool: FuzzPool): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...pool.held, ...pool.missing, ...pool.unannounced).map((c) => c.data) },
    { weight: 1, arbitrary: fc.constantFrom(pool.big.data, pool.oversize.data) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 1, arbitrary: leaf },
  );
}

/** Delta-varint position lists: valid ones (including positions far past the sequence), and raw bytes. */
export const positionsArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.uniqueArray(fc.nat(400), { maxLength: 50 }).map((p) => encodePositions(p.sort((a, b) => a - b))) },
  { weight: 2, arbitrary: fc.uniqueArray(fc.oneof(fc.nat(400), fc.constantFrom(2 ** 32 - 1, 2 ** 32 - 2, 2 ** 31, 1_000_000)), { maxLength: 20 }).map((p) => encodePositions(p.sort((a, b) => a - b))) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(70_000).fill(0x01)) },
  { weight: 1, arbitrary: leaf },
);

function withOptional(fields: Record<string, fc.Arbitrary<unknown>>, optional: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.record({ ...fields, ...optional }, { requiredKeys: Object.keys(fields) as never[] });
}

/** Params that are valid (or nearly: the values come from wide pools) for each method. */
export function paramsArb(pool: FuzzPool, epoch: () => string): Record<string, fc.Arbitrary<Record<string, unknown>>> {
  const networkArb = fc.oneof({ weight: 4, arbitrary: fc.constant('fuzznet') }, { weight: 1, arbitrary: fc.string({ maxLength: 70 }) });
  const knownAddresses = [...pool.held, ...pool.missing, ...pool.unannounced, pool.big].map((c) => c.address);
  const knownChunks = [...pool.held, ...pool.missing, ...pool.unannounced].map((c) => c.data);
  const sinceArb = fc.record({
    epoch: fc.oneof(fc.constant(null).map(() => epoch()), fc.string({ maxLength: 70 })),
    version: fc.oneof(fc.nat(1_000), weirdNumber),
  });
  return {
    ping: withOptional({ network: networkArb, sequenceLength: fc.oneof(fc.nat(1_000), weirdNumber) }, { from: peerAddressArb }),
    peers: withOptional({}, { from: peerAddressArb }),
    inventory: fc.record({ offset: fc.oneof(fc.nat(100), weirdNumber), length: fc.oneof(fc.nat(600_000), weirdNumber) }),
    inventoryChanges: withOptional({ since: sinceArb }, { from: peerAddressArb }),
    getChunks: fc.record({
      addresses: fc.oneof(
        fc.array(fc.constantFrom(...knownAddresses), { maxLength: 100 }),
        fc.array(addressArb(pool), { maxLength: 12 }),
        fc.array(addressArb(pool), { minLength: 95, maxLength: 110 }),
      ),
    }),
    putChunks: withOptional(
      { chunks: fc.oneof(fc.array(fc.constantFrom(...knownChunks), { maxLength: 5 }), fc.array(chunkArb(pool), { maxLength: 7 })) },
      { from: peerAddressArb },
    ),
    offer: fc.record({ from: peerAddressArb, added: positionsArb }),
  };
}

/** One field of `params` broken: replaced by any value, removed, or joined by a stray field. */
function mutate(params: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const keys = Object.keys(params);
  const replace = keys.length === 0 ? fc.constant(params) : fc.tuple(fc.constantFrom(...keys), wireValue).map(([key, value]) => ({ ...params, [key]: value }));
  const remove = keys.length === 0 ? fc.constant(params) : fc.constantFrom(...keys).map((key) => Object.fromEntries(Object.entries(params).filter(([k]) => k !== key)));
  const extra = fc.tuple(fieldName, wireValue).map(([key, value]) => Object.fromEntries([...Object.entries(params), [key, value]]));
  return fc.oneof(replace, remove, extra);
}

const unknownMethod: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', 'PING', 'getchunks', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'get_zonefiles', 'ping ', 'a'.repeat(64), 'a'.repeat(65)),
  fc.string({ maxLength: 30 }),
);

export function requestArb(pool: FuzzPool, epoch: () => string): fc.Arbitrary<FuzzRequest> {
  const byMethod = paramsArb(pool, epoch);
  const valid = fc.constantFrom(...METHODS).chain((method) => (byMethod[method] as fc.Arbitrary<Record<string, unknown>>).map((params) => ({ method, params })));
  const request = fc.oneof(
    { weight: 5, arbitrary: valid.map((r) => ({ ...r, kind: 'valid' as const })) },
    { weight: 4, arbitrary: valid.chain((r) => mutate(r.params).map((params) => ({ method: r.method, params, kind: 'mutated' as const }))) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...METHODS), wireValue).map(([method, params]) => ({ method, params, kind: 'garbage' as const })) },
    { weight: 1, arbitrary: fc.tuple(unknownMethod, wireValue).map(([method, params]) => ({ method, params, kind: 'garbage' as const })) },
  );
  return fc.tuple(request, fc.boolean()).map(([r, asSender]): FuzzRequest => ({ ...r, asSender }));
}
