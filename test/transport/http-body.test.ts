/**
 * readBodyParts: a body is kept as the pieces it came in, without joining them, and however a
 * sender splits it the pieces stay few and in memory nothing else holds. readBody: a body joined
 * copies each byte once.
 */
import http, { type IncomingMessage } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_MIN_BODY_PIECE_BYTES, FREE_BODY_PIECES, joinedBody, readBody, readBodyParts, SMALL_PIECE_BYTES } from '../../src/http-body.js';
import { closeServerAfterEach } from '../support/streaming-server.js';

const track = closeServerAfterEach();

/** A server that answers every request by calling `write` on its response. */
async function serving(write: (res: http.ServerResponse) => void): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => write(res));
  });
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function get(port: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, agent: false }, resolve);
    req.on('error', reject);
  });
}

/** Writes `count` pieces of `size` bytes, each its own chunk of the chunked encoding, `perTurn` at a time. */
function chunked(count: number, size: number, perTurn: number) {
  return (res: http.ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let written = 0;
    const next = (): void => {
      for (let i = 0; i < perTurn && written < count; i++, written++) res.write(Buffer.alloc(size, written % 251));
      if (written < count) setImmediate(next);
      else res.end();
    };
    next();
  };
}

describe('readBodyParts', () => {
  it('copies a body sent in 60,000 one-byte chunks into a few blocks, and keeps its bytes in order (the piece bound off)', async () => {
    const port = await serving(chunked(60_000, 1, 200));
    const body = await readBodyParts(await get(port), 1_000_000, { minPieceBytes: 0 });
    expect(body.total).toBe(60_000);
    // One piece for each one-byte chunk was 60,000 Buffers: about 200 bytes held a byte.
    expect(body.parts.length).toBeLessThanOrEqual(Math.ceil(60_000 / SMALL_PIECE_BYTES) + 4);
    const joined = Buffer.from(joinedBody(body));
    expect(joined.length).toBe(60_000);
    for (let i = 0; i < joined.length; i += 997) expect(joined[i]).toBe(i % 251);
  });

  it('keeps a large piece as it came, and every piece in memory of its own', async () => {
    const port = await serving(chunked(6, 100_000, 1));
    const body = await readBodyParts(await get(port), 10_000_000);
    expect(body.total).toBe(600_000);
    const joined = Buffer.from(joinedBody(body));
    for (let piece = 0; piece < 6; piece++) expect(joined[piece * 100_000 + 50_000]).toBe(piece);
    // Large pieces pass as they came (socket reads of tens of kilobytes), not copied into blocks.
    expect(body.parts.some((part) => part.length >= SMALL_PIECE_BYTES)).toBe(true);
    // No two pieces share memory, and none shares Node's pool with other buffers.
    const buffers = new Set(body.parts.map((part) => part.buffer));
    expect(buffers.size).toBe(body.parts.length);
    for (const part of body.parts) {
      expect(part.byteOffset).toBe(0);
      expect(part.buffer.byteLength).toBeLessThanOrEqual(Math.max(part.length, 64 * 1024));
    }
  });

  it('keeps a small body that comes whole as it came, without a copy', async () => {
    const port = await serving((res) => res.writeHead(200, { 'content-length': 1_000 }).end(Buffer.alloc(1_000, 7)));
    const body = await readBodyParts(await get(port), 10_000);
    expect(body.parts).toHaveLength(1);
    // A copy would sit in a block of 4 KiB; Node's own piece is exactly the body.
    expect(body.parts[0]!.buffer.byteLength).toBe(1_000);
    expect(body.parts[0]!.every((byte) => byte === 7)).toBe(true);
  });

  it('refuses a body past the bound with TOO_LARGE, however small its pieces', async () => {
    const port = await serving(chunked(5_000, 1, 100));
    await expect(readBodyParts(await get(port), 4_000, { minPieceBytes: 0 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('refuses a body of tiny pieces past its first 64 with BAD_REQUEST, and stops reading it', async () => {
    // Each piece costs node:http's parser and streams a few microseconds: 1-byte chunks made a MiB cost seconds of CPU.
    const port = await serving(chunked(100_000, 1, 200));
    const res = await get(port);
    let pieces = 0;
    res.on('data', () => pieces++);
    await expect(readBodyParts(res, 1_000_000)).rejects.toMatchObject({ code: 'BAD_REQUEST', details: { limit: DEFAULT_MIN_BODY_PIECE_BYTES } });
    expect(pieces).toBeLessThan(1_000);
    res.destroy();
  });

  it('reads a body of many pieces that average the bound or more, and 64 pieces of any size', async () => {
    // Twice the bound: a chunk split across two reads of the socket arrives as two pieces.
    const average = await readBodyParts(await get(await serving(chunked(2_000, 2 * DEFAULT_MIN_BODY_PIECE_BYTES, 50))), 1_000_000);
    expect(average.total).toBe(2_000 * 2 * DEFAULT_MIN_BODY_PIECE_BYTES);
    const few = await readBodyParts(await get(await serving(chunked(FREE_BODY_PIECES, 1, 8))), 1_000_000);
    expect(few.total).toBe(FREE_BODY_PIECES);
    // One piece more of the same size is past the bound.
    await expect(readBodyParts(await get(await serving(chunked(FREE_BODY_PIECES + 1, 1, 8))), 1_000_000)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // A bound given: 10-byte pieces pass at 5 and are refused at 11.
    expect((await readBodyParts(await get(await serving(chunked(500, 10, 50))), 1_000_000, { minPieceBytes: 5 })).total).toBe(5_000);
    await expect(readBodyParts(await get(await serving(chunked(500, 10, 50))), 1_000_000, { minPieceBytes: 11 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

/** A server that reads each request's body with readBody, and what it read; Buffer.concat calls counted while it reads. */
async function reading(maxBytes: number): Promise<{ port: number; bodies: Promise<{ body: Uint8Array; concats: number }>[] }> {
  const bodies: Promise<{ body: Uint8Array; concats: number }>[] = [];
  const server = http.createServer((req, res) => {
    const concat = vi.spyOn(Buffer, 'concat');
    const read = readBody(req, maxBytes).then((body) => ({ body, concats: concat.mock.calls.length }));
    read.finally(() => concat.mockRestore()).then(
      () => res.end('ok'),
      () => res.destroy(),
    );
    bodies.push(read);
  });
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, bodies };
}

/** POSTs `pieces` with their total as content-length, each written `gapMs` after the one before. */
async function postInPieces(port: number, pieces: Buffer[], gapMs: number): Promise<void> {
  const total = pieces.reduce((sum, piece) => sum + piece.length, 0);
  await new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', agent: false, headers: { 'content-length': total } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    let next = 0;
    const write = (): void => {
      req.write(pieces[next++]);
      if (next < pieces.length) setTimeout(write, gapMs);
      else req.end();
    };
    write();
  });
}

describe('readBody', () => {
  it('joins a body of a declared length that comes in several pieces by copying each byte once, into one buffer', async () => {
    const { port, bodies } = await reading(100_000);
    const pieces = [Buffer.alloc(3_000, 1), Buffer.alloc(10, 2), Buffer.alloc(7_000, 3)];
    await postInPieces(port, pieces, 30);
    const { body, concats } = await (bodies[0] as Promise<{ body: Uint8Array; concats: number }>);
    expect(Buffer.from(body).equals(Buffer.concat(pieces))).toBe(true);
    // One buffer of the body's length, filled piece by piece: nothing joined afterwards.
    expect(concats).toBe(0);
    expect(body.byteOffset).toBe(0);
    expect(body.buffer.byteLength).toBe(10_010);
  });

  it('reads a body larger than one block, in pieces, byte for byte', async () => {
    const { port, bodies } = await reading(1_000_000);
    const pieces = Array.from({ length: 12 }, (_, i) => Buffer.alloc(9_000, i));
    await postInPieces(port, pieces, 5);
    const { body } = await (bodies[0] as Promise<{ body: Uint8Array; concats: number }>);
    expect(Buffer.from(body).equals(Buffer.concat(pieces))).toBe(true);
  });

  it('reads a body that comes in one piece whole, with nothing joined', async () => {
    const { port, bodies } = await reading(100_000);
    await postInPieces(port, [Buffer.alloc(2_000, 9)], 0);
    const { body, concats } = await (bodies[0] as Promise<{ body: Uint8Array; concats: number }>);
    expect(concats).toBe(0);
    expect(body.length).toBe(2_000);
    expect(body.every((byte) => byte === 9)).toBe(true);
  });
});
