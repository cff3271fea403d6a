/**
 * readBodyParts: a body is kept as the pieces it came in, without joining them, and however a
 * sender splits it the pieces stay few and in memory nothing else holds.
 */
import http, { type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { joinedBody, readBodyParts, SMALL_PIECE_BYTES } from '../../src/http-body.js';
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
  it('copies a body sent in 60,000 one-byte chunks into a few blocks, and keeps its bytes in order', async () => {
    const port = await serving(chunked(60_000, 1, 200));
    const body = await readBodyParts(await get(port), 1_000_000);
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
    await expect(readBodyParts(await get(port), 4_000)).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});
