/**
 * The serving half of HttpTransport: a node:http server for the peer API, extra routes and the
 * legacy API (see http.ts for the routes).
 *
 * Every request is accounted from its head (ConnectionTable, http-connections.ts): it takes an
 * in-flight slot before its body is read, released when its reply is done or its socket closed;
 * one request per connection is served at a time, and the next pipelined one only starts once the
 * previous reply has left; its body must come at a minimum rate and stops being read when the
 * handler's signal aborts; a handler past its deadline gets 504 and the connection is closed.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseAddress } from '../address.js';
import { AtlasError, ErrorCodes, isAtlasError, type ErrorCode } from '../errors.js';
import { bindServer } from './http-bind.js';
import { MAX_TIMER_MS, type Clock, type Logger, type TimerHandle } from '../runtime.js';
import { codecForAccept, codecForContentType, errorReply, jsonCodec, type Codec } from './codec.js';
import { refuseClientError } from './client-errors.js';
import { ConnectionTable, type Connection, type ConnectionStats } from './http-connections.js';
import { readBody } from '../http-body.js';
import { busyRetryAfter, callerOf, etagMatches, hasBody, httpStatusFor } from './http-io.js';
import { formatCaller, type Caller } from '../peer-address.js';
import type { HttpLimits } from './http-limits.js';
import type { HttpRoute, HttpRouteContext } from './http-route.js';
import type { TransportService, TransportStats } from './types.js';

const RPC_PREFIX = '/atlas/v1/';
const CHUNK_PREFIX = '/chunks/';
export const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

type Handler = (context: HttpRouteContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;
interface Resolved {
  handler: Handler;
  params: Readonly<Record<string, string>>;
  /** A protocol call (the service's `handle` admits it again by its method). */
  call: boolean;
  /** The most body the route reads (at most limits.maxRequestBytes). */
  maxBodyBytes: number;
}

export interface HttpServerParts {
  limits: Readonly<HttpLimits>;
  routes: readonly HttpRoute[];
  clock: Clock;
  logger: Logger;
  counters: TransportStats;
}

export class HttpServer {
  private readonly limits: Readonly<HttpLimits>;
  private readonly connections: ConnectionTable;
  private readonly handlers = new Map<AbortController, TimerHandle>();
  private readonly server: http.Server;
  private closed = false;

  constructor(
    private readonly parts: HttpServerParts,
    private readonly service: TransportService,
  ) {
    const limits = parts.limits;
    this.limits = limits;
    this.connections = new ConnectionTable(limits, parts.clock);
    this.server = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      noDelay: true,
    });
    this.server.maxConnections = limits.maxConnections;
    this.server.on('connection', (socket: Socket) => this.connections.accept(socket));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => refuseClientError(error, socket));
  }

  /**
   * Listens; resolves with the bound port. Rejects with CLOSED when close() comes first, even
   * halfway, and with ABORTED when `signal` does (it closes the server): see bindServer.
   */
  listen(host: string, port: number, signal?: AbortSignal): Promise<number> {
    if (this.closed) return Promise.reject(new AtlasError(ErrorCodes.CLOSED, 'transport is closed'));
    return bindServer(this.server, host, port, {
      signal,
      isClosed: () => this.closed,
      close: () => void this.close(),
      onError: (error) => this.parts.logger.error('http server error', { error: String(error) }),
    });
  }

  stats(): ConnectionStats {
    return this.connections.stats();
  }

  async close(): Promise<void> {
    this.closed = true;
    const closedError = new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    for (const [controller, timer] of this.handlers) {
      this.parts.clock.clearTimeout(timer);
      controller.abort(closedError);
    }
    this.handlers.clear();
    this.connections.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.server.closeIdleConnections();
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const connection = this.connections.get(req.socket);
    if (connection === undefined) {
      req.socket.destroy();
      return;
    }
    this.connections.endSilence(connection);
    if (!connection.serving) {
      this.start(connection, req, res);
      return;
    }
    // Pipelined behind a reply not yet sent: wait. Node goes on parsing the connection whatever
    // we pause, so the bound is the queue: beyond it the connection is closed.
    if (connection.waiting.length >= this.limits.maxPipelinedPerConnection) {
      req.socket.destroy();
      return;
    }
    connection.waiting.push(() => this.start(connection, req, res));
  }

  /** Starts the next pipelined request once the previous reply has been taken by the network. */
  private next(connection: Connection): void {
    connection.serving = false;
    const { socket } = connection;
    if (socket.destroyed) return;
    this.connections.idle(connection);
    const go = () => connection.waiting.shift()?.();
    if (socket.writableNeedDrain) socket.once('drain', go);
    else go();
  }

  private start(connection: Connection, req: IncomingMessage, res: ServerResponse): void {
    connection.serving = true;
    let released = false;
    let release: (() => void) | undefined;
    res.once('close', () => {
      if (released) return;
      released = true;
      release?.();
      this.next(connection);
    });
    res.setHeader('x-content-type-options', 'nosniff');
    // Whoever answered (an error, a route, a legacy reply), a body left unread is not drained:
    // Node would read it on to its end past every limit, with no slot held.
    res.once('finish', () => {
      if (hasBody(req) && !req.complete) req.socket.destroySoon();
    });
    const caller = callerOf(req.socket);
    // An answer without a route spends a token too: a flood of 404s costs CPU like any request.
    // Its body is never read (see above), and its slot is freed with its reply.
    const answerUnrouted = (error: AtlasError, status?: number, allow?: string): void => {
      try {
        release = this.service.admit?.({ caller, call: false, bodyBytes: 0 });
      } catch (refusal) {
        this.sendError(res, refusal, jsonCodec);
        return;
      }
      if (allow !== undefined) res.setHeader('allow', allow);
      this.sendError(res, error, jsonCodec, status);
    };
    const raw = req.url ?? '/';
    if (!raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) {
      answerUnrouted(new AtlasError(ErrorCodes.BAD_REQUEST, 'request target must be a path'));
      return;
    }
    let url: URL;
    try {
      url = new URL(raw, 'http://localhost');
    } catch {
      answerUnrouted(new AtlasError(ErrorCodes.BAD_REQUEST, 'malformed request target'));
      return;
    }
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const allowed = new Set<string>();
    const resolved = this.resolve(url.pathname, method, allowed);
    if (resolved === undefined) {
      if (allowed.size > 0) {
        if (allowed.has('GET')) allowed.add('HEAD');
        answerUnrouted(new AtlasError(ErrorCodes.BAD_REQUEST, `method ${req.method} not allowed`), 405, [...allowed].join(', '));
      } else {
        answerUnrouted(new AtlasError(ErrorCodes.UNKNOWN_METHOD, `no route for ${url.pathname.slice(0, 100)}`));
      }
      return;
    }
    if (this.closed) {
      this.sendError(res, new AtlasError(ErrorCodes.CLOSED, 'transport is closed'), jsonCodec);
      return;
    }
    try {
      release = this.connections.admit(connection);
    } catch (error) {
      this.sendError(res, error, jsonCodec);
      return;
    }
    let admitted = false;
    try {
      // A CORS preflight is answered from configuration alone: it costs nothing.
      const leave = method === 'OPTIONS' ? undefined : this.service.admit?.({ caller, call: resolved.call, bodyBytes: declaredBodyBytes(req, resolved.maxBodyBytes) });
      if (leave !== undefined) {
        admitted = !resolved.call;
        const leaveConnection = release;
        release = () => {
          leave();
          leaveConnection();
        };
      }
    } catch (error) {
      this.sendError(res, error, jsonCodec);
      return;
    }
    this.parts.counters.callsIn++;
    this.serve(connection, resolved, url, req, res, caller, admitted);
  }

  private serve(connection: Connection, resolved: Resolved, url: URL, req: IncomingMessage, res: ServerResponse, caller: Caller, admitted: boolean): void {
    const clock = this.parts.clock;
    const controller = new AbortController();
    const timer = clock.setTimeout(() => {
      const error = new AtlasError(ErrorCodes.TIMEOUT, `handler took longer than ${this.limits.handlerTimeoutMs} ms`);
      controller.abort(error);
      // A reply already under way cannot become a 504: cut it, so slot and socket are freed.
      if (res.headersSent) res.destroy();
      else this.sendError(res, error, jsonCodec);
    }, Math.min(this.limits.handlerTimeoutMs, MAX_TIMER_MS));
    this.handlers.set(controller, timer);
    res.once('close', () => {
      clock.clearTimeout(timer);
      this.handlers.delete(controller);
      if (!res.writableFinished) controller.abort(new AtlasError(ErrorCodes.ABORTED, 'client went away'));
    });
    const context: HttpRouteContext = {
      remote: formatCaller(caller),
      caller,
      signal: controller.signal,
      params: resolved.params,
      url,
      ...(admitted ? { admitted } : {}),
      service: this.service,
      limits: this.limits,
      readBody: (maxBytes = resolved.maxBodyBytes) => this.readRequestBody(connection, req, controller.signal, Math.min(maxBytes, resolved.maxBodyBytes)),
    };
    resolved
      .handler(context, req, res)
      .then(
        () => {
          if (!res.headersSent) this.sendError(res, new AtlasError(ErrorCodes.INTERNAL, 'route sent no reply'), jsonCodec);
        },
        (error: unknown) => {
          if (!isAtlasError(error)) this.parts.logger.warn('http handler failed', { error: String(error), path: url.pathname.slice(0, 100) });
          if (!res.headersSent) this.sendError(res, error, jsonCodec);
          else if (!res.writableEnded) res.destroy(); // a reply cut short must not look complete
        },
      )
      .finally(() => {
        clock.clearTimeout(timer);
        this.handlers.delete(controller);
      });
  }

  /** The handler for a path and method; fills `allowed` when the path exists under other methods. */
  private resolve(pathname: string, method: string, allowed: Set<string>): Resolved | undefined {
    for (const route of this.parts.routes) {
      const match = route.match(pathname);
      if (match === undefined || match === false) continue;
      if (route.method !== method) {
        allowed.add(route.method);
        continue;
      }
      const params = match === true ? {} : match;
      const maxBodyBytes = Math.min(route.maxBodyBytes ?? this.limits.maxRequestBytes, this.limits.maxRequestBytes);
      return { params, handler: (context, req, res) => route.handle(req, res, context), call: false, maxBodyBytes };
    }
    const builtin = (only: string, handler: Handler, params: Record<string, string> = {}, call = false): Resolved | undefined => {
      if (only === method) return { handler, params, call, maxBodyBytes: this.limits.maxRequestBytes };
      allowed.add(only);
      return undefined;
    };
    if (pathname.startsWith(RPC_PREFIX)) {
      const name = pathname.slice(RPC_PREFIX.length);
      if (!METHOD_NAME.test(name)) return undefined;
      return builtin('POST', (context, req, res) => this.serveCall(context, req, res), { method: name }, true);
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
      const body = await context.readBody();
      params = body.byteLength === 0 ? undefined : (requestCodec ?? jsonCodec).decode(body, { maxBytes: this.limits.maxRequestBytes, maxDepth: this.limits.maxDepth, maxValues: this.limits.maxValues });
    } catch (error) {
      this.sendError(res, error, replyCodec);
      return;
    }
    if (context.signal.aborted) {
      // The client went away while its body was read: no work for a reply nobody reads.
      this.sendError(res, new AtlasError(ErrorCodes.ABORTED, 'request aborted'), replyCodec);
      return;
    }
    let reply: readonly Uint8Array[];
    try {
      const result = await context.service.handle(context.params.method as string, params, { remote: context.remote, caller: context.caller, signal: context.signal });
      reply = replyCodec.encodePieces(result);
    } catch (error) {
      if (!isAtlasError(error)) this.parts.logger.warn('request handler failed', { error: String(error), method: context.params.method });
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

  private sendError(res: ServerResponse, error: unknown, codec: Codec, statusOverride?: number): void {
    if (res.headersSent || res.destroyed) return;
    const status = statusOverride ?? httpStatusFor(error);
    const body = codec.encode(errorReply(error));
    const headers: Record<string, string | number> = { 'content-type': codec.contentType, 'content-length': body.byteLength };
    if (isAtlasError(error, ErrorCodes.BUSY)) headers['retry-after'] = busyRetryAfter(error, this.limits);
    // A body left unread, or a handler past its deadline: nothing more is read on this connection.
    if ((hasBody(res.req) && !res.req.complete) || isAtlasError(error, ErrorCodes.TIMEOUT)) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }

  /** Sends `body`, or the pieces of one end to end in one gathered write. */
  private send(res: ServerResponse, status: number, contentType: string, body: Uint8Array | readonly Uint8Array[]): void {
    if (res.headersSent || res.destroyed) return;
    const pieces = body instanceof Uint8Array ? [body] : body;
    let length = 0;
    for (const piece of pieces) length += piece.byteLength;
    this.parts.counters.bytesOut += length;
    res.writeHead(status, { 'content-type': contentType, 'content-length': length });
    if (pieces.length === 1) {
      res.end(pieces[0]);
      return;
    }
    res.cork();
    for (const piece of pieces) res.write(piece);
    res.end();
  }

  private async readRequestBody(connection: Connection, req: IncomingMessage, signal: AbortSignal, maxBytes = this.limits.maxRequestBytes): Promise<Uint8Array> {
    const progress = { startedAt: this.parts.clock.now(), received: 0 };
    connection.body = progress;
    try {
      const body = await readBody(req, Math.min(maxBytes, this.limits.maxRequestBytes), {
        signal,
        minPieceBytes: this.limits.minBodyPieceBytes,
        onProgress: (bytes) => (progress.received += bytes),
      });
      this.parts.counters.bytesIn += body.byteLength;
      return body;
    } finally {
      if (connection.body === progress) connection.body = undefined;
    }
  }
}

/** The body length a request declares; one sent without a length counts as the largest it may send. */
function declaredBodyBytes(req: IncomingMessage, maxBytes: number): number {
  if (!hasBody(req)) return 0;
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, maxBytes) : maxBytes;
}
