/** A reply's chunks checked against the addresses asked (sync/verify.ts `checkReply`). */
import { describe, expect, it } from 'vitest';
import { hash160Hex, hashReady } from '../../src/hash/index.js';
import { checkReply } from '../../src/sync/verify.js';

describe('checkReply', () => {
  it('keeps, as columns, the chunks that hash to their address and lists the others with where they were asked', async () => {
    await hashReady();
    const data = ['zero', 'one', 'two', 'three', 'four'].map((text) => new Uint8Array(Buffer.from(text)));
    const chunks = data.map((bytes, i) => ({ address: i % 2 === 1 ? hash160Hex(Buffer.from(`not ${i}`)) : hash160Hex(bytes), data: bytes }));
    // Chunk i was asked at request index 4 - i, whose position is 100 + that index; chunk 4 was not found in the request.
    const check = checkReply(chunks, [4, 3, 2, 1, undefined], [100, 101, 102, 103, 104]);
    expect(check.chunkBytes).toBe(data.reduce((sum, bytes) => sum + bytes.length, 0));
    expect(check.addresses).toEqual([chunks[0]!.address, chunks[2]!.address, chunks[4]!.address]);
    expect(check.batch.count).toBe(3);
    expect(check.batch.data).toEqual([data[0], data[2], data[4]]);
    expect(check.batch.hints).toEqual([104, 102, -1]);
    expect(Buffer.from(check.batch.keys).toString('hex')).toBe(check.addresses.join(''));
    expect(check.corrupt).toEqual([
      { address: chunks[1]!.address, index: 3, position: 103 },
      { address: chunks[3]!.address, index: 1, position: 101 },
    ]);
    const clean = checkReply([chunks[0]!, chunks[2]!], [0, 1], [7, 8]);
    expect(clean.corrupt).toEqual([]);
    expect(clean.batch.hints).toEqual([7, 8]);
    expect(clean.batch.count).toBe(2);
  });
});
