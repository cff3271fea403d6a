/**
 * HttpTransport's bounds on what a body costs to read and decode, server and client side, over
 * 127.0.0.1:
 *  - `maxValues`: a body within its byte bound made of empty maps or byte strings (a value a byte
 *    or two) cost hundreds of times the CPU of any valid message; it is refused by a count made
 *    before anything is built (413 TOO_LARGE to a caller, BAD_REPLY from a peer);
 *  - `minBodyPieceBytes`: a body sent in 1-byte chunks cost seconds of CPU a MiB in node:http's
 *    per-piece path; past its first 64 pieces it must average the bound (400 BAD_REQUEST to a
 *    caller, BAD_REPLY from a peer).
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { encodeBinary, MSGPACK_CONTENT_TYPE } from '../../src/transport/codec.js';
import type { HttpTransportOptions } from '../../src/transport/http.js';
import { codeOf, ContractService } from './contract.js';
import { httpTransports } from '../support/http-transports.js';

const transports = httpTransports();
const { open, client } = transports;
const serve = (options: HttpTransportOptions = {}) => transports.serve(new ContractService(), options);

/** A stub peer answering every call with `write`. */
async function stubPeer(write: (res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => write(res));
  });
  open.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** POSTs `body` to `method` in pieces of `pieceBytes` (each its own chunk of the chunked encoding); the status and the JSON error code. */
function post(port: number, method: string, body: Uint8Array, pieceBytes = body.length): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/atlas/v1/${method}`, agent: false, headers: { 'content-type': MSGPACK_CONTENT_TYPE, accept: 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (data: Buffer) => (text += data.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text || '{}') as { error?: { code?: string } }).error?.code }));
      res.on('error', reject);
    });
    req.on('error', () => {}); // the server may close once it has refused
    let at = 0;
    const next = (): void => {
      for (let i = 0; i < 100 && at < body.length; i++, at += pieceBytes) req.write(body.subarray(at, at + pieceBytes));
      if (at < body.length && !req.destroyed) setImmediate(next);
      else req.end();
    };
    next();
  });
}

const emptyMaps = (count: number) => encodeBinary({ x: Array.from({ length: count }, () => ({})) });

describe('HttpTransport: values counted before decoding (maxValues)', () => {
  it('refuses a request of 100,000 empty maps (300 KB, within maxRequestBytes) with 413 TOO_LARGE, and takes it under a larger bound', async () => {
    const { port } = await serve();
    expect(await post(port, 'echo', emptyMaps(100_000))).toEqual({ status: 413, code: ErrorCodes.TOO_LARGE });
    expect(await post(port, 'echo', emptyMaps(1_000))).toMatchObject({ status: 200 });
    const { port: roomy } = await serve({ limits: { maxValues: 200_000 } });
    expect(await post(roomy, 'echo', emptyMaps(100_000))).toMatchObject({ status: 200 });
  });

  it('ends a call with BAD_REPLY when a peer answers with more values than the bound, in the byte-list shape or any other', async () => {
    for (const reply of [encodeBinary({ inOrder: Array.from({ length: 100_000 }, () => new Uint8Array(0)) }), emptyMaps(100_000)]) {
      const peer = await stubPeer((res) => {
        res.writeHead(200, { 'content-type': MSGPACK_CONTENT_TYPE });
        res.end(reply);
      });
      expect(await codeOf(client().call(peer, 'getChunks', { addresses: ['00'.repeat(20)] }))).toBe(ErrorCodes.BAD_REPLY);
    }
  });
});

describe('HttpTransport: bodies in tiny pieces (minBodyPieceBytes)', () => {
  it('refuses a request body of 1-byte chunks with 400 BAD_REQUEST, and reads one of 256-byte chunks', async () => {
    const { port } = await serve();
    const body = encodeBinary({ data: new Uint8Array(20_000) });
    expect(await post(port, 'echo', body, 1)).toEqual({ status: 400, code: ErrorCodes.BAD_REQUEST });
    // Above the bound with room: a chunk split across two reads arrives as two pieces.
    expect(await post(port, 'echo', body, 256)).toMatchObject({ status: 200 });
    const { port: lenient } = await serve({ limits: { minBodyPieceBytes: 0 } });
    expect(await post(lenient, 'echo', body, 1)).toMatchObject({ status: 200 });
  });

  it('ends a call with BAD_REPLY when a peer sends its reply in 1-byte chunks', async () => {
    const reply = encodeBinary({ data: new Uint8Array(20_000) });
    const peer = await stubPeer((res) => {
      res.writeHead(200, { 'content-type': MSGPACK_CONTENT_TYPE });
      let at = 0;
      const next = (): void => {
        for (let i = 0; i < 200 && at < reply.length; i++, at++) res.write(reply.subarray(at, at + 1));
        if (at < reply.length && !res.destroyed) setImmediate(next);
        else res.end();
      };
      next();
    });
    expect(await codeOf(client().call(peer, 'echo', {}))).toBe(ErrorCodes.BAD_REPLY);
  });
});
