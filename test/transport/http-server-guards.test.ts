/**
 * The HTTP server's guards on keep-alive connections and on the refusals node:http makes itself,
 * over raw sockets on 127.0.0.1 with small timeouts:
 *  - after a reply, the next request head must come within keepAliveTimeoutMs + headersTimeoutMs:
 *    blank lines ("\r\n", legal between requests, skipped by the parser) used to restart Node's
 *    keep-alive timer for good, so one CRLF every few seconds held a connection forever;
 *  - a head too large, a request too slow, a malformed request get the same typed JSON error as
 *    our other refusals (they went out as bare status lines), and our client maps bare 431 and 400
 *    to TOO_LARGE and BAD_REQUEST instead of blaming the peer with BAD_REPLY.
 */
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { HttpTransport, splitHostPort, type HttpTransportOptions } from '../../src/transport/http.js';
import { codeOf, ContractService } from './contract.js';
import { httpTransports } from '../support/http-transports.js';
import { rawSocket as connectRaw, until } from '../support/raw-socket.js';

const transports = httpTransports();
const { open } = transports;
const serve = (options: HttpTransportOptions = {}, service = new ContractService()) => transports.serve(service, options);

/** A raw connection (support/raw-socket.ts), destroyed after the test. */
function rawSocket(port: number, text: string) {
  const raw = connectRaw(port, text);
  open.push({ close: () => void raw.socket.destroy() });
  return raw;
}

/** Writes "\r\n" every `everyMs` while the socket is open; stops by itself after `maxMs`. */
function blankLines(socket: net.Socket, everyMs: number, maxMs: number): () => void {
  const started = performance.now();
  const timer = setInterval(() => {
    if (socket.destroyed || performance.now() - started > maxMs) clearInterval(timer);
    else socket.write('\r\n');
  }, everyMs);
  return () => clearInterval(timer);
}

/** The replies in `text`: status, headers (lower-case names) and body, by content-length. */
function replies(text: string): { status: number; headers: Record<string, string>; body: string }[] {
  const found = [];
  let rest = text;
  for (let i = 0; i < 10 && rest.length > 0; i++) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [line = '', ...fields] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const field of fields) {
      const colon = field.indexOf(':');
      headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    found.push({ status: Number(line.split(' ')[1]), headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return found;
}

const STATUS = 'GET /status HTTP/1.1\r\nHost: x\r\n\r\n';
const IDLE = { keepAliveTimeoutMs: 300, headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckIntervalMs: 50 };
const IDLE_MS = IDLE.keepAliveTimeoutMs + IDLE.headersTimeoutMs;

class StatusService extends ContractService {
  status(): unknown {
    return { ok: true };
  }
}

describe('HttpServer: idle keep-alive connections', () => {
  it('closes a keep-alive connection that sends only blank lines after its reply, once keepAliveTimeoutMs + headersTimeoutMs have passed', async () => {
    const { port, server } = await serve({ limits: IDLE }, new StatusService());
    const raw = rawSocket(port, STATUS);
    await until(() => replies(raw.received()).length === 1);
    const repliedAt = performance.now();
    // Every 100 ms, well within the 300 ms keep-alive timeout that any byte restarts.
    const stop = blankLines(raw.socket, 100, 3_000);
    const result = await Promise.race([raw.closed.then(() => performance.now() - repliedAt), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
    stop();
    expect(result).not.toBe('still open');
    expect(result as number).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(replies(raw.received()).map((r) => r.status)).toEqual([200]);
    expect(server.serverStats()!.idleConnections).toBe(1);
    await until(() => server.serverStats()!.connections === 0);
  });

  it('serves a next request that comes in time, between blank lines, and starts the deadline again from its reply', async () => {
    const { port, server } = await serve({ limits: IDLE }, new StatusService());
    const raw = rawSocket(port, STATUS);
    await until(() => replies(raw.received()).length === 1);
    const stop = blankLines(raw.socket, 100, 3_000);
    // Past the keep-alive timeout, within the deadline: served.
    await new Promise((resolve) => setTimeout(resolve, IDLE.keepAliveTimeoutMs + 100));
    raw.socket.write(STATUS);
    await until(() => replies(raw.received()).length === 2);
    const repliedAt = performance.now();
    // Past the first reply's deadline, not the second's: still open.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS - 200));
    expect(raw.socket.destroyed).toBe(false);
    const result = await Promise.race([raw.closed.then(() => performance.now() - repliedAt), new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
    stop();
    expect(result).not.toBe('still open');
    expect(result as number).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(replies(raw.received()).map((r) => r.status)).toEqual([200, 200]);
    expect(server.serverStats()!.idleConnections).toBe(1);
  });

  it('does not count a request being served as idle, however long its handler takes', async () => {
    const { port, server, service } = await serve({ limits: IDLE });
    const raw = rawSocket(port, 'POST /atlas/v1/wait HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    await service.whenInside(1);
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS + 300));
    expect(raw.socket.destroyed).toBe(false);
    service.release();
    await until(() => replies(raw.received()).length === 1);
    expect(replies(raw.received())[0]!.status).toBe(200);
    expect(server.serverStats()!.idleConnections).toBe(0);
    raw.socket.destroy();
  });
});

describe('HttpServer: refusals made by node:http', () => {
  const cases: [string, string, number, string][] = [
    ['a head over maxHeaderBytes', `GET /status HTTP/1.1\r\nHost: x\r\nX-Padding: ${'p'.repeat(8_000)}\r\n\r\n`, 431, ErrorCodes.TOO_LARGE],
    ['a body never sent (requestTimeoutMs)', 'POST /atlas/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n', 408, ErrorCodes.TIMEOUT],
    ['content-length and chunked together', 'POST /atlas/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, ErrorCodes.BAD_REQUEST],
  ];
  it.each(cases)('answers %s with a typed JSON error and closes the connection', async (_label, text, status, code) => {
    const { port, address } = await serve({ limits: { maxHeaderBytes: 4_096, headersTimeoutMs: 200, requestTimeoutMs: 300, timeoutCheckIntervalMs: 50 } });
    const raw = rawSocket(port, text);
    const result = await Promise.race([raw.closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
    expect(result).not.toBe('still open');
    const [reply] = replies(result);
    expect(reply?.status).toBe(status);
    expect(reply?.headers['content-type']).toMatch(/^application\/json/);
    expect(reply?.headers.connection).toBe('close');
    expect(JSON.parse(reply!.body)).toMatchObject({ error: { code } });
    const client = new HttpTransport();
    open.push(client);
    expect(await client.call(address, 'echo', 1)).toBe(1);
  });

  // A reply to HEAD has no body, and these requests never said they were not HEAD: the status alone,
  // which our client reads as the same codes (below).
  const methodUnknown: [string, string, number][] = [
    ['a head never finished (headersTimeoutMs)', 'GET /status HTTP/1.1\r\nHost: x\r\nX-', 408],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
    ['a HEAD with a malformed header', 'HEAD / HTTP/1.1\r\nHost: x\r\nX-Bad: \x07\r\n\r\n', 400],
  ];
  it.each(methodUnknown)('answers %s with its status and no body, and closes the connection', async (_label, text, status) => {
    const { port } = await serve({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 300, timeoutCheckIntervalMs: 50 } });
    const raw = rawSocket(port, text);
    const result = await Promise.race([raw.closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 3_000))]);
    expect(result).not.toBe('still open');
    const [reply, extra] = replies(result);
    expect(reply?.status).toBe(status);
    expect(reply?.headers.connection).toBe('close');
    expect(reply?.headers['content-length']).toBe('0');
    expect(extra).toBeUndefined();
  });

  it('the client reads a bare 431 as TOO_LARGE and a bare 400 as BAD_REQUEST, not as the peer misbehaving', async () => {
    const client = new HttpTransport();
    open.push(client);
    for (const [status, code] of [
      [431, ErrorCodes.TOO_LARGE],
      [400, ErrorCodes.BAD_REQUEST],
    ] as const) {
      const stub = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(status);
          res.end();
        });
      });
      await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
      open.push({ close: () => new Promise<void>((resolve) => { stub.closeAllConnections(); stub.close(() => resolve()); }) });
      expect(await codeOf(client.call(`127.0.0.1:${(stub.address() as net.AddressInfo).port}`, 'echo', {}))).toBe(code);
    }
  });
});
