/**
 * HttpTransport: a node:http server for the peer API and a keep-alive client for calling peers.
 *
 * Routes (see README "HTTP API"):
 *   POST /atlas/v1/<method>   body: application/msgpack (our client's default) or application/json;
 *                             reply in the encoding the Accept header names, else the request's
 *   GET  /chunks/<address>    raw chunk bytes, immutable, ETag = "<address>"
 *   GET  /status              JSON from service.status()
 *   GET  /metrics             text from service.metrics()
 * plus any extra `routes` given in the options (matched first), then the legacy API's routes when
 * the `legacy` option is set (src/legacy, README "Legacy API"). HEAD is served wherever GET is.
 *
 * Everything a remote can make the server hold is bounded by HttpLimits: body size, header size,
 * time to send headers and body, idle keep-alive, connections and requests being handled (beyond
 * which the reply is an immediate 503 BUSY rather than a queue).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parseAddress } from '../address.js';
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from '../runtime.js';
import {
  codecFor,
  codecForAccept,
  codecForContentType,
  errorFromReply,
  errorReply,
  isErrorReply,
  jsonCodec,
  type Codec,
  type WireFormat,
} from './codec.js';
import type { CallOptions, RequestContext, Transport, TransportService, TransportStats } from './types.js';
import { legacyRoutes, type LegacyOptions } from '../legacy/index.js';
import { etagMatches, hasBody, joinHostPort, readBody, remoteOf, splitHostPort, httpStatusFor, HTTP_STATUS_BY_CODE } from './http-io.js';

export { HTTP_STATUS_BY_CODE, httpStatusFor, joinHostPort, splitHostPort } from './http-io.js';

/** The bounds the HTTP transport enforces on connections and bodies. */
export interface HttpLimits {
  /** Largest request body the server reads (413 TOO_LARGE beyond); the client refuses to send more. */
  maxRequestBytes: number;
  /** Largest reply body the client reads (BAD_REPLY beyond). */
  maxReplyBytes: number;
  /** Largest request head (request line and headers); 431 beyond. */
  maxHeaderBytes: number;
  /** Time a client has to send the request head (408 and close beyond). */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, head and body (408 and close beyond). */
  requestTimeoutMs: number;
  /** How often the server checks the two timeouts above. */
  timeoutCheckIntervalMs: number;
  /** How long the server keeps an idle keep-alive connection. */
  keepAliveTimeoutMs: number;
  /** Open connections the server accepts; further ones are closed at once. */
  maxConnections: number;
  /** Requests being handled at once; further ones get 503 BUSY at once. */
  maxInFlight: number;
  /** Time a handler gets before its signal is aborted and the caller gets 504 TIMEOUT. */
  handlerTimeoutMs: number;
  /** Seconds sent in Retry-After with 503 BUSY. */
  busyRetryAfterSeconds: number;
  /** Nesting depth accepted when decoding a body. */
  maxDepth: number;
  /** Client: deadline of a call that gives no timeoutMs. */
  callTimeoutMs: number;
  /** Client: sockets open to one peer at once (further calls wait for one). */
  maxSocketsPerPeer: number;
  /** Client: idle keep-alive sockets kept per peer. */
  maxFreeSocketsPerPeer: number;
  /** Client: sockets open to all peers together. */
  maxTotalSockets: number;
  /** Client: an idle keep-alive socket is closed after this; below the server's keepAliveTimeoutMs. */
  clientIdleTimeoutMs: number;
}

/** Default bounds of the HTTP transport: sockets, body sizes, timeouts. */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxRequestBytes: 1024 * 1024,
  maxReplyBytes: 8 * 1024 * 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  timeoutCheckIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxInFlight: 64,
  handlerTimeoutMs: 30_000,
  busyRetryAfterSeconds: 1,
  maxDepth: 32,
  callTimeoutMs: 30_000,
  maxSocketsPerPeer: 4,
  maxFreeSocketsPerPeer: 2,
  maxTotalSockets: 256,
  clientIdleTimeoutMs: 4_000,
});

/**
 * An extra route, e.g. for a legacy API. `match` returns captured parameters (or true) when the
 * route serves the path. The handler must end the response; if it throws, the error is sent as
 * JSON with the status of HTTP_STATUS_BY_CODE. Extra routes are matched before the built-in
 * ones and count against maxInFlight and handlerTimeoutMs like them.
 */
export interface HttpRoute {
  method: 'GET' | 'POST';
  match(pathname: string): boolean | Readonly<Record<string, string>> | undefined;
  handle(req: IncomingMessage, res: ServerResponse, context: HttpRouteContext): Promise<void>;
}

/** What an extra HTTP route handler receives besides the request. */
export interface HttpRouteContext extends RequestContext {
  signal: AbortSignal;
  params: Readonly<Record<string, string>>;
  url: URL;
  service: TransportService;
  limits: Readonly<HttpLimits>;
  /** The request body, bounded by limits.maxRequestBytes (TOO_LARGE beyond). */
  readBody(): Promise<Uint8Array>;
}

/** Options of `HttpTransport`. */
export interface HttpTransportOptions {
  /** "host:port" to listen on (port 0 picks a free one). Omit for a client-only transport. */
  listen?: string;
  /**
   * "host:port" other peers should use; default: the listen host and the real port. Set it when
   * listening on a wildcard (0.0.0.0, ::) or behind NAT.
   */
  advertise?: string;
  limits?: Partial<HttpLimits>;
  /** Encoding of outgoing calls. Default msgpack. */
  format?: WireFormat;
  routes?: readonly HttpRoute[];
  /**
   * Opt-in wire compatibility: the original Atlas XML-RPC API (POST /RPC2), its REST zone-file
   * routes (/v1/zonefiles/<address>, /v1/zonefile) and the Stacks 2.x attachment routes
   * (/v2/attachments/...). `true` for the original limits, or options. Default off.
   */
  legacy?: boolean | LegacyOptions;
  clock?: Clock;
  logger?: Logger;
}

const RPC_PREFIX = '/atlas/v1/';
const CHUNK_PREFIX = '/chunks/';
const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_TIMER_MS = 2_147_483_647;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

type Handler = (context: HttpRouteContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;
interface Resolved {
  handler: Handler;
  params: Readonly<Record<string, string>>;
}

/** The protocol over node:http, with keep-alive and bounded sockets, bodies and time. */
export class HttpTransport implements Transport {
  readonly limits: Readonly<HttpLimits>;
  private readonly options: HttpTransportOptions;
  /** Extra routes, then the legacy API's: matched before the built-in ones. */
  private readonly routes: readonly HttpRoute[];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly codec: Codec;
  private readonly agent: http.Agent;
  private server: http.Server | undefined;
  private service: TransportService | undefined;
  private advertised: string | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private inFlight = 0;
  private readonly sockets = new Set<Socket>();
  /** Connections that have not begun a request yet, with their deadline to send a first byte. */
  private readonly silent = new Map<Socket, TimerHandle>();
  private readonly handlers = new Map<AbortController, TimerHandle>();
  private readonly calls = new Set<AbortController>();
  private readonly counters: TransportStats = { callsOut: 0, callsIn: 0, bytesOut: 0, bytesIn: 0 };

  constructor(options: HttpTransportOptions = {}) {
    this.options = options;
    this.routes = [...(options.routes ?? []), ...legacyRoutes(options.legacy)];
    this.limits = Object.freeze({ ...DEFAULT_HTTP_LIMITS, ...options.limits });
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.codec = codecFor(options.format ?? 'msgpack');
    // fail early on a malformed address
    if (options.listen !== undefined) splitHostPort(options.listen);
    if (options.advertise !== undefined) splitHostPort(options.advertise);
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: this.limits.maxSocketsPerPeer,
      maxFreeSockets: this.limits.maxFreeSocketsPerPeer,
      maxTotalSockets: this.limits.maxTotalSockets,
      timeout: this.limits.clientIdleTimeoutMs,
      scheduling: 'lifo',
    });
  }

  /** The advertised "host:port"; undefined until listen() resolved. */
  get address(): string | undefined {
    return this.advertised;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  async listen(service: TransportService): Promise<string> {
    if (this.closed) throw new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    if (this.server !== undefined) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'transport is already listening');
    if (this.options.listen === undefined) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'no listen address configured');
    const { host, port } = splitHostPort(this.options.listen);
    const limits = this.limits;
    const server = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      noDelay: true,
    });
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      // Node's headersTimeout only starts with a request's first byte: a connection that never
      // sends one would hold a place of maxConnections for good. It must begin in time.
      this.silent.set(
        socket,
        this.clock.setTimeout(() => {
          this.silent.delete(socket);
          if (socket.bytesRead === 0) socket.destroy();
        }, Math.min(limits.headersTimeoutMs, MAX_TIMER_MS)),
      );
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.endSilence(socket);
      });
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.service = service;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(new AtlasError(ErrorCodes.INTERNAL, `cannot listen on ${this.options.listen}: ${error.code ?? error.message}`, undefined, { cause: error }));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    }).catch((error: unknown) => {
      this.server = undefined;
      this.service = undefined;
      throw error;
    });
    server.on('error', (error) => this.logger.error('http server error', { error: String(error) }));
    const bound = server.address();
    const realPort = typeof bound === 'object' && bound !== null ? bound.port : port;
    this.advertised = this.options.advertise ?? joinHostPort(host, realPort);
    return this.advertised;
  }

  // --- client ---------------------------------------------------------------------------------

  async call(peer: string, method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.closed) throw new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    if (options.signal?.aborted) throw abortedError();
    const target = splitHostPort(peer);
    if (!METHOD_NAME.test(method)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `not a method name: ${JSON.stringify(method.slice(0, 64))}`);
    let body: Uint8Array;
    try {
      body = this.codec.encode(params);
    } catch (error) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, 'params cannot be encoded', undefined, { cause: error });
    }
    if (body.byteLength > this.limits.maxRequestBytes) {
      throw new AtlasError(ErrorCodes.TOO_LARGE, `request of ${body.byteLength} bytes exceeds ${this.limits.maxRequestBytes}`);
    }

    const controller = new AbortController();
    const timeoutMs = options.timeoutMs ?? this.limits.callTimeoutMs;
    const timer = Number.isFinite(timeoutMs)
      ? this.clock.setTimeout(
          () => controller.abort(new AtlasError(ErrorCodes.TIMEOUT, `${method} to ${peer} timed out after ${timeoutMs} ms`)),
          Math.min(Math.max(timeoutMs, 0), MAX_TIMER_MS),
        )
      : undefined;
    const onAbort = () => controller.abort(abortedError());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    this.calls.add(controller);
    this.counters.callsOut++;
    try {
      try {
        return await this.exchange(target, method, body, controller.signal);
      } catch (error) {
        // A keep-alive socket the server closed just as we reused it: one retry on a fresh one.
        if (!(error instanceof StaleSocket)) throw error;
        return await this.exchange(target, method, body, controller.signal);
      }
    } catch (error) {
      throw error instanceof StaleSocket ? error.atlasError : error;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.calls.delete(controller);
    }
  }

  private exchange(target: { host: string; port: number }, method: string, body: Uint8Array, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      let settled = false;
      let responded = false;
      const req = http.request({
        host: target.host,
        port: target.port,
        method: 'POST',
        path: RPC_PREFIX + method,
        agent: this.agent,
        headers: {
          'content-type': this.codec.contentType,
          accept: this.codec.contentType,
          'content-length': body.byteLength,
        },
      });
      const finish = (error: unknown, value?: unknown) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (error !== undefined) {
          req.destroy();
          reject(error);
        } else {
          resolve(value);
        }
      };
      const onAbort = () => finish(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });

      req.on('error', (error: NodeJS.ErrnoException) => {
        // Once a reply has started, the reply stream reports a lost connection itself; a write
        // error then only means the server stopped reading our body (e.g. after a 413).
        if (settled || responded) return;
        const mapped = networkError(error, target);
        if (!responded && req.reusedSocket && error.code === 'ECONNRESET') finish(new StaleSocket(mapped));
        else finish(mapped);
      });
      req.on('response', (res) => {
        responded = true;
        readBody(res, this.limits.maxReplyBytes).then(
          (bytes) => {
            this.counters.bytesIn += bytes.byteLength;
            try {
              finish(undefined, this.interpret(res, bytes));
            } catch (error) {
              finish(error);
            }
          },
          (error: unknown) => {
            finish(
              isAtlasError(error, ErrorCodes.TOO_LARGE)
                ? new AtlasError(ErrorCodes.BAD_REPLY, `reply larger than ${this.limits.maxReplyBytes} bytes`, { limit: this.limits.maxReplyBytes })
                : new AtlasError(ErrorCodes.UNREACHABLE, 'connection lost while reading the reply', undefined, { cause: error }),
            );
          },
        );
      });
      this.counters.bytesOut += body.byteLength;
      req.end(body);
    });
  }

  /** Turns a complete reply into the result, or throws the AtlasError it stands for. */
  private interpret(res: IncomingMessage, bytes: Uint8Array): unknown {
    const status = res.statusCode ?? 0;
    const codec = codecForContentType(res.headers['content-type']);
    let value: unknown;
    let decoded = false;
    if (codec !== undefined) {
      try {
        value = codec.decode(bytes, { maxBytes: this.limits.maxReplyBytes, maxDepth: this.limits.maxDepth });
        decoded = true;
      } catch (error) {
        if (status >= 200 && status < 300) throw new AtlasError(ErrorCodes.BAD_REPLY, 'malformed reply body', undefined, { cause: error });
      }
    }
    if (status >= 200 && status < 300) {
      if (!decoded) throw new AtlasError(ErrorCodes.BAD_REPLY, `reply has an unsupported content type: ${String(res.headers['content-type']).slice(0, 64)}`);
      return value;
    }
    if (decoded && isErrorReply(value)) throw errorFromReply(value);
    throw errorForStatus(status);
  }

  // --- server ---------------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.endSilence(req.socket);
    res.setHeader('x-content-type-options', 'nosniff');
    const raw = req.url ?? '/';
    if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) {
      this.sendError(res, new AtlasError(ErrorCodes.BAD_REQUEST, 'request target must be a path'), jsonCodec);
      return;
    }
    let url: URL;
    try {
      url = new URL(raw, 'http://localhost');
    } catch {
      this.sendError(res, new AtlasError(ErrorCodes.BAD_REQUEST, 'malformed request target'), jsonCodec);
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const allowed = new Set<string>();
    const resolved = this.resolve(url.pathname, method, allowed);
    if (resolved === undefined) {
      if (allowed.size > 0) {
        if (allowed.has('GET')) allowed.add('HEAD');
        res.setHeader('allow', [...allowed].join(', '));
        this.sendError(res, new AtlasError(ErrorCodes.BAD_REQUEST, `method ${req.method} not allowed`), jsonCodec, 405);
      } else {
        this.sendError(res, new AtlasError(ErrorCodes.UNKNOWN_METHOD, `no route for ${url.pathname.slice(0, 100)}`), jsonCodec);
      }
      return;
    }
    const service = this.service;
    if (service === undefined || this.closed) {
      this.sendError(res, new AtlasError(ErrorCodes.CLOSED, 'transport is closed'), jsonCodec);
      return;
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      this.sendError(res, new AtlasError(ErrorCodes.BUSY, 'too many requests in flight'), jsonCodec);
      return;
    }
    this.counters.callsIn++;
    this.inFlight++;
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => {
      const error = new AtlasError(ErrorCodes.TIMEOUT, `handler took longer than ${this.limits.handlerTimeoutMs} ms`);
      controller.abort(error);
      this.sendError(res, error, jsonCodec);
    }, Math.min(this.limits.handlerTimeoutMs, MAX_TIMER_MS));
    this.handlers.set(controller, timer);
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new AtlasError(ErrorCodes.ABORTED, 'client went away'));
    });
    const context: HttpRouteContext = {
      remote: remoteOf(req),
      signal: controller.signal,
      params: resolved.params,
      url,
      service,
      limits: this.limits,
      readBody: () => this.readRequestBody(req),
    };
    resolved
      .handler(context, req, res)
      .then(
        () => {
          if (!res.headersSent) this.sendError(res, new AtlasError(ErrorCodes.INTERNAL, 'route sent no reply'), jsonCodec);
        },
        (error: unknown) => {
          if (!isAtlasError(error)) this.logger.warn('http handler failed', { error: String(error), path: url.pathname.slice(0, 100) });
          if (!res.headersSent) this.sendError(res, error, jsonCodec);
          else if (!res.writableEnded) res.destroy(); // a reply cut short must not look complete
        },
      )
      .finally(() => {
        this.inFlight--;
        this.clock.clearTimeout(timer);
        this.handlers.delete(controller);
      });
  }

  private endSilence(socket: Socket): void {
    const timer = this.silent.get(socket);
    if (timer === undefined) return;
    this.clock.clearTimeout(timer);
    this.silent.delete(socket);
  }

  /** The handler for a path and method; fills `allowed` when the path exists under other methods. */
  private resolve(pathname: string, method: string, allowed: Set<string>): Resolved | undefined {
    for (const route of this.routes) {
      const match = route.match(pathname);
      if (match === undefined || match === false) continue;
      if (route.method !== method) {
        allowed.add(route.method);
        continue;
      }
      const params = match === true ? {} : match;
      return { params, handler: (context, req, res) => route.handle(req, res, context) };
    }
    const builtin = (only: string, handler: Handler, params: Record<string, string> = {}): Resolved | undefined => {
      if (only === method) return { handler, params };
      allowed.add(only);
      return undefined;
    };
    if (pathname.startsWith(RPC_PREFIX)) {
      const name = pathname.slice(RPC_PREFIX.length);
      if (!METHOD_NAME.test(name)) return undefined;
      return builtin('POST', (context, req, res) => this.serveCall(context, req, res), { method: name });
    }
    if (pathname.startsWith(CHUNK_PREFIX)) {
      return builtin('GET', (context, req, res) => this.serveChunk(context, req, res), { address: pathname.slice(CHUNK_PREFIX.length) });
    }
    if (pathname === '/status') return builtin('GET', (context, _req, res) => this.serveStatus(context, res));
    if (pathname === '/metrics') return builtin('GET', (context, _req, res) => this.serveMetrics(context, res));
    return undefined;
  }

  private async serveCall(context: HttpRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const contentType = req.headers['content-type'];
    const requestCodec = codecForContentType(contentType);
    const replyCodec = codecForAccept(req.headers.accept) ?? requestCodec ?? jsonCodec;
    if (requestCodec === undefined && (contentType !== undefined || hasBody(req))) {
      this.sendError(res, new AtlasError(ErrorCodes.BAD_REQUEST, 'unsupported content type; use application/msgpack or application/json'), replyCodec, 415);
      return;
    }
    let params: unknown;
    try {
      const body = await this.readRequestBody(req);
      params = body.byteLength === 0 ? undefined : (requestCodec ?? jsonCodec).decode(body, { maxBytes: this.limits.maxRequestBytes, maxDepth: this.limits.maxDepth });
    } catch (error) {
      this.sendError(res, error, replyCodec);
      return;
    }
    let reply: Uint8Array;
    try {
      const result = await context.service.handle(context.params.method as string, params, { remote: context.remote, signal: context.signal });
      reply = replyCodec.encode(result);
    } catch (error) {
      if (!isAtlasError(error)) this.logger.warn('request handler failed', { error: String(error), method: context.params.method });
      this.sendError(res, error, replyCodec);
      return;
    }
    this.send(res, 200, replyCodec.contentType, reply);
  }

  private async serveChunk(context: HttpRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = parseAddress(context.params.address);
    const data = context.service.getChunk?.(address);
    if (data === undefined) {
      // Absence is not an error of the protocol (no error code): a plain 404, as for any missing resource.
      res.setHeader('cache-control', 'no-store');
      this.send(res, 404, 'text/plain; charset=utf-8', Buffer.from(`no chunk ${address}\n`, 'utf8'));
      return;
    }
    const etag = `"${address}"`;
    res.setHeader('etag', etag);
    res.setHeader('cache-control', IMMUTABLE);
    if (etagMatches(req.headers['if-none-match'], address)) {
      res.writeHead(304);
      res.end();
      return;
    }
    this.send(res, 200, 'application/octet-stream', data);
  }

  private async serveStatus(context: HttpRouteContext, res: ServerResponse): Promise<void> {
    if (context.service.status === undefined) throw new AtlasError(ErrorCodes.UNKNOWN_METHOD, 'no status here');
    res.setHeader('cache-control', 'no-store');
    this.send(res, 200, jsonCodec.contentType, jsonCodec.encode(context.service.status()));
  }

  private async serveMetrics(context: HttpRouteContext, res: ServerResponse): Promise<void> {
    if (context.service.metrics === undefined) throw new AtlasError(ErrorCodes.UNKNOWN_METHOD, 'no metrics here');
    const text = await context.service.metrics();
    res.setHeader('cache-control', 'no-store');
    this.send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', Buffer.from(text, 'utf8'));
  }

  private sendError(res: ServerResponse, error: unknown, codec: Codec, status?: number): void {
    if (isAtlasError(error, ErrorCodes.BUSY) && !res.headersSent) res.setHeader('retry-after', String(this.limits.busyRetryAfterSeconds));
    sendError(res, error, codec, status);
  }

  private send(res: ServerResponse, status: number, contentType: string, body: Uint8Array): void {
    if (res.headersSent || res.destroyed) return;
    this.counters.bytesOut += body.byteLength;
    res.writeHead(status, { 'content-type': contentType, 'content-length': body.byteLength });
    res.end(body);
  }

  private async readRequestBody(req: IncomingMessage): Promise<Uint8Array> {
    const body = await readBody(req, this.limits.maxRequestBytes);
    this.counters.bytesIn += body.byteLength;
    return body;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    const closedError = new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    for (const controller of this.calls) controller.abort(closedError);
    for (const [controller, timer] of this.handlers) {
      this.clock.clearTimeout(timer);
      controller.abort(closedError);
    }
    this.handlers.clear();
    for (const socket of [...this.silent.keys()]) this.endSilence(socket);
    this.agent.destroy();
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
    this.sockets.clear();
  }
}

/** Thrown by exchange() when a reused keep-alive socket was reset before any reply. */
class StaleSocket extends Error {
  constructor(readonly atlasError: AtlasError) {
    super(atlasError.message);
  }
}

// --- helpers ------------------------------------------------------------------------------------

function sendError(res: ServerResponse, error: unknown, codec: Codec, statusOverride?: number): void {
  if (res.headersSent || res.destroyed) return;
  const status = statusOverride ?? httpStatusFor(error);
  const body = codec.encode(errorReply(error));
  const headers: Record<string, string | number> = { 'content-type': codec.contentType, 'content-length': body.byteLength };
  // The rest of an oversized body is not read: close the connection after this reply.
  if (isAtlasError(error, ErrorCodes.TOO_LARGE) && status === 413) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function errorForStatus(status: number): AtlasError {
  const message = `peer answered HTTP ${status}`;
  switch (status) {
    case 413:
      return new AtlasError(ErrorCodes.TOO_LARGE, message);
    case 503:
      return new AtlasError(ErrorCodes.BUSY, message);
    case 408:
    case 504:
      return new AtlasError(ErrorCodes.TIMEOUT, message);
    default:
      return new AtlasError(ErrorCodes.BAD_REPLY, message, { status });
  }
}

function networkError(error: NodeJS.ErrnoException, target: { host: string; port: number }): AtlasError {
  const where = joinHostPort(target.host, target.port);
  if (error.code !== undefined && NETWORK_ERRORS.has(error.code)) {
    return new AtlasError(ErrorCodes.UNREACHABLE, `${where}: ${error.code}`, { errno: error.code }, { cause: error });
  }
  if (error.code?.startsWith('HPE_')) return new AtlasError(ErrorCodes.BAD_REPLY, `${where}: malformed HTTP reply (${error.code})`, undefined, { cause: error });
  return new AtlasError(ErrorCodes.UNREACHABLE, `${where}: ${error.message}`, undefined, { cause: error });
}

function abortedError(): AtlasError {
  return new AtlasError(ErrorCodes.ABORTED, 'call aborted');
}
