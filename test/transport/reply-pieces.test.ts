// A reply written as pieces must be, end to end, exactly what msgpackr writes for it, with every
// large byte string sent from its own memory; anything outside the subset it writes is left to
// msgpackr, and the HTTP server sends the pieces as one body.
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/runtime.js';
import { binaryCodec, decodeBinary, jsonCodec } from '../../src/transport/codec.js';
import { encodePieces, SHARED_PIECE_BYTES } from '../../src/transport/reply-pieces.js';

// The codec's own options (codec.ts).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

const address = (i: number) => i.toString(16).padStart(40, '0');
const join = (pieces: readonly Uint8Array[]) => Buffer.concat(pieces.map((piece) => Buffer.from(piece.buffer, piece.byteOffset, piece.length)));

describe('encodePieces', () => {
  it('writes a listed getChunks reply byte for byte as msgpackr does, large chunks as their own pieces', () => {
    const random = seededRandom(41);
    for (let round = 0; round < 30; round++) {
      const count = Math.floor(random() * 40);
      const chunks = Array.from({ length: count }, (_, i) => ({ address: address(i), data: Buffer.alloc(Math.floor(random() * 3) === 0 ? SHARED_PIECE_BYTES + Math.floor(random() * 50_000) : Math.floor(random() * 400), i) }));
      const missing = Array.from({ length: Math.floor(random() * 20) }, (_, i) => address(1_000 + i));
      const reply = round % 2 === 0 ? { chunks, missing } : { chunks, missing, later: [address(7)] };
      const pieces = encodePieces(reply) as Uint8Array[];
      expect(join(pieces).equals(Buffer.from(packr.pack(reply))), `round ${round}`).toBe(true);
      for (const chunk of chunks) if (chunk.data.length >= SHARED_PIECE_BYTES) expect(pieces.includes(chunk.data)).toBe(true);
    }
  });

  it('writes an in-order reply through the byte-list writer, large chunks shared', () => {
    const big = Buffer.alloc(SHARED_PIECE_BYTES, 3);
    const reply = { inOrder: [Buffer.alloc(5, 1), null, big] };
    const pieces = encodePieces(reply) as Uint8Array[];
    expect(join(pieces).equals(Buffer.from(packr.pack(reply)))).toBe(true);
    expect(pieces).toContain(big);
  });

  it('matches msgpackr at every header size of strings, lists, maps and byte strings it writes', () => {
    const values: unknown[] = [
      null,
      '',
      'x'.repeat(31),
      'x'.repeat(32),
      'x'.repeat(255),
      [],
      Array.from({ length: 15 }, () => null),
      Array.from({ length: 16 }, () => null),
      Array.from({ length: 65_536 }, () => null),
      {},
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'])),
      Object.assign(Object.create(null) as object, { a: [Buffer.alloc(255)], b: [Buffer.alloc(256)], c: Buffer.alloc(65_535), d: Buffer.alloc(65_536) }),
      { deep: [[{ x: Buffer.alloc(3) }]] },
    ];
    for (const value of values) {
      const pieces = encodePieces(value);
      expect(pieces, JSON.stringify(value)?.slice(0, 60)).toBeDefined();
      expect(join(pieces as Uint8Array[]).equals(Buffer.from(packr.pack(value))), JSON.stringify(value)?.slice(0, 60)).toBe(true);
    }
  });

  it('leaves to msgpackr what it does not write', () => {
    class Reply {
      chunks = [];
    }
    const others: unknown[] = [
      1,
      true,
      undefined,
      { n: 1 },
      { s: 'é' },
      { s: 'x'.repeat(256) },
      { u: undefined },
      { view: new Uint16Array(2) },
      new Reply(),
      new Date(0),
      new Map(),
      { a: { b: { c: { d: { e: 'too deep' } } } } },
    ];
    for (const value of others) expect(encodePieces(value), String(value)).toBeUndefined();
    // The codec then sends msgpackr's bytes, as one piece.
    expect(join(binaryCodec.encodePieces({ n: 1 })).equals(Buffer.from(packr.pack({ n: 1 })))).toBe(true);
  });

  it('writes nothing for a value that changes between its two passes', () => {
    for (const grows of [true, false]) {
      let reads = 0;
      const shifty = {
        // Different at every read, whichever read each pass makes.
        get text() {
          return ++reads % 2 === (grows ? 1 : 0) ? 'short' : 'a longer text than the first';
        },
      };
      expect(encodePieces(shifty)).toBeUndefined();
    }
    // A string of two characters (3 bytes), then a number (which the general writer would take
    // for an empty map, 3 bytes too): refused, not sent as another value.
    let turns = 0;
    const turning = {
      get value() {
        return ++turns > 2 ? 5 : 'ab';
      },
    };
    expect(encodePieces(turning)).toBeUndefined();
    // Nor followed deeper than the first pass would go.
    let reads = 0;
    const deepening: Record<string, unknown> = {
      get next() {
        return ++reads > 2 ? deepening : null;
      },
    };
    expect(encodePieces(deepening)).toBeUndefined();
  });

  it('never writes a list whose header counts other items than it holds, whatever its length says from read to read', () => {
    for (const first of [1, 2]) {
      let reads = 0;
      // A list whose length reads 2 and 3 in turn (or 3 and 2), under either writer's key.
      const shifting = new Proxy([Buffer.alloc(3, 1), Buffer.alloc(3, 2), Buffer.alloc(3, 3)], {
        get: (target, key, receiver) => (key === 'length' ? (++reads % 2 === first % 2 ? 2 : 3) : Reflect.get(target, key, receiver)),
      });
      for (const value of [{ inOrder: shifting }, { chunks: shifting, missing: [] }]) {
        const pieces = encodePieces(value);
        if (pieces === undefined) continue;
        // Whatever was written decodes whole: its header counts the items that follow.
        const decoded = decodeBinary(join(pieces)) as Record<string, Uint8Array[]>;
        expect([2, 3]).toContain(Object.values(decoded)[0]?.length);
      }
    }
  });

  it('is what each codec sends: MessagePack as pieces, JSON as one piece', () => {
    const reply = { chunks: [{ address: address(1), data: Buffer.alloc(SHARED_PIECE_BYTES * 2, 7) }], missing: [] };
    const pieces = binaryCodec.encodePieces(reply);
    expect(pieces.length).toBeGreaterThan(1);
    const decoded = decodeBinary(join(pieces)) as typeof reply;
    expect(Buffer.from(decoded.chunks[0]?.data as Uint8Array).equals(reply.chunks[0]?.data as Buffer)).toBe(true);
    expect(jsonCodec.encodePieces(reply)).toHaveLength(1);
    expect(Buffer.from(jsonCodec.encodePieces(reply)[0] as Uint8Array).equals(Buffer.from(jsonCodec.encode(reply)))).toBe(true);
  });
});
