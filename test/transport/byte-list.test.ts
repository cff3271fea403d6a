// The one-pass MessagePack writer of byte lists must write exactly what msgpackr writes, and
// leave every other shape to it; its reader, over the pieces a body came in, must read exactly
// what the general decoder reads, and leave every other input to it.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { seededRandom, type Random } from '../../src/runtime.js';
import { byteListPieces, decodeByteList, encodeByteList } from '../../src/transport/byte-list.js';
import { binaryCodec, decodeBinary, decodePieces, encodeBinary, jsonCodec } from '../../src/transport/codec.js';

// The codec's own options (codec.ts).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function listOf(count: number, size: number): (Uint8Array | null)[] {
  return Array.from({ length: count }, (_, i) => (i % 7 === 3 ? null : i % 2 === 1 ? Buffer.alloc(size, i) : new Uint8Array(size).fill(i)));
}

describe('encodeByteList', () => {
  it('writes byte for byte what msgpackr writes, across every header size of the list and its items', () => {
    for (const count of [0, 1, 15, 16, 17, 500, 65_535, 65_536]) {
      for (const size of [0, 1, 255, 256, 65_535, 65_536]) {
        if (count * size > 20_000_000) continue;
        for (const key of ['inOrder', 'x', 'k'.repeat(31)]) {
          const value = { [key]: listOf(count, size) };
          const mine = encodeByteList(value);
          expect(mine, `${count} items of ${size} bytes under a key of ${key.length}`).toBeDefined();
          expect(Buffer.from(mine as Uint8Array).equals(Buffer.from(packr.pack(value))), `${count} items of ${size} bytes under a key of ${key.length}`).toBe(true);
        }
      }
    }
  });

  it('leaves every other shape to msgpackr', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const others: unknown[] = [
      null,
      'text',
      [bytes],
      bytes,
      {},
      { inOrder: [bytes], more: true },
      { inOrder: [bytes, 'not bytes'] },
      { inOrder: [bytes, undefined] },
      { inOrder: [new Uint16Array(2)] },
      { inOrder: bytes },
      { ['k'.repeat(32)]: [bytes] },
      { ['clé']: [bytes] },
      { inOrder: Object.assign(Object.create({ inherited: 1 }) as object, { length: 0 }) },
    ];
    // Objects msgpackr encodes its own way, however plain their one field looks.
    class Reply {
      inOrder = [bytes];
    }
    others.push(new Reply(), Object.assign(new Date(0), { inOrder: [bytes] }), Object.assign(new Map(), { inOrder: [bytes] }));
    for (const value of others) expect(encodeByteList(value)).toBeUndefined();
    // A map without a prototype is a plain one.
    const bare = Object.assign(Object.create(null) as object, { inOrder: [bytes, null] });
    expect(Buffer.from(encodeByteList(bare) as Uint8Array).equals(Buffer.from(packr.pack(bare)))).toBe(true);
    class Listish extends Array<Uint8Array> {}
    expect(encodeByteList({ inOrder: Listish.from([bytes]) })).toBeUndefined();
  });

  it('is what the codec sends for an in-order getChunks reply, and decodes to the same list', () => {
    const inOrder = listOf(500, 170);
    const wire = encodeBinary({ inOrder });
    expect(Buffer.from(wire).equals(Buffer.from(packr.pack({ inOrder })))).toBe(true);
    const decoded = decodeBinary(wire) as { inOrder: (Uint8Array | null)[] };
    expect(decoded.inOrder.map((item) => (item === null ? null : Buffer.from(item).toString('hex')))).toEqual(inOrder.map((item) => (item === null ? null : Buffer.from(item).toString('hex'))));
  });
});

describe('byteListPieces', () => {
  it('writes what encodeByteList writes, each item from the given size on as a piece of its own memory', () => {
    const big = Buffer.alloc(70_000, 9);
    const value = { inOrder: [Buffer.alloc(10, 1), big, null, new Uint8Array(300).fill(2), big.subarray(0, 5_000), Buffer.alloc(0)] };
    for (const shareFrom of [0, 1, 256, 5_000, 70_000, 70_001, Infinity]) {
      const pieces = byteListPieces(value, shareFrom) as Uint8Array[];
      expect(Buffer.concat(pieces).equals(Buffer.from(packr.pack(value))), `shared from ${shareFrom}`).toBe(true);
      const shared = value.inOrder.filter((item) => item !== null && item.length >= shareFrom);
      // Every shared item is sent as it is, never copied.
      for (const item of shared) expect(pieces.some((piece) => piece === item), `shared from ${shareFrom}`).toBe(true);
      expect(pieces.length).toBeLessThanOrEqual(2 * shared.length + 1);
    }
    expect(byteListPieces(value, Infinity)).toHaveLength(1);
    expect(byteListPieces({ inOrder: [big] }, 1)?.filter((piece) => piece.length > 0)).toHaveLength(2);
  });

  it('leaves other shapes alone, and writes nothing for a list that changes between its two passes', () => {
    expect(byteListPieces({ inOrder: ['text'] }, 1)).toBeUndefined();
    let reads = 0;
    const growing = new Proxy([Buffer.alloc(10)], {
      get: (target, key, receiver) => (key === '0' && ++reads > 1 ? Buffer.alloc(20) : Reflect.get(target, key, receiver)),
    });
    // A Proxy of an array passes Array.isArray and has Array.prototype: only the size check stops it.
    expect(byteListPieces({ inOrder: growing }, Infinity)).toBeUndefined();
    // Nor an item the first pass would have refused, of the same length.
    let turns = 0;
    const turning = new Proxy([Buffer.from('abc')], {
      get: (target, key, receiver) => (key === '0' && ++turns > 1 ? 'abc' : Reflect.get(target, key, receiver)),
    });
    expect(byteListPieces({ inOrder: turning }, Infinity)).toBeUndefined();
  });
});

/** `bytes` cut at `cuts` random places (pieces of 0 bytes included, as a stream may deliver). */
function cutAt(bytes: Uint8Array, cuts: number, random: Random): Uint8Array[] {
  const points = Array.from({ length: cuts }, () => Math.floor(random() * (bytes.length + 1))).sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    // Each piece in memory of its own, as socket reads are.
    pieces.push(Uint8Array.from(bytes.subarray(from, point)));
    from = point;
  }
  return pieces;
}

function hexes(list: readonly (Uint8Array | null)[]): (string | null)[] {
  return list.map((item) => (item === null ? null : Buffer.from(item).toString('hex')));
}

describe('decodeByteList', () => {
  it('reads, from any cut of the body into pieces, exactly what the general decoder reads from the whole', () => {
    const random = seededRandom(36);
    for (const [count, size] of [[0, 0], [1, 0], [1, 1], [15, 3], [16, 255], [17, 256], [500, 170], [40, 20_000], [3, 65_536]] as const) {
      for (const key of ['inOrder', 'x', 'k'.repeat(31)]) {
        const wire = encodeBinary({ [key]: listOf(count, size) });
        const whole = decodeBinary(wire) as Record<string, (Uint8Array | null)[]>;
        for (const cuts of [0, 1, 2, 7, 60]) {
          const read = decodeByteList(cutAt(wire, cuts, random));
          expect(read, `${count} × ${size} B, ${cuts} cuts`).toBeDefined();
          expect(Object.keys(read!)).toEqual([key]);
          expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
          expect(hexes(read![key]!)).toEqual(hexes(whole[key]!));
          for (const item of read![key]!) if (item !== null) expect(item.constructor).toBe(Uint8Array);
        }
      }
    }
  });

  it('reads a fixmap header, as another encoder may write it, as the general decoder does', () => {
    // { inOrder: [bin 0102, nil] } with a one-byte map header.
    const wire = Uint8Array.from([0x81, 0xa7, ...Buffer.from('inOrder'), 0x92, 0xc4, 2, 1, 2, 0xc0]);
    expect(hexes(decodeByteList([wire])!.inOrder!)).toEqual(hexes((decodeBinary(wire) as { inOrder: (Uint8Array | null)[] }).inOrder));
  });

  it('answers a byte string lying in one piece with a view of that piece, and one straddling two with a copy', () => {
    const wire = encodeBinary({ inOrder: [Buffer.alloc(100, 1), Buffer.alloc(100, 2)] });
    // The first chunk ends at byte 3 + 8 + 1 + 2 + 100 = 114; cut inside the second. Each piece in memory of its own.
    const pieces = [Uint8Array.from(wire.subarray(0, 150)), Uint8Array.from(wire.subarray(150))];
    const [first, second] = decodeByteList(pieces)!.inOrder as [Uint8Array, Uint8Array];
    expect(first.buffer).toBe(pieces[0]!.buffer);
    expect(first.byteOffset).toBe(14);
    expect(second.buffer).not.toBe(pieces[0]!.buffer);
    expect(second.buffer).not.toBe(pieces[1]!.buffer);
    expect(Buffer.from(second).equals(Buffer.alloc(100, 2))).toBe(true);
  });

  it('reads headers larger than they need be, and unusual keys, exactly as the general decoder does', () => {
    const key = (text: string) => [0xa0 | text.length, ...Buffer.from(text, 'latin1')];
    const bin = (bytes: number[], form: 8 | 16 | 32) =>
      form === 8 ? [0xc4, bytes.length, ...bytes] : form === 16 ? [0xc5, 0, bytes.length, ...bytes] : [0xc6, 0, 0, 0, bytes.length, ...bytes];
    const list = (items: number[][], form: 'fix' | 16 | 32) =>
      [...(form === 'fix' ? [0x90 | items.length] : form === 16 ? [0xdc, 0, items.length] : [0xdd, 0, 0, 0, items.length]), ...items.flat()];
    const items = [bin([1, 2, 3], 16), [0xc0], bin([], 32), bin([9], 8)];
    const random = seededRandom(7);
    for (const name of ['inOrder', '', 'constructor', 'toString', '0', ' ~', 'x'.repeat(31)]) {
      for (const map of [[0x81], [0xde, 0, 1]]) {
        for (const form of ['fix', 16, 32] as const) {
          const wire = Uint8Array.from([...map, ...key(name), ...list(items, form)]);
          const whole = decodeBinary(wire) as Record<string, (Uint8Array | null)[]>;
          const read = decodeByteList(cutAt(wire, 3, random));
          expect(read, `${JSON.stringify(name)} ${form}`).toBeDefined();
          expect(Object.keys(read!)).toEqual(Object.keys(whole));
          expect(Object.getOwnPropertyDescriptor(read, name)?.enumerable).toBe(true);
          expect(hexes(read![name]!)).toEqual(hexes(whole[name]!));
        }
      }
    }
    // Keys just outside printable ASCII are the general decoder's.
    for (const edge of ['\x1f', '\x7f']) expect(decodeByteList([Uint8Array.from([0x81, ...key(edge), 0x90])])).toBeUndefined();
  });

  it('leaves every other input to the general decoder', () => {
    const good = encodeBinary({ inOrder: [Buffer.alloc(3, 7), null] });
    const others: Uint8Array[] = [
      new Uint8Array(0),
      good.subarray(0, good.length - 1), // cut short
      Uint8Array.from([...good, 0xc0]), // trailing bytes
      packr.pack({ inOrder: [Buffer.alloc(3), 'text'] }),
      packr.pack({ inOrder: [[Buffer.alloc(3)]] }),
      packr.pack({ inOrder: [Buffer.alloc(3)], more: null }),
      packr.pack({ inOrder: Buffer.alloc(3) }),
      packr.pack([Buffer.alloc(3)]),
      packr.pack({ ['k'.repeat(32)]: [null] }), // a key longer than a fixstr
      packr.pack({ ['cl\u00e9']: [null] }), // a key beyond printable ASCII
      Uint8Array.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x91, 0xc0]),
      Uint8Array.from([0x81, 0xa7, ...Buffer.from('inOrder'), 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0]), // more items than bytes
      Uint8Array.from([0x81, 0xa7, ...Buffer.from('inOrder'), 0x91, 0xc6, 0x7f, 0xff, 0xff, 0xff, 1]), // a bin longer than the input
      Uint8Array.from([0x82, 0xa7, ...Buffer.from('inOrder'), 0x90, 0xa1, 0x78, 0x90]), // two fields
      Uint8Array.from([0xde, 0x00, 0x02, 0xa7, ...Buffer.from('inOrder'), 0x90]),
    ];
    for (const wire of others) {
      for (const cuts of [0, 3]) expect(decodeByteList(cutAt(wire, cuts, seededRandom(wire.length))), Buffer.from(wire).toString('hex')).toBeUndefined();
    }
  });
});

describe('decodePieces', () => {
  it('decodes a body from its pieces as the codec decodes the whole, within the same bounds', () => {
    const random = seededRandom(11);
    const list = encodeBinary({ inOrder: [Buffer.alloc(40, 1), null] });
    const other = encodeBinary({ peers: ['127.0.0.1:1'], n: 3 });
    for (const wire of [list, other]) {
      const body = { parts: cutAt(wire, 4, random).map((piece) => Buffer.from(piece.buffer, piece.byteOffset, piece.length)), total: wire.length };
      expect(JSON.stringify(decodePieces(binaryCodec, body))).toBe(JSON.stringify(decodeBinary(wire)));
      // The size and nesting bounds are the codec's, whichever way the body is read.
      expect(() => decodePieces(binaryCodec, body, { maxBytes: wire.length - 1 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
      expect(() => decodePieces(binaryCodec, body, { maxDepth: 1 })).toThrow(/nested deeper/);
    }
    // A JSON body is joined and parsed: nothing in it is read as MessagePack.
    const json = Buffer.from('{"inOrder":[]}');
    expect(decodePieces(jsonCodec, { parts: [json.subarray(0, 5), json.subarray(5)], total: json.length })).toEqual({ inOrder: [] });
    expect(() => decodePieces(jsonCodec, { parts: [Buffer.from(list)], total: list.length })).toThrow();
  });
});
