import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes, isAtlasError, type ErrorCode } from '../../src/errors.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/protocol/limits.js';
import { METHODS, type Method } from '../../src/protocol/messages.js';
import { isPeerAddressSyntax, validateParams, validateRequest, validateResult } from '../../src/protocol/validate.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function hexAddress(i: number): string {
  return i.toString(16).padStart(40, '0');
}

function codeOf(run: () => unknown): ErrorCode | 'none' {
  try {
    run();
    return 'none';
  } catch (error) {
    if (!isAtlasError(error)) throw error;
    return error.code;
  }
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

const version = { epoch: 'e1', version: 3 };

describe('validateParams: methods and shapes', () => {
  it('refuses an unknown method with UNKNOWN_METHOD, whatever the params', () => {
    expect(codeOf(() => validateParams('nope', {}))).toBe(ErrorCodes.UNKNOWN_METHOD);
    expect(codeOf(() => validateParams('__proto__', {}))).toBe(ErrorCodes.UNKNOWN_METHOD);
    expect(codeOf(() => validateParams('toString', {}))).toBe(ErrorCodes.UNKNOWN_METHOD);
  });

  it('refuses params that are not a plain object', () => {
    for (const raw of [[], 'x', 3, new Uint8Array(2), new Map(), new Date()]) {
      expect(codeOf(() => validateParams('peers', raw))).toBe(ErrorCodes.BAD_REQUEST);
    }
  });

  it('reads missing params as an empty object, then names the missing field', () => {
    expect(validateParams('peers', undefined)).toEqual({});
    expect(validateParams('peers', null)).toEqual({});
    expect(codeOf(() => validateParams('ping', undefined))).toBe(ErrorCodes.BAD_REQUEST);
    expect(messageOf(() => validateParams('ping', undefined))).toContain('ping.network');
  });

  it('accepts objects without a prototype and ignores inherited fields', () => {
    const bare = Object.assign(Object.create(null) as object, { network: 'main', sequenceLength: 2 });
    expect(validateParams('ping', bare)).toEqual({ network: 'main', sequenceLength: 2 });
    const inherited = Object.create({ network: 'main', sequenceLength: 2 }) as object;
    expect(codeOf(() => validateParams('ping', inherited))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('drops unknown extra fields and returns a fresh object', () => {
    const raw = { network: 'main', sequenceLength: 7, from: '1.2.3.4:6264', extra: 'x', __proto__evil: 1 };
    const params = validateParams('ping', raw);
    expect(params).toEqual({ network: 'main', sequenceLength: 7, from: '1.2.3.4:6264' });
    expect(params).not.toBe(raw);
    expect(Object.keys(validateParams('inventoryChanges', { since: { ...version, junk: 1 }, more: 2 }).since)).toEqual(['epoch', 'version']);
  });
});

describe('validateParams: ping and peers', () => {
  it('checks the network id: a non-empty short string without control characters', () => {
    const ok = (network: unknown) => codeOf(() => validateParams('ping', { network, sequenceLength: 0 }));
    expect(ok('mainnet')).toBe('none');
    expect(ok('x'.repeat(DEFAULT_LIMITS.maxNetworkIdLength))).toBe('none');
    expect(ok('x'.repeat(DEFAULT_LIMITS.maxNetworkIdLength + 1))).toBe(ErrorCodes.BAD_REQUEST);
    expect(ok('')).toBe(ErrorCodes.BAD_REQUEST);
    expect(ok('main\nnet')).toBe(ErrorCodes.BAD_REQUEST);
    expect(ok(42)).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('checks sequenceLength is a non-negative safe integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '3', null]) {
      expect(codeOf(() => validateParams('ping', { network: 'm', sequenceLength: bad }))).toBe(ErrorCodes.BAD_REQUEST);
    }
    expect(validateParams('ping', { network: 'm', sequenceLength: -0 }).sequenceLength).toBe(0);
    expect(Object.is(validateParams('ping', { network: 'm', sequenceLength: -0 }).sequenceLength, 0)).toBe(true);
  });

  it('accepts host:port, [IPv6]:port and bare names as `from`, nothing else', () => {
    for (const from of ['1.2.3.4:6264', '[::1]:80', 'seed.example.org:6264', 'node-7', 'n_1.x']) {
      expect(validateParams('peers', { from })).toEqual({ from });
    }
    for (const from of ['', 'a b:1', 'host:65536', 'http://x:1', 'x:1:2', '[::1', 'x'.repeat(301), 'a\u0000b', 42]) {
      expect(codeOf(() => validateParams('peers', { from }))).toBe(ErrorCodes.BAD_REQUEST);
    }
  });

  it('bounds peer addresses by maxPeerAddressLength', () => {
    const limits = resolveLimits({ maxPeerAddressLength: 10 });
    expect(isPeerAddressSyntax('abcdef:123', 10)).toBe(true);
    expect(codeOf(() => validateParams('peers', { from: 'abcdefg:123' }, limits))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('gives the same verdicts for addresses seen before, whatever the length bound', () => {
    // Valid addresses are remembered (a bounded set); a later, tighter bound still applies.
    expect(isPeerAddressSyntax('abcdefg:123')).toBe(true);
    expect(isPeerAddressSyntax('abcdefg:123', 10)).toBe(false);
    expect(isPeerAddressSyntax('abcdefg:123', 11)).toBe(true);
    for (let round = 0; round < 2; round++) {
      expect(isPeerAddressSyntax('a b:1')).toBe(false);
      expect(isPeerAddressSyntax('host:65536')).toBe(false);
      expect(isPeerAddressSyntax('')).toBe(false);
    }
    // More distinct addresses than are remembered: every verdict stays right.
    for (let i = 0; i < 10_000; i++) expect(isPeerAddressSyntax(`n${i}:${(i % 65_535) + 1}`)).toBe(true);
    expect(isPeerAddressSyntax('n1:2', 3)).toBe(false);
    expect(isPeerAddressSyntax('n1:2')).toBe(true);
  });
});

describe('validateParams: inventory', () => {
  it('accepts length up to maxInventoryBytes and refuses one more (524,288 vs 524,289)', () => {
    expect(validateParams('inventory', { offset: 0, length: 524_288 })).toEqual({ offset: 0, length: 524_288 });
    expect(codeOf(() => validateParams('inventory', { offset: 0, length: 524_289 }))).toBe(ErrorCodes.BAD_REQUEST);
    expect(messageOf(() => validateParams('inventory', { offset: 0, length: 524_289 }))).toContain('inventory.length');
  });

  it('refuses negative, fractional and unsafe offsets', () => {
    for (const offset of [-1, 0.5, 2 ** 53, Number.NaN, '0', undefined]) {
      expect(codeOf(() => validateParams('inventory', { offset, length: 1 }))).toBe(ErrorCodes.BAD_REQUEST);
    }
    expect(validateParams('inventory', { offset: Number.MAX_SAFE_INTEGER, length: 0 }).offset).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('checks inventoryChanges.since and the optional from', () => {
    expect(validateParams('inventoryChanges', { since: version, from: '1.2.3.4:1' })).toEqual({ since: version, from: '1.2.3.4:1' });
    for (const since of [undefined, {}, { epoch: '', version: 1 }, { epoch: 'e', version: -1 }, { epoch: 'x'.repeat(65), version: 1 }, { epoch: 'a b', version: 1 }]) {
      expect(codeOf(() => validateParams('inventoryChanges', { since }))).toBe(ErrorCodes.BAD_REQUEST);
    }
  });
});

describe('validateParams: getChunks', () => {
  it('accepts maxGetAddresses (default 1,000) addresses and refuses one more with TOO_MANY', () => {
    const max = DEFAULT_LIMITS.maxGetAddresses;
    expect(max).toBe(1_000);
    const all = Array.from({ length: max }, (_, i) => hexAddress(i));
    expect(validateParams('getChunks', { addresses: all }).addresses).toHaveLength(max);
    expect(codeOf(() => validateParams('getChunks', { addresses: [...all, hexAddress(max)] }))).toBe(ErrorCodes.TOO_MANY);
  });

  it('normalises to lower case and drops duplicates', () => {
    expect(validateParams('getChunks', { addresses: [A.toUpperCase(), B, A] }).addresses).toEqual([A, B]);
  });

  it('refuses a bad address with BAD_ADDRESS naming its index', () => {
    const raw = { addresses: [A, 'z'.repeat(40)] };
    expect(codeOf(() => validateParams('getChunks', raw))).toBe(ErrorCodes.BAD_ADDRESS);
    expect(messageOf(() => validateParams('getChunks', raw))).toContain('getChunks.addresses[1]');
    expect(codeOf(() => validateParams('getChunks', { addresses: [A.slice(1)] }))).toBe(ErrorCodes.BAD_ADDRESS);
    expect(codeOf(() => validateParams('getChunks', { addresses: [123] }))).toBe(ErrorCodes.BAD_ADDRESS);
    expect(codeOf(() => validateParams('getChunks', { addresses: A }))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('follows a configured maxGetAddresses', () => {
    const limits = resolveLimits({ maxGetAddresses: 2 });
    expect(codeOf(() => validateParams('getChunks', { addresses: [A, B] }, limits))).toBe('none');
    expect(codeOf(() => validateParams('getChunks', { addresses: [A, B, hexAddress(1)] }, limits))).toBe(ErrorCodes.TOO_MANY);
  });
});

describe('validateParams: putChunks', () => {
  const chunk = (size: number) => new Uint8Array(size).fill(7);

  it('accepts 5 chunks and refuses 6 with TOO_MANY', () => {
    expect(validateParams('putChunks', { chunks: Array.from({ length: 5 }, () => chunk(10)) }).chunks).toHaveLength(5);
    expect(codeOf(() => validateParams('putChunks', { chunks: Array.from({ length: 6 }, () => chunk(10)) }))).toBe(ErrorCodes.TOO_MANY);
  });

  it('accepts Buffers and refuses other values, naming the index', () => {
    expect(validateParams('putChunks', { chunks: [Buffer.from('abc')] }).chunks[0]).toEqual(Buffer.from('abc'));
    for (const bad of ['abc', [1, 2], new Uint16Array(2), new DataView(new ArrayBuffer(2)), null]) {
      expect(codeOf(() => validateParams('putChunks', { chunks: [chunk(1), bad] }))).toBe(ErrorCodes.BAD_REQUEST);
      expect(messageOf(() => validateParams('putChunks', { chunks: [chunk(1), bad] }))).toContain('putChunks.chunks[1]');
    }
  });

  it('lets an individual oversize or empty chunk through (the service answers saved[i] = false)', () => {
    const params = validateParams('putChunks', { chunks: [chunk(40_961), new Uint8Array(0)] });
    expect(params.chunks.map((c) => c.length)).toEqual([40_961, 0]);
  });

  it('bounds a whole call at maxPutChunks x maxChunkSize bytes (TOO_LARGE beyond)', () => {
    const full = Array.from({ length: 5 }, () => chunk(40_960));
    expect(validateParams('putChunks', { chunks: full }).chunks).toHaveLength(5);
    const over = [...full.slice(0, 4), chunk(40_961)];
    expect(codeOf(() => validateParams('putChunks', { chunks: over }))).toBe(ErrorCodes.TOO_LARGE);
    expect(codeOf(() => validateParams('putChunks', { chunks: [chunk(5 * 40_960 + 1)] }))).toBe(ErrorCodes.TOO_LARGE);
  });
});

describe('validateParams: offer', () => {
  it('needs a from address and bounded position bytes', () => {
    expect(validateParams('offer', { from: '1.2.3.4:5', added: Uint8Array.of(1, 2) })).toEqual({ from: '1.2.3.4:5', added: Uint8Array.of(1, 2) });
    expect(codeOf(() => validateParams('offer', { added: Uint8Array.of(1) }))).toBe(ErrorCodes.BAD_REQUEST);
    const limits = resolveLimits({ maxInventoryChanges: 2 });
    expect(codeOf(() => validateParams('offer', { from: 'n1', added: new Uint8Array(10) }, limits))).toBe('none');
    expect(codeOf(() => validateParams('offer', { from: 'n1', added: new Uint8Array(11) }, limits))).toBe(ErrorCodes.TOO_LARGE);
  });
});

describe('validateRequest', () => {
  it('returns the method beside its params', () => {
    const request = validateRequest('getChunks', { addresses: [A.toUpperCase()] });
    expect(request).toEqual({ method: 'getChunks', params: { addresses: [A] } });
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing

const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withTypedArray: true,
  withSparseArray: true,
  withUnicodeString: true,
});

const methodName = fc.oneof(fc.constantFrom(...METHODS), fc.string());

function onlyAtlasErrors(run: () => unknown): AtlasError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (!(error instanceof AtlasError)) throw new Error(`threw a non-AtlasError: ${String(error)}`);
    return error;
  }
}

describe('validation never throws anything but AtlasError', () => {
  it('validateParams on arbitrary input', () => {
    fc.assert(
      fc.property(methodName, anything, (method, raw) => {
        onlyAtlasErrors(() => validateParams(method, raw));
      }),
      { numRuns: 3_000 },
    );
  });

  it('validateParams on arbitrary fields under the right names', () => {
    const fields = fc.record(
      { network: anything, sequenceLength: anything, from: anything, offset: anything, length: anything, since: anything, addresses: anything, chunks: anything, added: anything },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), fields, (method, raw) => {
        onlyAtlasErrors(() => validateParams(method, raw));
      }),
      { numRuns: 3_000 },
    );
  });

  it('validateResult on arbitrary input: only ever BAD_REPLY for a known method', () => {
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), anything, (method, raw) => {
        const error = onlyAtlasErrors(() => validateResult(method, raw));
        if (error !== undefined) expect(error.code).toBe(ErrorCodes.BAD_REPLY);
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('validation never returns for invalid input', () => {
  const address = fc.stringMatching(/^[0-9a-fA-F]{40}$/);
  const notAddress = anything.filter((v) => !(typeof v === 'string' && /^[0-9a-fA-F]{40}$/.test(v)));

  it('getChunks returns only when every entry is an address and there are at most maxGetAddresses', () => {
    const entries = fc.array(fc.oneof({ weight: 8, arbitrary: address }, { weight: 1, arbitrary: notAddress }), { maxLength: 110 });
    const limits = resolveLimits({ maxGetAddresses: 100 });
    fc.assert(
      fc.property(entries, (addresses) => {
        const valid = addresses.length <= 100 && addresses.every((a) => typeof a === 'string' && /^[0-9a-fA-F]{40}$/.test(a));
        const error = onlyAtlasErrors(() => validateParams('getChunks', { addresses }, limits));
        expect(error === undefined).toBe(valid);
        if (!valid && addresses.length > 100) expect(error?.code).toBe(ErrorCodes.TOO_MANY);
        if (valid) {
          const out = validateParams('getChunks', { addresses }, limits).addresses;
          expect(out).toEqual([...new Set(addresses.map((a) => (a as string).toLowerCase()))]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('inventory returns only for safe non-negative integers within the bound', () => {
    const number = fc.oneof(fc.integer({ min: -5, max: 600_000 }), fc.double(), fc.constantFrom(2 ** 53, -0, Number.MAX_SAFE_INTEGER), anything);
    fc.assert(
      fc.property(number, number, (offset, length) => {
        const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
        const valid = isCount(offset) && isCount(length) && (length as number) <= 524_288;
        const error = onlyAtlasErrors(() => validateParams('inventory', { offset, length }));
        expect(error === undefined).toBe(valid);
        if (error !== undefined) expect(error.code).toBe(ErrorCodes.BAD_REQUEST);
      }),
      { numRuns: 1_000 },
    );
  });

  it('putChunks returns only for at most 5 byte arrays within the total bound', () => {
    const entry = fc.oneof({ weight: 6, arbitrary: fc.uint8Array({ maxLength: 64 }) }, { weight: 1, arbitrary: anything });
    const limits = resolveLimits({ maxChunkSize: 40 });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 7 }), (chunks) => {
        const valid =
          chunks.length <= 5 && chunks.every((c) => c instanceof Uint8Array) && chunks.reduce((n: number, c) => n + ((c as Uint8Array).length ?? 0), 0) <= 200;
        const error = onlyAtlasErrors(() => validateParams('putChunks', { chunks }, limits));
        expect(error === undefined).toBe(valid);
      }),
      { numRuns: 1_000 },
    );
  });

  it('whatever validateParams returns validates again to itself', () => {
    const fields = fc.record(
      {
        network: fc.oneof(fc.string(), anything),
        sequenceLength: fc.oneof(fc.nat(), anything),
        from: fc.oneof(fc.constantFrom('1.2.3.4:5', 'n1', '[::1]:9'), anything),
        offset: fc.oneof(fc.nat(), anything),
        length: fc.oneof(fc.nat({ max: 600_000 }), anything),
        since: fc.oneof(fc.record({ epoch: fc.string(), version: fc.nat() }), anything),
        addresses: fc.oneof(fc.array(address, { maxLength: 5 }), anything),
        chunks: fc.oneof(fc.array(fc.uint8Array(), { maxLength: 6 }), anything),
        added: fc.oneof(fc.uint8Array(), anything),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.constantFrom(...METHODS), fields, (method: Method, raw) => {
        let params: unknown;
        try {
          params = validateParams(method, raw);
        } catch {
          return;
        }
        expect(validateParams(method, params)).toEqual(params);
      }),
      { numRuns: 3_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Replies

const pingReply = {
  protocol: 1,
  network: 'main',
  sequenceLength: 10,
  chunkCount: 4,
  digestLength: 10,
  digest: 'AB'.repeat(20),
  inventory: version,
};

describe('validateResult', () => {
  it('accepts a good ping reply, lower-cases the digest and drops extra fields', () => {
    expect(validateResult('ping', { ...pingReply, extra: true })).toEqual({ ...pingReply, digest: 'ab'.repeat(20) });
  });

  it('refuses ping replies that contradict themselves or the request', () => {
    const bad = (reply: object, request?: { network: string; sequenceLength: number }) => codeOf(() => validateResult('ping', reply, DEFAULT_LIMITS, request));
    expect(bad({ ...pingReply, chunkCount: 11 })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ ...pingReply, digestLength: 11 })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ ...pingReply, digest: 'xyz' })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ ...pingReply, digest: '' })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ ...pingReply, inventory: { epoch: 'e' } })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad(pingReply, { network: 'main', sequenceLength: 9 })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad(pingReply, { network: 'main', sequenceLength: 10 })).toBe('none');
  });

  it('turns even request-kind violations into BAD_REPLY', () => {
    const many = Array.from({ length: DEFAULT_LIMITS.maxGetAddresses + 1 }, (_, i) => hexAddress(i));
    expect(codeOf(() => validateResult('getChunks', { chunks: [], missing: many }))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('getChunks', { chunks: [], missing: ['nope'] }))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('nope', {}))).toBe(ErrorCodes.UNKNOWN_METHOD);
  });

  it('bounds peer lists at maxPeersReply and refuses bad or repeated entries', () => {
    const peers = (n: number) => Array.from({ length: n }, (_, i) => `10.0.0.${i % 250}:${1000 + i}`);
    expect(validateResult('peers', { peers: peers(80) }).peers).toHaveLength(80);
    expect(codeOf(() => validateResult('peers', { peers: peers(81) }))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('peers', { peers: ['a:1', 'a:1'] }))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('peers', { peers: ['a :1'] }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('checks the inventory range is exactly the clamped slice asked for', () => {
    const reply = (n: number, bytes: Uint8Array) => ({ sequenceLength: n, inventory: version, bytes });
    const ask = (offset: number, length: number) => ({ offset, length });
    // 20 positions -> 3 bytes; the last byte holds 4 real bits and 4 padding bits.
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(1, 2, 0xf0)), DEFAULT_LIMITS, ask(0, 10)))).toBe('none');
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(1, 2)), DEFAULT_LIMITS, ask(0, 10)))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(1, 2, 0, 0)), DEFAULT_LIMITS, ask(0, 10)))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(1)), DEFAULT_LIMITS, ask(1, 1)))).toBe('none');
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(1, 2)), DEFAULT_LIMITS, ask(1, 1)))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('inventory', reply(20, new Uint8Array(0)), DEFAULT_LIMITS, ask(3, 100)))).toBe('none');
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(0)), DEFAULT_LIMITS, ask(3, 100)))).toBe(ErrorCodes.BAD_REPLY);
    // a padding bit set past the sequence end is a lie
    expect(codeOf(() => validateResult('inventory', reply(20, Uint8Array.of(0xf8)), DEFAULT_LIMITS, ask(2, 5)))).toBe(ErrorCodes.BAD_REPLY);
    // without the request: never longer than the vector
    expect(codeOf(() => validateResult('inventory', reply(8, Uint8Array.of(1, 2))))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('checks inventoryChanges: added must be bytes, a complete reply continues the asked epoch', () => {
    const since = { since: { epoch: 'e1', version: 3 } };
    const complete = { complete: true, sequenceLength: 5, inventory: { epoch: 'e1', version: 4 }, added: Uint8Array.of(1) };
    expect(validateResult('inventoryChanges', complete, DEFAULT_LIMITS, since)).toEqual(complete);
    expect(codeOf(() => validateResult('inventoryChanges', { ...complete, added: [1] }))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('inventoryChanges', { ...complete, added: undefined }))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('inventoryChanges', { ...complete, inventory: { epoch: 'e2', version: 4 } }, DEFAULT_LIMITS, since))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('inventoryChanges', { ...complete, inventory: { epoch: 'e1', version: 2 } }, DEFAULT_LIMITS, since))).toBe(ErrorCodes.BAD_REPLY);
    const incomplete = { complete: false, sequenceLength: 5, inventory: { epoch: 'e2', version: 0 }, added: 'ignored' };
    expect(validateResult('inventoryChanges', incomplete, DEFAULT_LIMITS, since)).toEqual({ complete: false, sequenceLength: 5, inventory: { epoch: 'e2', version: 0 } });
    // offering: whether the caller hears the peer's offers, optional, a boolean when present
    expect(validateResult('inventoryChanges', { ...complete, offering: false }, DEFAULT_LIMITS, since)).toEqual({ ...complete, offering: false });
    expect(validateResult('inventoryChanges', { ...incomplete, offering: true }, DEFAULT_LIMITS, since).offering).toBe(true);
    expect(codeOf(() => validateResult('inventoryChanges', { ...complete, offering: 1 }, DEFAULT_LIMITS, since))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('checks getChunks replies: sizes, duplicates, overlap, and only addresses asked for', () => {
    const asked = { addresses: [A, B] };
    const good = { chunks: [{ address: A.toUpperCase(), data: Uint8Array.of(1) }], missing: [B] };
    expect(validateResult('getChunks', good, DEFAULT_LIMITS, asked)).toEqual({ chunks: [{ address: A, data: Uint8Array.of(1) }], missing: [B] });
    const bad = (reply: unknown) => codeOf(() => validateResult('getChunks', reply, DEFAULT_LIMITS, asked));
    expect(bad({ chunks: [{ address: hexAddress(5), data: Uint8Array.of(1) }], missing: [] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [], missing: [hexAddress(5)] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [{ address: A, data: Uint8Array.of(1) }], missing: [A] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [{ address: A, data: Uint8Array.of(1) }, { address: A, data: Uint8Array.of(1) }], missing: [] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [{ address: A, data: new Uint8Array(0) }], missing: [] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [{ address: A, data: new Uint8Array(40_961) }], missing: [] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [{ address: A, data: 'AQ==' }], missing: [] })).toBe(ErrorCodes.BAD_REPLY);
    expect(bad({ chunks: [] })).toBe(ErrorCodes.BAD_REPLY);
    // an address left out of both lists is simply unanswered
    expect(bad({ chunks: [], missing: [] })).toBe('none');
  });

  it('checks getChunks `later`: asked addresses put off, only beside a chunk', () => {
    const asked = { addresses: [A, B, hexAddress(7)] };
    const chunk = { address: A, data: Uint8Array.of(1) };
    const check = (reply: unknown) => codeOf(() => validateResult('getChunks', reply, DEFAULT_LIMITS, asked));
    expect(validateResult('getChunks', { chunks: [chunk], missing: [], later: [B.toUpperCase(), hexAddress(7)] }, DEFAULT_LIMITS, asked)).toEqual({ chunks: [chunk], missing: [], later: [B, hexAddress(7)] });
    expect(validateResult('getChunks', { chunks: [chunk], missing: [B] }, DEFAULT_LIMITS, asked)).not.toHaveProperty('later');
    // a reply with nothing but "later" would let a peer stall us for ever
    expect(check({ chunks: [], missing: [B], later: [A] })).toBe(ErrorCodes.BAD_REPLY);
    expect(check({ chunks: [chunk], missing: [], later: [hexAddress(9)] })).toBe(ErrorCodes.BAD_REPLY); // not asked
    expect(check({ chunks: [chunk], missing: [], later: [A] })).toBe(ErrorCodes.BAD_REPLY); // sent and put off
    expect(check({ chunks: [chunk], missing: [B], later: [B] })).toBe(ErrorCodes.BAD_REPLY); // missing and put off
    expect(check({ chunks: [chunk], missing: [], later: [B, B] })).toBe(ErrorCodes.BAD_REPLY);
    expect(check({ chunks: [chunk], missing: [], later: 'B' })).toBe(ErrorCodes.BAD_REPLY);
  });

  it('checks the inventory reply\'s maxGetAddresses: optional, a whole number of at least 1', () => {
    const reply = { sequenceLength: 8, inventory: version, bytes: Uint8Array.of(1) };
    expect(validateResult('inventory', reply)).not.toHaveProperty('maxGetAddresses');
    expect(validateResult('inventory', { ...reply, maxGetAddresses: 250 }).maxGetAddresses).toBe(250);
    for (const bad of [0, -1, 1.5, '100', null]) {
      expect(codeOf(() => validateResult('inventory', { ...reply, maxGetAddresses: bad }))).toBe(ErrorCodes.BAD_REPLY);
    }
  });

  it('checks putChunks: one boolean per chunk put', () => {
    const request = { chunks: [Uint8Array.of(1), Uint8Array.of(2)] };
    expect(validateResult('putChunks', { saved: [true, false] }, DEFAULT_LIMITS, request)).toEqual({ saved: [true, false] });
    expect(codeOf(() => validateResult('putChunks', { saved: [true] }, DEFAULT_LIMITS, request))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('putChunks', { saved: [1, 0] }, DEFAULT_LIMITS, request))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('putChunks', { saved: [true, true, true, true, true, true] }))).toBe(ErrorCodes.BAD_REPLY);
  });

  it('checks offer: no more wanted than offered', () => {
    const request = { from: 'n1', added: Uint8Array.of(1, 0x81, 0x01, 2) }; // three varints
    expect(validateResult('offer', { wanted: 3 }, DEFAULT_LIMITS, request)).toEqual({ wanted: 3 });
    expect(codeOf(() => validateResult('offer', { wanted: 4 }, DEFAULT_LIMITS, request))).toBe(ErrorCodes.BAD_REPLY);
    expect(codeOf(() => validateResult('offer', { wanted: -1 }))).toBe(ErrorCodes.BAD_REPLY);
  });
});
