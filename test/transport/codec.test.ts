import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import {
  binaryCodec,
  codecForAccept,
  codecForContentType,
  decodeBinary,
  decodeJson,
  decodePieces,
  DEFAULT_DECODE_LIMITS,
  encodeBinary,
  encodeJson,
  encodeJsonText,
  errorFromReply,
  errorReply,
  jsonCodec,
} from '../../src/transport/codec.js';

const shapes: Record<string, unknown> = {
  nested: { a: { b: { c: [1, 2, { d: 'x' }] } }, e: null, f: true, g: false },
  bytesInArrays: { list: [new Uint8Array([1, 2, 3]), new Uint8Array(0), [new Uint8Array([255])]] },
  emptyBytes: new Uint8Array(0),
  numbers: { int: -42, big: 2 ** 40, float: 1.25, negFloat: -0.5, zero: 0, maxSafe: Number.MAX_SAFE_INTEGER },
  strings: { empty: '', unicode: 'zone file \u00e9\u4e2d\ud83d\ude00', long: 'y'.repeat(70_000) },
  emptyContainers: { a: [], o: {} },
  chunks: { chunks: Array.from({ length: 5 }, (_, i) => ({ address: 'ab'.repeat(20), data: new Uint8Array(40_960).fill(i) })) },
  topLevelArray: [1, 'two', new Uint8Array([3])],
};

/** Plain values of the kind the protocol moves. */
const plainValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.string(),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string().filter((k) => k !== '__proto__' && k !== '$bytes'), tie('value'), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

function expectPlainBytes(value: unknown): void {
  if (value instanceof Uint8Array) {
    expect(value.constructor).toBe(Uint8Array);
  } else if (Array.isArray(value)) {
    value.forEach(expectPlainBytes);
  } else if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(expectPlainBytes);
  }
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof AtlasError ? error.code : `not an AtlasError: ${String(error)}`;
  }
  return undefined;
}

describe('codecs round trip every shape', () => {
  for (const codec of [binaryCodec, jsonCodec]) {
    for (const [name, value] of Object.entries(shapes)) {
      it(`${codec.format}: ${name}`, () => {
        const decoded = codec.decode(codec.encode(value));
        expect(decoded).toStrictEqual(value);
        expectPlainBytes(decoded);
      });
    }

    it(`${codec.format}: Buffer input comes back as plain Uint8Array with the same bytes`, () => {
      const decoded = codec.decode(codec.encode({ data: Buffer.from('hello') })) as { data: Uint8Array };
      expect(decoded.data.constructor).toBe(Uint8Array);
      expect(Buffer.from(decoded.data).toString()).toBe('hello');
    });

    it(`${codec.format}: arbitrary plain values (property)`, () => {
      fc.assert(
        fc.property(plainValue, (value) => {
          expect(codec.decode(codec.encode(value))).toStrictEqual(value);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('decoded bytes do not alias the encoder input', () => {
    const original = new Uint8Array([1, 2, 3]);
    const decoded = decodeBinary(encodeBinary({ original })) as { original: Uint8Array };
    decoded.original[0] = 99;
    expect(original[0]).toBe(1);
  });
});

describe('binary decoding of hostile input', () => {
  it('rejects nested array32 headers that declare millions of items (decoding bomb) without allocating', () => {
    const depth = 2000;
    const bomb = new Uint8Array(depth * 5);
    for (let i = 0; i < depth; i++) bomb.set([0xdd, 0x00, 0x40, 0x00, 0x00], i * 5);
    expect(codeOf(() => decodeBinary(bomb))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('rejects a map32 or str32 that claims more than the input holds', () => {
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xdf, 0xff, 0xff, 0xff, 0xff])))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61])))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xc6, 0x7f, 0xff, 0xff, 0xff, 0x61])))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('bounds the input size before decoding', () => {
    const encoded = encodeBinary({ data: new Uint8Array(2000) });
    expect(codeOf(() => decodeBinary(encoded, { maxBytes: 1000 }))).toBe(ErrorCodes.TOO_LARGE);
    expect(codeOf(() => decodeBinary(encoded, { maxBytes: encoded.byteLength }))).toBeUndefined();
  });

  it('bounds nesting depth', () => {
    let nested: unknown = 1;
    for (let i = 0; i < 10; i++) nested = [nested];
    expect(codeOf(() => decodeBinary(encodeBinary(nested), { maxDepth: 10 }))).toBeUndefined();
    expect(codeOf(() => decodeBinary(encodeBinary(nested), { maxDepth: 9 }))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('refuses extension types (dates, sets, errors, records) and non-string map keys', () => {
    expect(codeOf(() => decodeBinary(encodeBinary(new Date(0))))).toBe(ErrorCodes.BAD_REQUEST);
    // msgpackr's Set and Error extensions, and a generic ext 8
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xd4, 0x73, 0x90])))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xc7, 0x01, 0x65, 0x00])))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeBinary(encodeBinary(new Map([[1, 2]]))))).toBe(ErrorCodes.BAD_REQUEST);
    // fixext1 with msgpackr's record-definition type
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xd4, 0x72, 0x00])))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeBinary(Uint8Array.from([0xc1])))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('refuses truncated input and trailing bytes', () => {
    const encoded = encodeBinary({ a: 'hello', b: [1, 2, 3] });
    expect(codeOf(() => decodeBinary(encoded.subarray(0, encoded.length - 1)))).toBe(ErrorCodes.BAD_REQUEST);
    const padded = new Uint8Array(encoded.length + 1);
    padded.set(encoded);
    expect(codeOf(() => decodeBinary(padded))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeBinary(new Uint8Array(0)))).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('reads undefined and 64-bit integers as plain values', () => {
    expect(decodeBinary(encodeBinary(undefined))).toBeUndefined();
    expect(decodeBinary(encodeBinary(2n ** 40n))).toBe(2 ** 40);
  });
});

describe('values counted before anything is built (maxValues)', () => {
  const emptyMaps = (count: number) => ({ x: Array.from({ length: count }, () => ({})) });
  const emptyBytes = (count: number) => ({ inOrder: Array.from({ length: count }, () => new Uint8Array(0)) });
  const address = (i: number) => i.toString(16).padStart(40, '0');

  it('refuses a message of more values than the bound with TOO_LARGE, whatever its bytes, in both codecs', () => {
    // 100,000 empty maps: 300 KB of MessagePack, within every byte bound; a value a byte.
    const maps = encodeBinary(emptyMaps(100_000));
    expect(maps.byteLength).toBeLessThan(DEFAULT_DECODE_LIMITS.maxBytes);
    expect(codeOf(() => decodeBinary(maps))).toBe(ErrorCodes.TOO_LARGE);
    expect(codeOf(() => decodeBinary(maps, { maxValues: 100_003 }))).toBeUndefined();
    expect(codeOf(() => decodeJson(encodeJson(emptyMaps(100_000))))).toBe(ErrorCodes.TOO_LARGE);
    // The byte-list shape is read by its own decoder, which hands a list past the bound to the general one.
    const bytes = encodeBinary(emptyBytes(100_000));
    expect(codeOf(() => decodePieces(binaryCodec, { parts: [Buffer.from(bytes)], total: bytes.byteLength }))).toBe(ErrorCodes.TOO_LARGE);
  });

  it('counts each value once: a map, its key, its list and the items of the list', () => {
    const list = encodeBinary({ x: [1, 2, 3, 4, 5] }); // 3 + 5 values
    expect(codeOf(() => decodeBinary(list, { maxValues: 8 }))).toBeUndefined();
    expect(codeOf(() => decodeBinary(list, { maxValues: 7 }))).toBe(ErrorCodes.TOO_LARGE);
    const byteList = encodeBinary(emptyBytes(5));
    const pieces = { parts: [Buffer.from(byteList)], total: byteList.byteLength };
    expect(codeOf(() => decodePieces(binaryCodec, pieces, { maxValues: 8 }))).toBeUndefined();
    expect(codeOf(() => decodePieces(binaryCodec, pieces, { maxValues: 7 }))).toBe(ErrorCodes.TOO_LARGE);
    // JSON: one, and one for each bracket, brace, comma and colon outside strings ("[,]" in a string is no value).
    const json = Buffer.from('{"x":[1,2,"[,]"]}'); // 1 + { : [ , , = 6
    expect(codeOf(() => decodeJson(json, { maxValues: 6 }))).toBeUndefined();
    expect(codeOf(() => decodeJson(json, { maxValues: 5 }))).toBe(ErrorCodes.TOO_LARGE);
  });

  it('takes the largest messages the protocol sends under its default limits', () => {
    const asked = Array.from({ length: 1_000 }, (_, i) => address(i));
    const chunk = new Uint8Array(10);
    const largest = [
      { addresses: asked },
      { inOrder: asked.map(() => chunk), missing: asked, later: asked },
      // The older reply form: one object a chunk.
      { chunks: asked.map((a) => ({ address: a, data: chunk })), missing: asked, later: asked },
    ];
    for (const message of largest) {
      expect(codeOf(() => decodeBinary(encodeBinary(message)))).toBeUndefined();
      expect(codeOf(() => decodeJson(encodeJson(message)))).toBeUndefined();
    }
  });
});

describe('JSON encoding', () => {
  it('writes bytes as {"$bytes": base64}, Buffers included', () => {
    expect(encodeJsonText({ a: new Uint8Array([1, 2, 3]), b: Buffer.from('hi') })).toBe('{"a":{"$bytes":"AQID"},"b":{"$bytes":"aGk="}}');
    expect(encodeJsonText(undefined)).toBe('null');
  });

  it('reads {"$bytes": base64} back as bytes, and leaves look-alikes alone', () => {
    const text = '{"a":{"$bytes":"AQID"},"b":{"$bytes":"AQID","x":1},"c":{"$bytes":5}}';
    expect(decodeJson(Buffer.from(text))).toStrictEqual({
      a: new Uint8Array([1, 2, 3]),
      b: { $bytes: 'AQID', x: 1 },
      c: { $bytes: 5 },
    });
  });

  it('refuses bad base64, invalid UTF-8, malformed JSON, deep nesting and oversized input', () => {
    expect(codeOf(() => decodeJson(Buffer.from('{"a":{"$bytes":"AQI*"}}')))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeJson(Buffer.from('{"a":{"$bytes":"AQI"}}')))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeJson(Uint8Array.from([0x22, 0xff, 0x22])))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeJson(Buffer.from('{"a":')))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeJson(Buffer.from('['.repeat(40) + ']'.repeat(40)), { maxDepth: 32 }))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOf(() => decodeJson(Buffer.from('["[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]'), { maxDepth: 2 }))).toBeUndefined();
    expect(codeOf(() => decodeJson(encodeJson({ s: 'x'.repeat(100) }), { maxBytes: 50 }))).toBe(ErrorCodes.TOO_LARGE);
  });
});

describe('error replies', () => {
  it('keep the code and message of an AtlasError', () => {
    const reply = errorReply(new AtlasError(ErrorCodes.NOT_ANNOUNCED, 'chunk abc is not announced'));
    expect(reply).toStrictEqual({ error: { code: 'NOT_ANNOUNCED', message: 'chunk abc is not announced' } });
    const rebuilt = errorFromReply(decodeBinary(encodeBinary(reply)));
    expect(rebuilt.code).toBe(ErrorCodes.NOT_ANNOUNCED);
    expect(rebuilt.message).toBe('chunk abc is not announced');
  });

  it('hide the message of unexpected errors and of INTERNAL ones', () => {
    expect(errorReply(new Error('/secret/path exploded'))).toStrictEqual({ error: { code: 'INTERNAL', message: 'internal error' } });
    expect(errorReply(new AtlasError(ErrorCodes.STORE_CORRUPT, 'page 7 of /data/x'))).toStrictEqual({
      error: { code: 'STORE_CORRUPT', message: 'internal error' },
    });
    // A chain adapter's own error (a URL with a token, a file) and a store's file errors stay ours too.
    for (const code of [ErrorCodes.CHAIN_FAILED, ErrorCodes.STORE_IO, ErrorCodes.STORE_PERMISSION]) {
      expect(errorReply(new AtlasError(code, "chain adapter: length() failed: open '/home/op/chain.jsonl' (token=abc)"))).toStrictEqual({ error: { code, message: 'internal error' } });
    }
  });

  it('turn a malformed or invented error into BAD_REPLY', () => {
    expect(errorFromReply({ error: { code: 'MADE_UP', message: 'x' } }).code).toBe(ErrorCodes.BAD_REPLY);
    expect(errorFromReply({ nope: 1 }).code).toBe(ErrorCodes.BAD_REPLY);
  });
});

describe('content negotiation', () => {
  it('maps Content-Type and Accept to codecs', () => {
    expect(codecForContentType('application/msgpack')).toBe(binaryCodec);
    expect(codecForContentType('Application/JSON; charset=utf-8')).toBe(jsonCodec);
    expect(codecForContentType('text/plain')).toBeUndefined();
    expect(codecForContentType(undefined)).toBeUndefined();
    expect(codecForAccept('application/json, application/msgpack')).toBe(jsonCodec);
    expect(codecForAccept('application/x-msgpack')).toBe(binaryCodec);
    expect(codecForAccept('*/*')).toBeUndefined();
  });
});
