/**
 * HttpTransport: a node:http server for the peer API and a keep-alive client for calling peers.
 *
 * Routes (see README "HTTP API"):
 *   POST /atlas/v1/<method>   body: application/msgpack (our client's default) or application/json;
 *                             reply in the encoding the Accept header names, else the request's
 *   GET  /chunks/<address>    raw chunk bytes, immutable, ETag = "<address>"
 *   GET  /status              JSON from service.status()
 *   GET  /metrics             text from service.metrics()
 * plus any extra `routes` given in the options (matched first): that is how the builder of the
 * transport mounts the legacy API (`routes: legacyRoutes(true)`, src/legacy, README "Legacy API")
 * or the names API, so this module loads neither. HEAD is served wherever GET is.
 *
 * Everything a remote can make the server hold is bounded by HttpLimits (http-limits.ts), per host
 * and in total: connections, requests in flight, body and header time, unsent reply bytes, and an
 * outbound byte budget; beyond them the reply is an immediate 503 BUSY or the connection is closed
 * (http-server.ts, http-connections.ts).
 */
import http, { type IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isLoopbackIp } from '../peer-address.js';
import { AtlasError, ErrorCodes, InvalidOptionError, isAtlasError, retryAfterOf } from '../errors.js';
import { callAbortedError, callTimeout, checkCallOptionNames, followSignal, replyBound } from './abort.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../runtime.js';
import { codecFor, codecForContentType, decodePieces, errorFromReply, isErrorReply, type Codec, type WireFormat } from './codec.js';
import type { CallOptions, ListenOptions, Transport, TransportService, TransportStats } from './types.js';
import type { ConnectionStats } from './http-connections.js';
import { readBodyParts, type BodyParts } from '../http-body.js';
import { listenError } from '../listen-error.js';
import { joinHostPort, splitHostPort } from './http-io.js';
import { resolveHttpLimits, type HttpLimits } from './http-limits.js';
import { HostSlots } from './http-outbound.js';
import { checkHttpTransportOptions } from './http-options.js';
import type { HttpRoute } from './http-route.js';
import { HttpServer, METHOD_NAME } from './http-server.js';

export { HTTP_STATUS_BY_CODE, httpStatusFor, joinHostPort, splitHostPort } from './http-io.js';
export { DEFAULT_HTTP_LIMITS, resolveHttpLimits, type HttpLimits } from './http-limits.js';
export type { HttpRoute, HttpRouteContext } from './http-route.js';
export type { ConnectionStats } from './http-connections.js';

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
  /**
   * Extra routes, matched before the built-in ones, e.g. `legacyRoutes(true)` from
   * `atlasnet/legacy` for the original Atlas and Stacks 2.x wire API. Default none.
   */
  routes?: readonly HttpRoute[];
  clock?: Clock;
  logger?: Logger;
}

const RPC_PREFIX = '/atlas/v1/';
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

/**
 * The peer API over HTTP: a node:http server for the peer's own methods (and chunk, status and
 * metrics routes) and a keep-alive client for calling other peers, every server resource bounded by
 * HttpLimits.
 */
export class HttpTransport implements Transport {
  readonly limits: Readonly<HttpLimits>;
  private readonly options: HttpTransportOptions;
  /** Extra routes: matched before the built-in ones. */
  private readonly routes: readonly HttpRoute[];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly codec: Codec;
  private readonly agent: http.Agent;
  /** Sockets per host of our calls (maxSocketsPerHost), taken before the agent is asked for one. */
  private readonly outbound: HostSlots;
  /** The listen host when it is one concrete IP: our calls leave from it (see sourceFor). */
  private readonly listenIp: string | undefined;
  private server: HttpServer | undefined;
  private advertised: string | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly calls = new Set<AbortController>();
  private readonly counters: TransportStats = { callsOut: 0, callsIn: 0, bytesOut: 0, bytesIn: 0 };

  constructor(options: HttpTransportOptions = {}) {
    checkHttpTransportOptions(options);
    this.options = options;
    this.routes = [...(options.routes ?? [])];
    this.limits = resolveHttpLimits(options.limits);
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.codec = codecFor(options.format ?? 'msgpack');
    const listenHost = options.listen === undefined ? undefined : splitHostPort(options.listen).host;
    this.listenIp = listenHost !== undefined && isIP(listenHost) !== 0 && !WILDCARDS.has(listenHost) ? listenHost : undefined;
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: this.limits.maxSocketsPerPeer,
      maxFreeSockets: this.limits.maxFreeSocketsPerPeer,
      maxTotalSockets: this.limits.maxTotalSockets,
      timeout: this.limits.clientIdleTimeoutMs,
      scheduling: 'lifo',
    });
    this.outbound = new HostSlots({ perHost: this.limits.maxSocketsPerHost, perPeer: this.limits.maxSocketsPerPeer, onLoopback: this.limits.perHostLimitsOnLoopback });
  }

  /** The advertised "host:port"; undefined until listen() resolved. */
  get address(): string | undefined {
    return this.advertised;
  }

  /** Calls end at their `timeoutMs` (or `callTimeoutMs`, when shorter). */
  readonly honoursTimeout = true;

  /** Each reply is decoded from the body read for it (http-body.ts), which nothing reuses. */
  readonly handsOverReplies = true;
  readonly readsRepliesOnce = true;

  stats(): TransportStats {
    return { ...this.counters };
  }

  /** `signal`: see Transport.listen; a listen it ends leaves no server bound. */
  async listen(service: TransportService, options: ListenOptions = {}): Promise<string> {
    if (this.closed) throw new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    if (this.server !== undefined) throw new AtlasError(ErrorCodes.ALREADY_STARTED, 'transport is already listening');
    if (this.options.listen === undefined) throw new InvalidOptionError('listen', 'an address to listen on (host:port) before listen(); this transport only calls');
    const { host, port } = splitHostPort(this.options.listen);
    const server = new HttpServer({ limits: this.limits, routes: this.routes, clock: this.clock, logger: this.logger, counters: this.counters }, service);
    this.server = server;
    let realPort: number;
    try {
      realPort = await server.listen(host, port, options.signal);
    } catch (error) {
      this.server = undefined;
      throw listenError(error, this.options.listen);
    }
    this.advertised = this.options.advertise ?? joinHostPort(host, realPort);
    return this.advertised;
  }

  /** What the server holds now and what it refused, for monitoring and tests; undefined before listen(). */
  serverStats(): ConnectionStats | undefined {
    return this.server?.stats();
  }

  // --- client ---------------------------------------------------------------------------------

  async call(peer: string, method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.closed) throw new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    checkCallOptionNames(options);
    if (options.signal?.aborted) throw callAbortedError(options.signal);
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

    const maxReplyBytes = replyBound(this.limits.maxReplyBytes, options.maxReplyBytes);
    const controller = new AbortController();
    // The call's own timeout (ProtocolClient's), or the transport's backstop when shorter.
    const backstopMs = this.limits.callTimeoutMs;
    const limitMs = callTimeout(backstopMs, options.timeoutMs);
    const timer = Number.isFinite(limitMs)
      ? this.clock.setTimeout(
          () => controller.abort(new AtlasError(ErrorCodes.TIMEOUT, `${method} to ${peer} timed out after ${limitMs} ms${limitMs === backstopMs ? ' (callTimeoutMs)' : ''}`)),
          limitMs,
        )
      : undefined;
    const signal = options.signal;
    // Followed rather than listened to: many calls share one signal (a node's lifetime).
    const unfollow = signal === undefined ? undefined : followSignal(signal, () => controller.abort(callAbortedError(signal)));
    this.calls.add(controller);
    this.counters.callsOut++;
    try {
      return await this.exchange(target, method, body, controller.signal, maxReplyBytes);
    } catch (error) {
      throw error instanceof StaleSocket ? error.atlasError : error;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      unfollow?.();
      this.calls.delete(controller);
    }
  }

  /**
   * A node listening on one concrete IP calls from that IP, so peers see the host its `from`
   * names (the sender check binds stated identities to the connection's host): on a host with
   * several addresses, or several nodes on 127.0.0.x, the kernel would otherwise pick another.
   * Only toward targets of the same family and the same scope (loopback or not).
   */
  private sourceFor(targetHost: string): string | undefined {
    const local = this.listenIp;
    if (local === undefined || isIP(targetHost) !== isIP(local)) return undefined;
    return isLoopbackIp(local) === isLoopbackIp(targetHost) ? local : undefined;
  }

  /**
   * One request, holding a socket slot of the target (maxSocketsPerPeer, maxSocketsPerHost) from
   * before the agent is asked for a socket until the request has settled: its socket is then back
   * in the agent's pool (a reply read whole) or destroyed (any failure, the deadline, the signal,
   * close). A keep-alive socket the server closed just as we reused it (StaleSocket) is retried
   * once on a fresh one within the same slot, not behind the calls waiting for one.
   */
  private async exchange(target: { host: string; port: number }, method: string, body: Uint8Array, signal: AbortSignal, maxReplyBytes: number): Promise<unknown> {
    const release = await this.outbound.take(target.host, target.port, signal);
    try {
      try {
        return await this.request(target, method, body, signal, maxReplyBytes);
      } catch (error) {
        if (!(error instanceof StaleSocket)) throw error;
        return await this.request(target, method, body, signal, maxReplyBytes);
      }
    } finally {
      release();
    }
  }

  private request(target: { host: string; port: number }, method: string, body: Uint8Array, signal: AbortSignal, maxReplyBytes: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      let settled = false;
      let responded = false;
      const localAddress = this.sourceFor(target.host);
      const req = http.request({
        host: target.host,
        port: target.port,
        ...(localAddress === undefined ? {} : { localAddress }),
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
        readBodyParts(res, maxReplyBytes, { minPieceBytes: this.limits.minBodyPieceBytes }).then(
          (body) => {
            this.counters.bytesIn += body.total;
            try {
              finish(undefined, this.interpret(res, body));
            } catch (error) {
              finish(error);
            }
          },
          (error: unknown) => {
            finish(
              isAtlasError(error, ErrorCodes.TOO_LARGE)
                ? new AtlasError(ErrorCodes.BAD_REPLY, `${method} reply larger than ${maxReplyBytes} bytes`, { limit: maxReplyBytes })
                : isAtlasError(error, ErrorCodes.BAD_REQUEST) // sent in pieces too small (minBodyPieceBytes)
                  ? new AtlasError(ErrorCodes.BAD_REPLY, `${method} reply: ${error.message}`, error.details, { cause: error })
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
  private interpret(res: IncomingMessage, body: BodyParts): unknown {
    const status = res.statusCode ?? 0;
    const codec = codecForContentType(res.headers['content-type']);
    let value: unknown;
    let decoded = false;
    if (codec !== undefined) {
      try {
        value = decodePieces(codec, body, { maxBytes: this.limits.maxReplyBytes, maxDepth: this.limits.maxDepth, maxValues: this.limits.maxValues });
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
    throw errorForStatus(status, res.headers['retry-after']);
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
    this.agent.destroy();
    await this.server?.close();
  }
}

/** Thrown by exchange() when a reused keep-alive socket was reset before any reply. */
class StaleSocket extends Error {
  constructor(readonly atlasError: AtlasError) {
    super(atlasError.message);
  }
}

// --- helpers ------------------------------------------------------------------------------------

function errorForStatus(status: number, retryAfter: string | undefined): AtlasError {
  const message = `peer answered HTTP ${status}`;
  switch (status) {
    case 400:
      return new AtlasError(ErrorCodes.BAD_REQUEST, message);
    case 413:
    case 431:
      return new AtlasError(ErrorCodes.TOO_LARGE, message);
    case 503: {
      // Retry-After in seconds (the HTTP-date form is not used between nodes).
      const pause = retryAfter !== undefined && /^\d{1,7}$/.test(retryAfter) ? retryAfterOf(Number(retryAfter) * 1000) : undefined;
      return new AtlasError(ErrorCodes.BUSY, message, pause === undefined ? undefined : { retryAfterMs: pause });
    }
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

const WILDCARDS: ReadonlySet<string> = new Set(['0.0.0.0', '::']);
