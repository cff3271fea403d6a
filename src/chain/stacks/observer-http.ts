/**
 * The HTTP listener a stacks-node `[[events_observer]]` posts to. It answers 200 only once the
 * adapter has durably applied the payload (the node retries anything else, so a failure here never
 * loses data), one payload at a time. Paths other than /new_block and /attachments/new are read
 * to the end without being kept and answered 200. It authenticates nobody, so by default only
 * this machine may connect (a stacks-node elsewhere is named in `allowedHosts`). Bounds: body
 * bytes and JSON values, connections (a newcomer takes the place of one carrying no delivery),
 * time to the first byte and to the whole request.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { BlockList, isIP, isIPv6, type Socket } from 'node:net';
import { AtlasError, ErrorCodes, isAtlasError } from '../../errors.js';
import { readBody } from '../../http-body.js';
import { isLoopbackIp, parsePeerAddress } from '../../peer-address.js';
import { SerialQueue, type Logger } from '../../runtime.js';
import { countJsonValues } from './json-values.js';

/** Bounds of the event-observer HTTP listener: body bytes, events per block, attachments, connections and request time. */
export interface ObserverLimits {
  /** Largest /new_block or /attachments/new body read (413 beyond; default 64 MiB: blocks carry raw transactions). */
  maxBodyBytes: number;
  /**
   * Most JSON values in one /new_block or /attachments/new body (413 beyond, before it is parsed;
   * default 1,000,000). Parsed, a body of tiny values takes many times its bytes: 64 MiB of
   * `[{},{},...]` took 1.6 GB of heap and held the event loop 37 s. At the bound such a body
   * takes about 70 MB and 0.7 s; a real delivery, mostly hex strings, holds a value every few
   * dozen bytes (about 100,000 in a 4 MB block).
   */
  maxBodyValues: number;
  /** Most BNS prints taken from one block (400 beyond; default 10,000). */
  maxNameEventsPerBlock: number;
  /**
   * Largest zone file kept (default 40,960, the chunk limit); a larger one is refused alone. An
   * /attachments/new delivery is bounded by maxBodyBytes, not by its count of records: every
   * record in it is taken (refusing a delivery would have the stacks-node redeliver it for ever,
   * sending no block meanwhile).
   */
  maxAttachmentBytes: number;
  /**
   * Most open connections (default 16: one stacks-node needs one). A connection beyond them takes
   * the place of the oldest one not carrying a /new_block or /attachments/new delivery (silent,
   * sending its head, sending another path's body, or idle between deliveries; at most
   * maxBodiesAtOnce carry one): 16 connections that each sent one byte, past firstByteTimeoutMs,
   * held every place for Node's 60 s header timeout, and the stacks-node's deliveries waited.
   */
  maxConnections: number;
  /**
   * Bodies read or waiting to be applied at once (503 beyond; default 2: a stacks-node sends one
   * delivery at a time and waits for its answer): what the observer holds is at most this many
   * times maxBodyBytes, however many connections send at once.
   */
  maxBodiesAtOnce: number;
  /** Time to receive one whole request (default 120 s). */
  requestTimeoutMs: number;
  /** Time a new connection has to send its first byte, or it is closed (default 10 s). */
  firstByteTimeoutMs: number;
}

/** Defaults of ObserverLimits (`StacksObserverChainOptions.limits`). */
export const DEFAULT_OBSERVER_LIMITS: Readonly<ObserverLimits> = Object.freeze({
  maxBodyBytes: 64 * 1024 * 1024,
  maxBodyValues: 1_000_000,
  maxNameEventsPerBlock: 10_000,
  maxAttachmentBytes: 40_960,
  maxConnections: 16,
  maxBodiesAtOnce: 2,
  requestTimeoutMs: 120_000,
  firstByteTimeoutMs: 10_000,
});

/** What the listener feeds. */
export interface ObserverSink {
  ingestBlock(payload: unknown): void;
  ingestAttachments(payload: unknown): unknown;
}

const STATUS: Partial<Record<string, number>> = { BAD_REQUEST: 400, TOO_MANY: 400, BAD_ADDRESS: 400, TOO_LARGE: 413, CLOSED: 503, BUSY: 503 };

export class ObserverServer {
  readonly #server: http.Server;
  /** Open connections, oldest first. */
  readonly #sockets = new Set<Socket>();
  /** Connections whose /new_block or /attachments/new delivery is being read, applied or answered: never displaced by a newcomer. */
  readonly #carrying = new WeakSet<Socket>();
  readonly #queue = new SerialQueue();
  /** Bodies being read or waiting in #queue (at most limits.maxBodiesAtOnce). */
  #bodies = 0;
  /** Who besides loopback may connect, compared as addresses (any IPv6 spelling, IPv4-mapped too). */
  readonly #allowList: BlockList | 'any';
  #address: string | undefined;

  constructor(
    private readonly sink: ObserverSink,
    private readonly limits: Readonly<ObserverLimits>,
    private readonly logger: Logger,
    /** Who may connect besides this machine's loopback (see allowedHostList). */
    allowList: BlockList | 'any' = new BlockList(),
  ) {
    this.#allowList = allowList;
    this.#server = http.createServer(
      {
        requestTimeout: limits.requestTimeoutMs,
        headersTimeout: Math.min(60_000, limits.requestTimeoutMs),
        // How often the two timeouts are checked: a tenth of the request timeout, at most 5 s.
        connectionsCheckingInterval: Math.max(50, Math.min(5_000, Math.floor(limits.requestTimeoutMs / 10))),
      },
      (req, res) => this.#serve(req, res),
    );
    // One more than the bound: the newcomer is let in to take the place of one carrying no request.
    this.#server.maxConnections = limits.maxConnections + 1;
    this.#server.on('connection', (socket: Socket) => {
      if (!this.#allowed(socket.remoteAddress) || !this.#makeRoom()) {
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      // Node's header timeout starts with the first byte: a silent connection would hold a slot.
      const silence = setTimeout(() => {
        if (socket.bytesRead === 0) socket.destroy();
      }, limits.firstByteTimeoutMs);
      socket.once('close', () => {
        clearTimeout(silence);
        this.#sockets.delete(socket);
      });
    });
  }

  /** Room for one more connection: at the bound, the oldest carrying no request is closed; false when every one carries one. */
  #makeRoom(): boolean {
    if (this.#sockets.size < this.limits.maxConnections) return true;
    for (const socket of this.#sockets) {
      if (this.#carrying.has(socket)) continue;
      socket.destroy();
      this.#sockets.delete(socket);
      return true;
    }
    return false;
  }

  #allowed(ip: string | undefined): boolean {
    if (ip === undefined) return false;
    if (isLoopbackIp(ip) || this.#allowList === 'any') return true;
    return this.#allowList.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
  }

  get address(): string | undefined {
    return this.#address;
  }

  async listen(hostPort: string): Promise<void> {
    const { host, port } = parseHostPort(hostPort);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address();
    const actualPort = typeof bound === 'object' && bound !== null ? bound.port : port;
    this.#address = host.includes(':') ? `[${host}]:${actualPort}` : `${host}:${actualPort}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    await this.#queue.idle();
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method !== 'POST') {
      req.resume();
      reply(res, 405, { error: 'the event observer only accepts POST' });
      return;
    }
    const apply = path === '/new_block' ? (p: unknown) => this.sink.ingestBlock(p) : path === '/attachments/new' ? (p: unknown) => this.sink.ingestAttachments(p) : undefined;
    if (apply === undefined) {
      // Another observer path (new_burn_block, new_mempool_tx, ...): nothing to keep.
      req.resume();
      req.once('end', () => reply(res, 200, {}));
      return;
    }
    if (this.#bodies >= this.limits.maxBodiesAtOnce) {
      this.#refuse(res, path, new AtlasError(ErrorCodes.BUSY, `${this.#bodies} deliveries are being read or applied; retry`));
      return;
    }
    this.#bodies++;
    // Displacing it would lose a delivery being read or applied; there are at most maxBodiesAtOnce
    // such. Any other (another path's body, read and dropped) may give its place to a newcomer:
    // the stacks-node delivers it again.
    const { socket } = req;
    this.#carrying.add(socket);
    res.once('close', () => this.#carrying.delete(socket));
    const done = (): void => {
      this.#bodies--;
    };
    // The whole body within requestTimeoutMs, or the connection is closed (a slow sender holds nothing).
    const timer = setTimeout(() => req.socket.destroy(), this.limits.requestTimeoutMs);
    req.once('close', () => clearTimeout(timer));
    readBody(req, this.limits.maxBodyBytes).then(
      (body) => {
        clearTimeout(timer);
        // One payload at a time, in arrival order: the journal's order is the chain's.
        void this.#queue
          .run(() => {
            try {
              if (countJsonValues(body, this.limits.maxBodyValues) > this.limits.maxBodyValues) {
                throw new AtlasError(ErrorCodes.TOO_LARGE, `body holds more than ${this.limits.maxBodyValues} JSON values (limits.maxBodyValues)`);
              }
              apply(JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as unknown);
              reply(res, 200, {});
            } catch (error) {
              this.#refuse(res, path, error instanceof SyntaxError ? new AtlasError(ErrorCodes.BAD_REQUEST, 'body is not JSON') : error);
            }
          })
          .then(done, done);
      },
      (error: unknown) => {
        done();
        this.#refuse(res, path, error);
      },
    );
  }

  /** Answers a refusal; an error not of ours (a file system's, naming our paths) is logged whole and sent as "internal error". */
  #refuse(res: ServerResponse, path: string, error: unknown): void {
    const code = isAtlasError(error) ? error.code : ErrorCodes.INTERNAL;
    const message = error instanceof Error ? error.message : String(error);
    this.logger.warn('stacks observer: payload refused', { path, code, error: message });
    reply(res, STATUS[code] ?? 500, { error: isAtlasError(error) && code !== ErrorCodes.INTERNAL ? message : 'internal error', code });
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const unread = !res.req.complete;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(unread ? { connection: 'close' } : {}) });
  res.end(text);
  if (unread) res.once('finish', () => res.req.socket.destroySoon());
}

/**
 * The observer's allow-list as a BlockList (used as an allow-list): each entry an IPv4 or IPv6
 * address or a CIDR range ("10.0.0.0/8", "2001:db8::/32"), or "*" for any host. INVALID_OPTION
 * names an entry that is none of these (it would otherwise never match, silently).
 */
export function allowedHostList(entries: readonly string[]): BlockList | 'any' {
  const list = new BlockList();
  for (const entry of entries) {
    if (entry === '*') continue;
    const [ip, prefix, extra] = String(entry).split('/');
    const family = isIP(ip ?? '');
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits && /^\d+$/.test(prefix as string)))) {
      throw new AtlasError(ErrorCodes.INVALID_OPTION, `allowedHosts: not an IP address or CIDR range: ${JSON.stringify(String(entry).slice(0, 100))}`, { field: 'allowedHosts' });
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip as string, type);
    else list.addSubnet(ip as string, bits, type);
  }
  return entries.includes('*') ? 'any' : list;
}

/** "host:port", "[v6]:port" -> parts; BAD_REQUEST otherwise. */
export function parseHostPort(value: string): { host: string; port: number } {
  const parsed = parsePeerAddress(value);
  if (parsed?.port === undefined) throw new AtlasError(ErrorCodes.BAD_REQUEST, `not a host:port: ${JSON.stringify(value.slice(0, 100))}`);
  return { host: parsed.host, port: parsed.port };
}
