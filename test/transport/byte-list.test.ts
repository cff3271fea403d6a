// The one-pass MessagePack writer of byte lists must write exactly what msgpackr writes, and
// leave every other shape to it.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeByteList } from '../../src/transport/byte-list.js';
import { decodeBinary, encodeBinary } from '../../src/transport/codec.js';

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
