import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { systemClock, type Clock, type TimerHandle } from '../../src/runtime.js';
import { binaryCodec, decodeBinary, encodeBinary, encodeJsonText } from '../../src/transport/codec.js';
import { HttpTransport, splitHostPort, type HttpRoute, type HttpTransportOptions } from '../../src/transport/http.js';
import { SHARED_PIECE_BYTES } from '../../src/transport/reply-pieces.js';
import { codeOf, ContractService, SHAPES } from './contract.js';
import { rawSocket, until } from '../support/raw-socket.js';

const ADDRESS = '0123456789abcdef0123456789abcdef01234567';
const CHUNK = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);

/** A fake node: the contract's service, plus one chunk, a status and metrics. */
class FakeService extends ContractService {
  withMetrics = true;

  getChunk(address: string): Uint8Array | undefined {
    return address === ADDRESS ? CHUNK : undefined;
  }

  status(): unknown {
    return { network: 'test', chunks: 1 };
  }

  get metrics(): (() => Promise<string>) | undefined {
    return this.withMetrics ? async () => 'atlas_chunks 1\n' : undefined;
  }

  /** Resolves at the next abort seen by a handler. */
  nextAbort(): Promise<void> {
    const seen = this.aborted.length;
    return new Promise((resolve) => {
      const poll = () => (this.aborted.length > seen ? resolve() : setTimeout(poll, 5));
      poll();
    });
  }
}

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

async function serve(options: HttpTransportOptions = {}, service = new FakeService()) {
  const server = new HttpTransport({ listen: '127.0.0.1:0', ...options });
  open.push(server);
  const address = await server.listen(service);
  const { port } = splitHostPort(address);
  return { server, service, address, port };
}

function client(options: HttpTransportOptions = {}): HttpTransport {
  const transport = new HttpTransport(options);
  open.push(transport);
  return transport;
}

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One plain HTTP request on its own connection. */
function raw(port: number, method: string, path: string, headers: Record<string, string | number> = {}, body?: Uint8Array | string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', (error) => reject(error));
    req.end(body);
  });
}

/** A port nothing listens on: bind one, then release it. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A raw HTTP server that answers every request with the given reply. */
async function stubServer(reply: (res: http.ServerResponse) => void): Promise<{ address: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => reply(res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  open.push({ close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) });
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, server };
}

/** The error of connecting to `port` on 127.0.0.1, or undefined when something accepts. */
function connectError(port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error) => resolve(error));
  });
}

describe('HttpTransport: calls', () => {
  // The default (msgpack) format runs the transport contract (contract.ts); JSON runs here.
  it('round-trips every shape (json)', async () => {
    const { address } = await serve();
    const peer = client({ format: 'json' });
    for (const [name, value] of Object.entries(SHAPES)) {
      const result = await peer.call(address, 'echo', value);
      expect(result, name).toStrictEqual(value);
    }
  });

  it('reads the pause of a bare 503 (no error body) from Retry-After seconds', async () => {
    const { address } = await stubServer((res) => {
      res.writeHead(503, { 'retry-after': '7', 'content-type': 'text/plain' });
      res.end('overloaded');
    });
    await expect(client().call(address, 'echo', {})).rejects.toMatchObject({ code: ErrorCodes.BUSY, details: { retryAfterMs: 7_000 } });
    const { address: dated } = await stubServer((res) => {
      res.writeHead(503, { 'retry-after': 'Fri, 04 Dec 2026 23:00:00 GMT', 'content-type': 'text/plain' });
      res.end('overloaded');
    });
    const error = await client().call(dated, 'echo', {}).catch((e: unknown) => e as AtlasError);
    expect((error as AtlasError).code).toBe(ErrorCodes.BUSY);
    expect((error as AtlasError).details).toBeUndefined(); // the date form names no pause we read
  });

  it('refuses the removed legacy option with INVALID_OPTION naming it', () => {
    expect(() => new HttpTransport({ legacy: true } as HttpTransportOptions)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, option: 'legacy' }));
    const route = { method: 'POST' as const, match: () => true, handle: async () => {} };
    for (const maxBodyBytes of [-1, 1.5, Number.NaN]) {
      expect(() => new HttpTransport({ routes: [route, { ...route, maxBodyBytes }] })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, option: 'routes[1].maxBodyBytes' }));
    }
  });

  it('listens on a real port and advertises it', async () => {
    const { address, port } = await serve();
    expect(address).toBe(`127.0.0.1:${port}`);
    expect(port).toBeGreaterThan(0);
    const advertised = new HttpTransport({ listen: '127.0.0.1:0', advertise: 'atlas.example.org:6264' });
    open.push(advertised);
    expect(await advertised.listen(new FakeService())).toBe('atlas.example.org:6264');
    expect(advertised.address).toBe('atlas.example.org:6264');
  });

  it('says ADDRESS_REFUSED, not INTERNAL, for an address that is not this machine\'s (a bind that fails locally: nothing is sent)', async (context) => {
    const nonlocalBind = '/proc/sys/net/ipv4/ip_nonlocal_bind';
    if (existsSync(nonlocalBind) && readFileSync(nonlocalBind, 'utf8').trim() !== '0') context.skip(); // such a machine binds it
    const transport = new HttpTransport({ listen: '192.0.2.1:0' }); // TEST-NET-1, documentation only
    await expect(transport.listen(new FakeService())).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_REFUSED, details: { errno: 'EADDRNOTAVAIL' }, message: expect.stringContaining("not one of this machine's") });
    await transport.close();
  });

  it('gives up a listen its signal aborts while it binds: nothing is left listening, and the transport listens again on the same port', async () => {
    const port = await freePort();
    const transport = new HttpTransport({ listen: `127.0.0.1:${port}` });
    open.push(transport);
    const controller = new AbortController();
    const listening = transport.listen(new FakeService(), { signal: controller.signal });
    controller.abort();
    await expect(listening).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    expect(transport.address).toBeUndefined();
    await expect(connectError(port)).resolves.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(transport.listen(new FakeService())).resolves.toBe(`127.0.0.1:${port}`);
  });

  it('says ADDRESS_IN_USE for a taken port (errno in details), and a transport on a free port still listens', async () => {
    const { port } = await serve();
    const second = new HttpTransport({ listen: `127.0.0.1:${port}` });
    open.push(second);
    await expect(second.listen(new FakeService())).rejects.toMatchObject({ code: ErrorCodes.ADDRESS_IN_USE, details: { errno: 'EADDRINUSE' } });
    const elsewhere = new HttpTransport({ listen: '127.0.0.1:0' });
    open.push(elsewhere);
    await expect(elsewhere.listen(new FakeService())).resolves.toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('calls from its own listen IP, so a peer sees the host its from names', async () => {
    const { address, service } = await serve();
    const onSecondLoopback = client({ listen: '127.0.0.2:0' });
    await onSecondLoopback.call(address, 'echo', {});
    expect(splitHostPort(service.calls.at(-1)!.remote).host).toBe('127.0.0.2');
    const onWildcard = client({ listen: '0.0.0.0:0' });
    await onWildcard.call(address, 'echo', {});
    expect(splitHostPort(service.calls.at(-1)!.remote).host).toBe('127.0.0.1');
  });

  it('decodes JSON error bodies on a JSON client too', async () => {
    const { address } = await serve();
    const peer = client({ format: 'json' });
    expect(await codeOf(peer.call(address, 'refuse', {}))).toBe(ErrorCodes.NOT_ANNOUNCED);
    expect(await peer.call(address, 'echo', { x: new Uint8Array(0) })).toStrictEqual({ x: new Uint8Array(0) });
  });

  it('a long call is not cut by the client\'s idle-socket timeout', async () => {
    const { address, service } = await serve();
    const peer = client({ limits: { clientIdleTimeoutMs: 50 } });
    const call = peer.call(address, 'wait', {});
    await service.whenInside(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    service.release();
    expect(await call).toEqual({ released: true });
  });

  it('retries once when a reused keep-alive socket turns out to be closed', async () => {
    let requests = 0;
    const perSocket = new WeakMap<object, number>();
    const { address } = await stubServer((res) => {
      requests++;
      const socket = res.socket!;
      const count = (perSocket.get(socket) ?? 0) + 1;
      perSocket.set(socket, count);
      // the second request on a connection finds it closed, as after a server's keep-alive timeout
      if (count === 2) {
        socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.end(encodeBinary(count));
    });
    const peer = client({ limits: { maxSocketsPerPeer: 1 } });
    expect(await peer.call(address, 'echo', {})).toBe(1);
    expect(await peer.call(address, 'echo', {})).toBe(1);
    expect(requests).toBe(3);
  });

  it('counts calls and body bytes on both sides', async () => {
    const { address, server } = await serve();
    const peer = client();
    const params = { data: new Uint8Array(1000) };
    await peer.call(address, 'echo', params);
    const size = encodeBinary(params).byteLength;
    expect(peer.stats()).toEqual({ callsOut: 1, callsIn: 0, bytesOut: size, bytesIn: size });
    expect(server.stats()).toEqual({ callsOut: 0, callsIn: 1, bytesOut: size, bytesIn: size });
  });
});

describe('HttpTransport: replies as pieces', () => {
  it('sends a reply holding large byte strings as one body, byte for byte, with their length and counted once', async () => {
    const { address, port, server } = await serve();
    const large = (size: number, fill: number) => new Uint8Array(size).fill(fill);
    const params = {
      chunks: [
        { address: ADDRESS, data: large(SHARED_PIECE_BYTES, 1) },
        { address: ADDRESS, data: large(10, 2) },
        { address: ADDRESS, data: large(200_000, 3) },
      ],
      missing: [ADDRESS],
    };
    expect(binaryCodec.encodePieces(params).length).toBeGreaterThan(1);
    // The large chunks are written as they are, not joined into a new body first.
    const written: unknown[] = [];
    const original = http.ServerResponse.prototype.write;
    const write = vi.spyOn(http.ServerResponse.prototype, 'write').mockImplementation(function (this: http.ServerResponse, ...args: unknown[]) {
      written.push(args[0]);
      return (original as (...a: unknown[]) => boolean).apply(this, args);
    });
    let reply: unknown;
    try {
      reply = await client().call(address, 'echo', params);
    } finally {
      write.mockRestore();
    }
    expect(reply).toStrictEqual(params);
    expect(written.some((piece) => piece instanceof Uint8Array && piece.length === 200_000)).toBe(true);
    const size = encodeBinary(params).byteLength;
    expect(server.stats().bytesOut).toBe(size);
    // Over plain HTTP: the declared length is the body's.
    const plain = await raw(port, 'POST', '/atlas/v1/echo', { 'content-type': 'application/msgpack' }, encodeBinary(params));
    expect(plain.status).toBe(200);
    expect(Number(plain.headers['content-length'])).toBe(size);
    expect(plain.body.equals(Buffer.from(encodeBinary(params)))).toBe(true);
  });
});

describe('HttpTransport: the HTTP API', () => {
  it('speaks JSON for curl, with bytes as {"$bytes": base64}, and msgpack when asked', async () => {
    const { port } = await serve();
    const body = encodeJsonText({ data: new Uint8Array([1, 2, 3]) });
    const json = await raw(port, 'POST', '/atlas/v1/echo', { 'content-type': 'application/json' }, body);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toBe('application/json');
    expect(json.body.toString()).toBe('{"data":{"$bytes":"AQID"}}');
    const asked = await raw(port, 'POST', '/atlas/v1/echo', { 'content-type': 'application/json', accept: 'application/msgpack' }, body);
    expect(asked.headers['content-type']).toBe('application/msgpack');
    expect(decodeBinary(asked.body)).toStrictEqual({ data: new Uint8Array([1, 2, 3]) });
    const empty = await raw(port, 'POST', '/atlas/v1/echo');
    expect(empty.status).toBe(200);
    expect(empty.body.toString()).toBe('null');
  });

  it('maps error codes to HTTP statuses', async () => {
    const { port } = await serve();
    const post = (method: string, body = '{}') => raw(port, 'POST', `/atlas/v1/${method}`, { 'content-type': 'application/json' }, body);
    const refused = await post('refuse');
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.body.toString())).toEqual({ error: { code: 'NOT_ANNOUNCED', message: 'chunk is not announced' } });
    expect((await post('nope')).status).toBe(404);
    const busy = await post('busy');
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    const busyFor = await post('busy-for', '{"ms":2500}');
    expect(busyFor.headers['retry-after']).toBe('3'); // the pause it names, in whole seconds
    expect(JSON.parse(busyFor.body.toString()).error.retryAfterMs).toBe(2500);
    const crash = await post('crash');
    expect(crash.status).toBe(500);
    expect(crash.body.toString()).not.toContain('secret');
    const malformed = await post('echo', '{"a":');
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.body.toString()).error.code).toBe('BAD_REQUEST');
  });

  it('serves chunks: exact bytes, immutable caching, 304, 404 and 400', async () => {
    const { port } = await serve();
    const ok = await raw(port, 'GET', `/chunks/${ADDRESS.toUpperCase()}`);
    expect(ok.status).toBe(200);
    expect([...ok.body]).toEqual([...CHUNK]);
    expect(ok.headers['content-type']).toBe('application/octet-stream');
    expect(ok.headers['content-length']).toBe(String(CHUNK.length));
    expect(ok.headers.etag).toBe(`"${ADDRESS}"`);
    expect(ok.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const cached = await raw(port, 'GET', `/chunks/${ADDRESS}`, { 'if-none-match': `W/"other", "${ADDRESS}"` });
    expect(cached.status).toBe(304);
    expect(cached.body.length).toBe(0);
    expect(cached.headers.etag).toBe(`"${ADDRESS}"`);
    const stale = await raw(port, 'GET', `/chunks/${ADDRESS}`, { 'if-none-match': '"other"' });
    expect(stale.status).toBe(200);
    const head = await raw(port, 'HEAD', `/chunks/${ADDRESS}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(CHUNK.length));
    expect(head.body.length).toBe(0);
    expect((await raw(port, 'GET', `/chunks/${'f'.repeat(40)}`)).status).toBe(404);
    const bad = await raw(port, 'GET', '/chunks/not-an-address');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).error.code).toBe('BAD_ADDRESS');
  });

  it('serves /status and /metrics, 404 without metrics', async () => {
    const { port, service } = await serve();
    const status = await raw(port, 'GET', '/status');
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body.toString())).toEqual({ network: 'test', chunks: 1 });
    const metrics = await raw(port, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body.toString()).toBe('atlas_chunks 1\n');
    service.withMetrics = false;
    expect((await raw(port, 'GET', '/metrics')).status).toBe(404);
  });

  it('answers 404 for unknown routes, 405 with Allow for wrong methods, 415 for other content types', async () => {
    const { port } = await serve();
    expect((await raw(port, 'GET', '/nowhere')).status).toBe(404);
    expect((await raw(port, 'POST', '/atlas/v1/not%20a%20method', { 'content-type': 'application/json' }, '{}')).status).toBe(404);
    const wrong = await raw(port, 'GET', '/atlas/v1/echo');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    const wrongChunk = await raw(port, 'POST', `/chunks/${ADDRESS}`, { 'content-type': 'application/json' }, '{}');
    expect(wrongChunk.status).toBe(405);
    expect(wrongChunk.headers.allow).toBe('GET, HEAD');
    const form = await raw(port, 'POST', '/atlas/v1/echo', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1');
    expect(form.status).toBe(415);
  });

  it('serves extra routes, matched first, with parameters and error mapping', async () => {
    const route: HttpRoute = {
      method: 'GET',
      match: (pathname) => {
        const m = /^\/v1\/zonefiles\/([^/]+)$/.exec(pathname);
        return m ? { address: m[1] as string } : undefined;
      },
      async handle(_req, res, context) {
        const data = context.service.getChunk?.(context.params.address as string);
        if (data === undefined) throw new AtlasError(ErrorCodes.BAD_ADDRESS, 'unknown zone file');
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(data);
      },
    };
    const { port } = await serve({ routes: [route] });
    const ok = await raw(port, 'GET', `/v1/zonefiles/${ADDRESS}`);
    expect(ok.status).toBe(200);
    expect([...ok.body]).toEqual([...CHUNK]);
    const missing = await raw(port, 'GET', '/v1/zonefiles/zz');
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body.toString()).error.code).toBe('BAD_ADDRESS');
    expect((await raw(port, 'POST', '/v1/zonefiles/zz', { 'content-type': 'application/json' }, '{}')).status).toBe(405);
  });
});

describe('HttpTransport: limits', () => {
  it('does not drain a body the reply left unread: the connection ends with the reply', async () => {
    const { port, server } = await serve({ limits: { maxRequestBytes: 1_024 } });
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    let reply = '';
    socket.on('data', (part: Buffer) => (reply += part.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // A GET route answers without reading; the head promises 100 MB of body.
    socket.write(`GET /chunks/${ADDRESS} HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\n`);
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024);
    const pump = setInterval(() => {
      if (socket.destroyed) return;
      socket.write(chunk);
      sent += chunk.byteLength;
    }, 5);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    clearInterval(pump);
    expect(reply.startsWith('HTTP/1.1 200')).toBe(true);
    expect(socket.destroyed || socket.readableEnded).toBe(true);
    expect(server.serverStats()!.inFlight).toBe(0);
    // Far less than the 3 s of pumping that draining would have taken.
    expect(sent).toBeLessThan(8 * 1024 * 1024);
    socket.destroy();
  });

  it('cuts a reply under way when its handler passes the deadline, freeing its slot', async () => {
    const hanging: HttpRoute = {
      method: 'GET',
      match: (pathname) => (pathname === '/stream' ? {} : undefined),
      async handle(_req, res, context) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part');
        await new Promise((resolve) => context.signal.addEventListener('abort', resolve));
      },
    };
    const { port, server } = await serve({ routes: [hanging], limits: { handlerTimeoutMs: 300 } });
    const result = await Promise.race([
      raw(port, 'GET', '/stream').then(
        () => 'complete',
        () => 'cut',
      ),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 3_000)),
    ]);
    expect(result).toBe('cut');
    for (let i = 0; i < 100 && server.serverStats()!.inFlight > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(server.serverStats()!.inFlight).toBe(0);
  });

  it('answers 413 to a body over the limit, declared or chunked, and stays healthy', async () => {
    const { port, address } = await serve({ limits: { maxRequestBytes: 64 * 1024 } });
    const declared = await raw(port, 'POST', '/atlas/v1/echo', { 'content-type': 'application/msgpack' }, encodeBinary({ data: new Uint8Array(200_000) }));
    expect(declared.status).toBe(413);
    expect(declared.headers.connection).toBe('close');
    expect(decodeBinary(declared.body)).toMatchObject({ error: { code: 'TOO_LARGE' } });
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/atlas/v1/echo', agent: false, headers: { 'content-type': 'application/msgpack' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(new Uint8Array(10_000));
      req.end();
    });
    expect(chunked).toBe(413);
    expect(await client().call(address, 'echo', { ok: true })).toEqual({ ok: true });
  });

  it('the client refuses to send a request over its own limit', async () => {
    const { address, service } = await serve();
    const peer = client({ limits: { maxRequestBytes: 1000 } });
    expect(await codeOf(peer.call(address, 'echo', { data: new Uint8Array(2000) }))).toBe(ErrorCodes.TOO_LARGE);
    expect(service.calls).toHaveLength(0);
  });

  it('closes connections beyond maxConnections', async () => {
    const { address, port } = await serve({ limits: { maxConnections: 1 } });
    const holder = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => holder.once('connect', resolve));
    const peer = client();
    expect(await codeOf(peer.call(address, 'echo', 1))).toBe(ErrorCodes.UNREACHABLE);
    holder.destroy();
    let result: unknown;
    for (let attempt = 0; attempt < 100 && result === undefined; attempt++) {
      result = await peer.call(address, 'echo', 1).catch(() => new Promise((resolve) => setTimeout(() => resolve(undefined), 10)));
    }
    expect(result).toBe(1);
  });

  it('answers 431 to headers over the limit', async () => {
    const { port, address } = await serve({ limits: { maxHeaderBytes: 4096 } });
    const reply = await raw(port, 'GET', '/status', { 'x-padding': 'p'.repeat(8000) });
    expect(reply.status).toBe(431);
    expect(await client().call(address, 'echo', 1)).toBe(1);
  });

  it('cuts off a slow sender of headers or body with 408', async () => {
    const { port } = await serve({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 300, timeoutCheckIntervalMs: 50 } });
    const slow = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
        let received = '';
        socket.on('data', (data) => (received += data.toString()));
        socket.on('close', () => resolve(received));
        socket.on('error', reject);
      });
    const headers = await slow('POST /atlas/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: appl');
    expect(headers).toMatch(/^HTTP\/1\.1 408/);
    const body = await slow('POST /atlas/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    expect(body).toMatch(/^HTTP\/1\.1 408/);
  });

  it('replies 503 BUSY at once beyond maxInFlight, then recovers', async () => {
    const { address, port, service } = await serve({ limits: { maxInFlight: 2 } });
    const peer = client();
    const waiting = [peer.call(address, 'wait', {}), peer.call(address, 'wait', {})];
    await service.whenInside(2);
    expect(await codeOf(peer.call(address, 'echo', {}))).toBe(ErrorCodes.BUSY);
    const rawBusy = await raw(port, 'GET', '/status');
    expect(rawBusy.status).toBe(503);
    expect(rawBusy.headers['retry-after']).toBe('1');
    service.release();
    expect(await Promise.all(waiting)).toEqual([{ released: true }, { released: true }]);
    expect(await peer.call(address, 'echo', 5)).toBe(5);
  });

  it('answers 504 TIMEOUT when a handler overruns, and aborts it', async () => {
    const { address, service } = await serve({ limits: { handlerTimeoutMs: 100 } });
    const aborted = service.nextAbort();
    expect(await codeOf(client().call(address, 'wait', {}))).toBe(ErrorCodes.TIMEOUT);
    await aborted;
  });

  it('fails a reply over maxReplyBytes with BAD_REPLY', async () => {
    const { address } = await serve();
    const peer = client({ limits: { maxReplyBytes: 10_000 } });
    expect(await codeOf(peer.call(address, 'big', { size: 50_000 }))).toBe(ErrorCodes.BAD_REPLY);
    expect(await peer.call(address, 'big', { size: 5_000 })).toMatchObject({ data: expect.any(Uint8Array) });
  });
});

const HALF_POST = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`;

describe('HttpTransport: accounting per host', () => {
  it('a 504 closes the connection and frees the slot at once, though the body never ends; the body read stops on the signal', async () => {
    const bodyErrors: unknown[] = [];
    const upload: HttpRoute = {
      method: 'POST',
      match: (path) => path === '/upload',
      async handle(_req, _res, context) {
        await context.readBody().catch((error: unknown) => {
          bodyErrors.push(error);
          throw error;
        });
      },
    };
    const { server, address, port } = await serve({ routes: [upload], limits: { handlerTimeoutMs: 200, maxInFlight: 1, minBodyBytesPerSecond: 1, bodyGraceMs: 60_000, timeoutCheckIntervalMs: 50 } });
    const attacker = rawSocket(port, HALF_POST('/upload'));
    expect(await attacker.closed).toMatch(/^HTTP\/1\.1 504[\s\S]*connection: close/i);
    expect(bodyErrors).toHaveLength(1);
    expect((bodyErrors[0] as AtlasError).code).toBe(ErrorCodes.TIMEOUT);
    expect(server.serverStats()!.inFlight).toBe(0);
    expect(await client().call(address, 'echo', 1)).toBe(1);
  });

  it('frees the in-flight slot when the client goes away in the middle of its body', async () => {
    const { server, address, port } = await serve({ limits: { maxInFlight: 1 } });
    const attacker = rawSocket(port, HALF_POST('/atlas/v1/echo'));
    await until(() => server.serverStats()!.inFlight === 1);
    expect(await codeOf(client().call(address, 'echo', 1))).toBe(ErrorCodes.BUSY);
    attacker.socket.destroy();
    await until(() => server.serverStats()!.inFlight === 0);
    expect(await client().call(address, 'echo', 2)).toBe(2);
  });

  it('takes the in-flight slot before reading the body: a host over maxInFlightPerHost gets 503 and close at once', async () => {
    const { server, port } = await serve({ limits: { maxInFlightPerHost: 1, perHostLimitsOnLoopback: true } });
    const first = rawSocket(port, HALF_POST('/atlas/v1/echo'));
    await until(() => server.serverStats()!.inFlight === 1);
    const second = rawSocket(port, HALF_POST('/atlas/v1/echo'));
    expect(await second.closed).toMatch(/^HTTP\/1\.1 503[\s\S]*connection: close/i);
    // Another host is not affected.
    const other = rawSocket(port, 'GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.2');
    expect(await other.closed).toMatch(/^HTTP\/1\.1 200/);
    first.socket.destroy();
  });

  it('closes a body slower than minBodyBytesPerSecond once bodyGraceMs have passed', async () => {
    const { server, port } = await serve({ limits: { minBodyBytesPerSecond: 1_000, bodyGraceMs: 200, timeoutCheckIntervalMs: 50 } });
    const started = performance.now();
    const slow = rawSocket(port, HALF_POST('/atlas/v1/echo'));
    await slow.closed;
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(server.serverStats()!.slowBodies).toBe(1);
    await until(() => server.serverStats()!.inFlight === 0);
  });

  it('closes connections beyond maxConnectionsPerHost at accept, and only for that host', async () => {
    const { server, port } = await serve({ limits: { maxConnectionsPerHost: 2, perHostLimitsOnLoopback: true } });
    const held = [rawSocket(port, ''), rawSocket(port, '')];
    await until(() => server.serverStats()!.connections === 2);
    const third = rawSocket(port, 'GET /status HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await third.closed).toBe('');
    expect(server.serverStats()!.refusedConnections).toBe(1);
    const other = rawSocket(port, 'GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', '127.0.0.2');
    expect(await other.closed).toMatch(/^HTTP\/1\.1 200/);
    for (const socket of held) socket.socket.destroy();
  });

  it('by default leaves loopback callers (this machine) to the totals only', async () => {
    const { server, port } = await serve({ limits: { maxConnectionsPerHost: 1, maxInFlightPerHost: 1 } });
    const held = [rawSocket(port, HALF_POST('/atlas/v1/echo')), rawSocket(port, HALF_POST('/atlas/v1/echo'))];
    await until(() => server.serverStats()!.inFlight === 2);
    expect(server.serverStats()!.refusedConnections).toBe(0);
    for (const socket of held) socket.socket.destroy();
  });

  it('serves pipelined requests one at a time, in order, and closes a connection that queues too many', async () => {
    const { port, service } = await serve({ limits: { maxPipelinedPerConnection: 2 } });
    const echo = (n: number) => `POST /atlas/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1\r\n\r\n${n}`;
    const ordered = rawSocket(port, echo(1) + echo(2) + `${echo(3).replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n')}`);
    const text = await ordered.closed;
    expect([...text.matchAll(/\r\n\r\n(\d)/g)].map((m) => m[1])).toEqual(['1', '2', '3']);
    const wait = 'POST /atlas/v1/wait HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}';
    const flood = rawSocket(port, wait + echo(1) + echo(2) + echo(3));
    await flood.closed;
    service.release();
  });

  it('answers BUSY to a host past its outbound byte budget, and only to that host', async () => {
    const { port } = await serve({ limits: { replyBurstBytesPerHost: 100_000, replyBytesPerSecondPerHost: 1, perHostLimitsOnLoopback: true } });
    const big = (localAddress: string) =>
      rawSocket(port, `POST /atlas/v1/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 14\r\n\r\n{"size":60000}`, localAddress).closed;
    expect(await big('127.0.0.1')).toMatch(/^HTTP\/1\.1 200/);
    expect(await big('127.0.0.1')).toMatch(/^HTTP\/1\.1 200/); // the budget goes into debt
    expect(await big('127.0.0.1')).toMatch(/^HTTP\/1\.1 503[\s\S]*byte budget/);
    expect(await big('127.0.0.2')).toMatch(/^HTTP\/1\.1 200/);
  });

  it('keeps every debt when its table of budgets is full: a new host gets BUSY instead of erasing one', async () => {
    const { port } = await serve({ limits: { replyBurstBytesPerHost: 50_000, replyBytesPerSecondPerHost: 1, maxBudgetHosts: 2, perHostLimitsOnLoopback: true } });
    const big = (localAddress: string) =>
      rawSocket(port, `POST /atlas/v1/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 14\r\n\r\n{"size":60000}`, localAddress).closed;
    expect(await big('127.0.0.1')).toMatch(/^HTTP\/1\.1 200/); // in debt
    expect(await big('127.0.0.2')).toMatch(/^HTTP\/1\.1 200/); // in debt: the table is full of debts
    for (const newcomer of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) expect(await big(newcomer)).toMatch(/^HTTP\/1\.1 503[\s\S]*byte budget/);
    // The newcomers did not push the first debtor out: it still owes.
    expect(await big('127.0.0.1')).toMatch(/^HTTP\/1\.1 503[\s\S]*byte budget/);
  });
});

describe('HttpTransport: client failures', () => {
  it('reports UNREACHABLE for a closed port and ADDRESS_REFUSED for a malformed peer', async () => {
    const peer = client();
    expect(await codeOf(peer.call(`127.0.0.1:${await freePort()}`, 'echo', {}))).toBe(ErrorCodes.UNREACHABLE);
    expect(await codeOf(peer.call('no-port-here', 'echo', {}))).toBe(ErrorCodes.ADDRESS_REFUSED);
    expect(await codeOf(peer.call('127.0.0.1:99999', 'echo', {}))).toBe(ErrorCodes.ADDRESS_REFUSED);
  });

  it('turns garbage replies into BAD_REPLY and bodiless statuses into their codes', async () => {
    const peer = client();
    const garbage = await stubServer((res) => {
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.end(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]));
    });
    expect(await codeOf(peer.call(garbage.address, 'echo', {}))).toBe(ErrorCodes.BAD_REPLY);
    const html = await stubServer((res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html></html>');
    });
    expect(await codeOf(peer.call(html.address, 'echo', {}))).toBe(ErrorCodes.BAD_REPLY);
    const teapot = await stubServer((res) => {
      res.writeHead(418, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"I_AM_A_TEAPOT","message":"x"}}');
    });
    expect(await codeOf(peer.call(teapot.address, 'echo', {}))).toBe(ErrorCodes.BAD_REPLY);
    const overloaded = await stubServer((res) => {
      res.writeHead(503);
      res.end();
    });
    expect(await codeOf(peer.call(overloaded.address, 'echo', {}))).toBe(ErrorCodes.BUSY);
  });

  it('reads a list of byte strings written in many pieces as the whole body reads, and leaves anything else to the general decoder', async () => {
    const inOrder = Array.from({ length: 300 }, (_, i) => (i % 9 === 4 ? null : Buffer.alloc(50 + ((i * 131) % 3_000), i)));
    const wire = Buffer.from(encodeBinary({ inOrder }));
    // Written 1,000 bytes at a time, each after the one before left: the reply arrives in many pieces.
    const inPieces = (body: Buffer) => (res: http.ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': body.length });
      let at = 0;
      const next = () => {
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, (at += 1_000)));
        setImmediate(next);
      };
      next();
    };
    const peer = client();
    const list = await stubServer(inPieces(wire));
    const read = (await peer.call(list.address, 'getChunks', {})) as { inOrder: (Uint8Array | null)[] };
    expect(read.inOrder.map((item) => (item === null ? null : Buffer.from(item).toString('hex')))).toEqual(inOrder.map((item) => (item === null ? null : item.toString('hex'))));
    // Views of the pieces as they came (and copies of those straddling two), not of one joined body.
    expect(new Set(read.inOrder.filter((item) => item !== null).map((item) => item.buffer)).size).toBeGreaterThan(10);
    // One byte more than the list: not the shape; the general decoder refuses it as before.
    const trailing = await stubServer(inPieces(Buffer.concat([wire, Buffer.from([0xc0])])));
    expect(await codeOf(peer.call(trailing.address, 'getChunks', {}))).toBe(ErrorCodes.BAD_REPLY);
    // Another shape in pieces is joined and decoded whole.
    const other = { peers: ['127.0.0.1:1', '127.0.0.1:2'], note: Buffer.alloc(2_500, 3) };
    const shaped = await stubServer(inPieces(Buffer.from(encodeBinary(other))));
    const echoed = (await peer.call(shaped.address, 'peers', {})) as { peers: string[]; note: Uint8Array };
    expect(echoed.peers).toEqual(other.peers);
    expect(Buffer.from(echoed.note).equals(other.note)).toBe(true);
  });

  it('reads a byte-string list apart only from a success in MessagePack, and within the nesting bound', async () => {
    const wire = Buffer.from(encodeBinary({ inOrder: [Buffer.alloc(5, 1), null] }));
    const replying = (status: number, type: string) => async () =>
      (
        await stubServer((res) => {
          res.writeHead(status, { 'content-type': type });
          res.end(wire);
        })
      ).address;
    // A refusal whose body happens to be a list is still the refusal.
    expect(await codeOf(client().call(await replying(503, 'application/msgpack')(), 'getChunks', {}))).toBe(ErrorCodes.BUSY);
    // MessagePack bytes labelled JSON are not read as MessagePack.
    expect(await codeOf(client().call(await replying(200, 'application/json')(), 'getChunks', {}))).toBe(ErrorCodes.BAD_REPLY);
    // A list is nested two deep: a transport bounded at one refuses it, as the general decoder does.
    const shallow = client({ limits: { maxDepth: 1 } });
    expect(await codeOf(shallow.call(await replying(200, 'application/msgpack')(), 'getChunks', {}))).toBe(ErrorCodes.BAD_REPLY);
    const read = (await client().call(await replying(200, 'application/msgpack')(), 'getChunks', {})) as { inOrder: (Uint8Array | null)[] };
    expect(read.inOrder.map((item) => (item === null ? null : Buffer.from(item).toString('hex')))).toEqual(['0101010101', null]);
  });

  it('a reply\'s chunks stay as they were while later replies arrive on the same connection', async () => {
    let call = 0;
    const server = await stubServer((res) => {
      const fill = ++call;
      const wire = Buffer.from(encodeBinary({ inOrder: Array.from({ length: 50 }, () => Buffer.alloc(2_000, fill)) }));
      res.writeHead(200, { 'content-type': 'application/msgpack', 'content-length': wire.length });
      res.end(wire);
    });
    const peer = client();
    const first = (await peer.call(server.address, 'getChunks', {})) as { inOrder: Uint8Array[] };
    for (let i = 0; i < 5; i++) await peer.call(server.address, 'getChunks', {});
    expect(call).toBe(6);
    for (const chunk of first.inOrder) expect(chunk.every((byte) => byte === 1)).toBe(true);
  });
});

describe('HttpTransport: close()', () => {
  /** Wraps the system clock and counts timers not yet fired or cleared. */
  class CountingClock implements Clock {
    readonly live = new Set<TimerHandle>();
    now(): number {
      return systemClock.now();
    }
    setTimeout(callback: () => void, ms: number): TimerHandle {
      const handle: TimerHandle = systemClock.setTimeout(() => {
        this.live.delete(handle);
        callback();
      }, ms);
      this.live.add(handle);
      return handle;
    }
    clearTimeout(handle: TimerHandle): void {
      this.live.delete(handle);
      systemClock.clearTimeout(handle);
    }
  }

  const tcpHandles = () => process.getActiveResourcesInfo().filter((type) => type.startsWith('TCP')).length;

  async function eventually(check: () => boolean | Promise<boolean>): Promise<boolean> {
    for (let i = 0; i < 200; i++) {
      if (await check()) return true;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return false;
  }

  it('closes server and client: calls in flight fail, sockets, timers and the port are released', async () => {
    // sockets of earlier tests finish closing asynchronously; start from a quiet state
    await eventually(() => tcpHandles() === 0);
    const before = tcpHandles();
    const clock = new CountingClock();
    const service = new FakeService();
    const server = new HttpTransport({ listen: '127.0.0.1:0', clock });
    const address = await server.listen(service);
    const peer = new HttpTransport({ clock });
    // keep-alive sockets idle in the client's pool, and a call in flight on the server
    await peer.call(address, 'echo', 1);
    await peer.call(address, 'echo', 2);
    const inFlight = peer.call(address, 'wait', {});
    await service.whenInside(1);
    expect(tcpHandles()).toBeGreaterThan(before);

    await Promise.all([server.close(), peer.close()]);
    expect(await codeOf(inFlight)).toBe(ErrorCodes.CLOSED);
    expect(service.aborted).toEqual(['wait']);
    expect(await codeOf(peer.call(address, 'echo', 1))).toBe(ErrorCodes.CLOSED);
    expect(clock.live.size).toBe(0);
    expect(await eventually(() => tcpHandles() === before)).toBe(true);
    const { port } = splitHostPort(address);
    const again = new HttpTransport({ listen: `127.0.0.1:${port}` });
    open.push(again);
    expect(await again.listen(new FakeService())).toBe(address);
  });

  it('a closed client leaves no socket open on the peer it called', async () => {
    const stub = await stubServer((res) => {
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.end(encodeBinary('ok'));
    });
    const connections = () => new Promise<number>((resolve) => stub.server.getConnections((_e, n) => resolve(n)));
    const peer = new HttpTransport();
    await Promise.all([1, 2, 3].map(() => peer.call(stub.address, 'echo', {})));
    expect(await connections()).toBeGreaterThan(0);
    await peer.close();
    expect(await eventually(async () => (await connections()) === 0)).toBe(true);
  });
});

describe('HttpTransport: limit values', () => {
  it('refuses a limit of 0 or NaN that would turn a guard off, naming it', () => {
    for (const limits of [{ requestTimeoutMs: 0 }, { headersTimeoutMs: Number.NaN }, { minBodyBytesPerSecond: 0 }, { replyStallTimeoutMs: -1 }, { bodyGraceMs: -1 }]) {
      const [name] = Object.keys(limits);
      expect(() => new HttpTransport({ limits }), name).toThrow(new RegExp(name!));
    }
    expect(() => new HttpTransport({ limits: { bodyGraceMs: 0 } })).not.toThrow();
  });
});
