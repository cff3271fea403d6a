/** getChunks' two reply forms: the server's in-order answer and the client's reading of both. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, isAtlasError } from '../../src/errors.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { getChunksReply, packAddresses } from '../../src/protocol/get-chunks.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import type { AtlasService, GetChunksParams } from '../../src/protocol/messages.js';
import { createProtocolService } from '../../src/protocol/server.js';
import { validateParams, validateResult } from '../../src/protocol/validate.js';
import { encodeBinary } from '../../src/transport/codec.js';
import { contextFrom } from '../support/caller.js';

const [A, B, C, D] = ['a', 'b', 'c', 'd'].map((c) => c.repeat(40)) as [string, string, string, string];
const bytesOf = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

function replyError(raw: unknown, request?: GetChunksParams): string {
  try {
    validateResult('getChunks', raw, DEFAULT_LIMITS, request);
  } catch (error) {
    if (isAtlasError(error) && error.code === ErrorCodes.BAD_REPLY) return error.message;
    throw error;
  }
  throw new Error('the reply was accepted');
}

describe('getChunks params', () => {
  it('keeps inOrder only when true, and refuses a value that is not a boolean', () => {
    expect(validateParams('getChunks', { addresses: [A], inOrder: true })).toEqual({ addresses: [A], inOrder: true });
    expect(validateParams('getChunks', { addresses: [A], inOrder: false })).toEqual({ addresses: [A] });
    expect(() => validateParams('getChunks', { addresses: [A], inOrder: 1 })).toThrow(/getChunks.inOrder: expected a boolean/);
  });
});

describe('packed addresses', () => {
  const packed = (...addresses: string[]) => packAddresses(addresses);
  const codeOfParams = (addresses: unknown, limits = DEFAULT_LIMITS): unknown => {
    try {
      validateParams('getChunks', { addresses }, limits);
    } catch (error) {
      return isAtlasError(error) ? error.code : error;
    }
    return 'accepted';
  };

  it('reads 20 bytes an address, in order, as lower-case hex without repeats, and asks the same as the hex form', () => {
    const mixed = 'AbCdEf0123'.repeat(4);
    expect(packed(A, mixed, B, A).length).toBe(80);
    expect(validateParams('getChunks', { addresses: packed(A, mixed, B, A), inOrder: true })).toEqual({ addresses: [A, mixed.toLowerCase(), B], inOrder: true });
    expect(validateParams('getChunks', { addresses: packed(A, mixed, B, A) })).toEqual(validateParams('getChunks', { addresses: [A, mixed, B, A] }));
    expect(validateParams('getChunks', { addresses: new Uint8Array(0) })).toEqual({ addresses: [] });
  });

  it('refuses bytes that are not whole addresses, and more addresses than the limit, as the hex form does', () => {
    expect(codeOfParams(new Uint8Array(21))).toBe(ErrorCodes.BAD_REQUEST);
    expect(codeOfParams(new Uint8Array(19))).toBe(ErrorCodes.BAD_REQUEST);
    const limits = { ...DEFAULT_LIMITS, maxGetAddresses: 2 };
    expect(codeOfParams(packed(A, B), limits)).toBe('accepted');
    expect(codeOfParams(packed(A, B, C), limits)).toBe(ErrorCodes.TOO_MANY);
    expect(codeOfParams([A, B, C], limits)).toBe(ErrorCodes.TOO_MANY);
    // Too many and not whole: TOO_MANY, as a list of as many would be.
    expect(codeOfParams(new Uint8Array(2 * 20 + 1), limits)).toBe(ErrorCodes.TOO_MANY);
  });

  it('packs only valid addresses, into zeroed memory of its own', () => {
    expect(() => packAddresses(['z'.repeat(40)])).toThrow(/not a chunk address/);
    expect(() => packAddresses(['ab'.repeat(19) + 'zz'])).toThrow(/not a chunk address/);
    expect(() => packAddresses(['ab'])).toThrow(/not a chunk address/);
    const one = packAddresses([A]);
    expect(one.buffer.byteLength).toBe(20);
    expect(Buffer.from(one).toString('hex')).toBe(A);
  });

  it('halves a 500-address request as the client sends it', async () => {
    const addresses = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(40, '0'));
    const sent: number[] = [];
    const transport = {
      address: 'me:1',
      listen: async () => 'me:1',
      close: async () => undefined,
      call: async (_peer: string, _method: string, params: unknown) => {
        sent.push(encodeBinary(params).byteLength);
        return { inOrder: addresses.map(() => null) };
      },
    };
    const client = new ProtocolClient(transport);
    await client.getChunks('p:1', { addresses });
    await client.getChunks('p:1', { addresses }, { packed: true });
    const [hex, bytes] = sent as [number, number];
    expect(hex).toBeGreaterThan(500 * 41);
    expect(bytes).toBeLessThan(500 * 20 + 32);
  });

  it('is said in inventory replies: true or absent, anything else refused', () => {
    const reply = { sequenceLength: 8, inventory: { epoch: 'e', version: 1 }, bytes: new Uint8Array(1) };
    expect(validateResult('inventory', { ...reply, packedAddresses: true }, DEFAULT_LIMITS)).toMatchObject({ packedAddresses: true });
    expect(validateResult('inventory', reply, DEFAULT_LIMITS)).not.toHaveProperty('packedAddresses');
    expect(validateResult('inventory', { ...reply, packedAddresses: false }, DEFAULT_LIMITS)).not.toHaveProperty('packedAddresses');
    expect(() => validateResult('inventory', { ...reply, packedAddresses: 1 }, DEFAULT_LIMITS)).toThrow(/inventory.packedAddresses: expected a boolean/);
  });
});

describe('the server’s in-order reply', () => {
  it('answers each asked address at its index, null when not held, and cuts the list where the rest was put off', async () => {
    const service = {
      getChunks: async () => ({ chunks: [{ address: C, data: bytesOf(3, 3) }, { address: A, data: bytesOf(1, 1) }], missing: [B], later: [D] }),
    } as unknown as AtlasService;
    const handle = createProtocolService(service);
    const context = contextFrom('127.0.0.1:1');
    expect(await handle('getChunks', { addresses: [A, B, C, D], inOrder: true }, context)).toEqual({ inOrder: [bytesOf(1, 1), null, bytesOf(3, 3)] });
    // Not asked for: the listed form, as the service gave it.
    expect(await handle('getChunks', { addresses: [A, B, C, D] }, context)).toEqual({ chunks: [{ address: C, data: bytesOf(3, 3) }, { address: A, data: bytesOf(1, 1) }], missing: [B], later: [D] });
  });

  it('answers listed when the service’s result cannot be put in order: an address unanswered or twice, a put-off one not at the tail', () => {
    const params = { addresses: [A, B, C], inOrder: true };
    const chunk = (address: string) => ({ address, data: bytesOf(1) });
    const unanswered = { chunks: [chunk(A)], missing: [C] };
    const twice = { chunks: [chunk(A), chunk(A)], missing: [C] };
    const laterInside = { chunks: [chunk(A), chunk(C)], missing: [], later: [B] };
    const chunkAndMissing = { chunks: [chunk(A)], missing: [A, C] };
    for (const result of [unanswered, twice, laterInside, chunkAndMissing]) expect(getChunksReply(params, result)).toBe(result);
    expect(getChunksReply(params, { chunks: [chunk(A)], missing: [B], later: [C] })).toEqual({ inOrder: [bytesOf(1), null] });
    // Missing out of request order (the verified reader appends a corrupt chunk's address last).
    expect(getChunksReply(params, { chunks: [chunk(B)], missing: [C, A] })).toEqual({ inOrder: [null, bytesOf(1), null] });
  });

  it('carries 170-byte chunks in fewer bytes than the listed form: the addresses are not repeated', () => {
    const addresses = Array.from({ length: 500 }, (_, i) => i.toString(16).padStart(40, '0'));
    const result = { chunks: addresses.map((address) => ({ address, data: bytesOf(170) })), missing: [] };
    const listed = encodeBinary(result).byteLength;
    const inOrder = encodeBinary(getChunksReply({ addresses, inOrder: true }, result)).byteLength;
    expect(listed / (500 * 170)).toBeGreaterThan(1.3);
    expect(inOrder / (500 * 170)).toBeLessThan(1.02);
  });
});

describe('the client’s reading of an in-order reply', () => {
  const request: GetChunksParams = { addresses: [A, B, C], inOrder: true };

  it('gives each answer the address asked at its index', () => {
    expect(validateResult('getChunks', { inOrder: [bytesOf(2), null, bytesOf(5)] }, DEFAULT_LIMITS, request)).toEqual({
      chunks: [{ address: A, data: bytesOf(2) }, { address: C, data: bytesOf(5) }],
      missing: [B],
    });
  });

  it('reads a short list as the rest put off, but only beside a chunk', () => {
    expect(validateResult('getChunks', { inOrder: [null, bytesOf(2)] }, DEFAULT_LIMITS, request)).toEqual({
      chunks: [{ address: B, data: bytesOf(2) }],
      missing: [A],
      later: [C],
    });
    expect(replyError({ inOrder: [null] }, request)).toMatch(/put off in a reply without any chunk/);
    expect(replyError({ inOrder: [] }, request)).toMatch(/put off in a reply without any chunk/);
  });

  it('refuses more answers than addresses asked, an answer that is neither bytes nor null, an empty or oversized chunk', () => {
    expect(replyError({ inOrder: [null, null, null, null] }, request)).toMatch(/4 items, at most 3/);
    expect(replyError({ inOrder: [A, null, null] }, request)).toMatch(/inOrder\[0\]: expected bytes, got string/);
    expect(replyError({ inOrder: [{ data: bytesOf(1) }] }, request)).toMatch(/expected bytes, got object/);
    expect(replyError({ inOrder: [bytesOf(0), null, null] }, request)).toMatch(/inOrder\[0\]: empty chunk/);
    expect(replyError({ inOrder: [bytesOf(1), null, bytesOf(0)] }, request)).toMatch(/inOrder\[2\]: empty chunk/);
    expect(replyError({ inOrder: [bytesOf(1), 7] }, request)).toMatch(/inOrder\[1\]: expected bytes, got number/);
    expect(replyError({ inOrder: [bytesOf(DEFAULT_LIMITS.maxChunkSize + 1)] }, request)).toMatch(/inOrder\[0\]: \d+ bytes, at most/);
    expect(replyError({ inOrder: 'abc' }, request)).toMatch(/expected an array/);
  });

  it('refuses both forms at once, and an in-order reply nobody asked for', () => {
    expect(replyError({ inOrder: [bytesOf(1)], chunks: [], missing: [] }, request)).toMatch(/both reply forms/);
    expect(replyError({ inOrder: [bytesOf(1)], later: [] }, request)).toMatch(/both reply forms/);
    expect(replyError({ inOrder: [bytesOf(1), null, null] }, { addresses: [A, B, C] })).toMatch(/did not ask for one/);
    expect(replyError({ inOrder: [bytesOf(1)] })).toMatch(/did not ask for one/);
  });

  it('still accepts the listed form from a peer that ignores the flag', () => {
    expect(validateResult('getChunks', { chunks: [{ address: B, data: bytesOf(1) }], missing: [A, C] }, DEFAULT_LIMITS, request)).toEqual({
      chunks: [{ address: B, data: bytesOf(1) }],
      missing: [A, C],
    });
  });
});
