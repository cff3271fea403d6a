import type { Caller } from '../peer-address.js';

/**
 * How a node reaches other peers. A transport moves plain objects (with Uint8Array for bytes)
 * and chooses its own encoding; validation happens above it, in protocol/, for every transport.
 * Deadlines are the caller's: ProtocolClient gives every call a signal that aborts at the
 * method's deadline (a `Deadline`), or, to a transport that says it `honoursTimeout`, a signal
 * shared by many calls (its lifetime) and the deadline as `timeoutMs`. A transport keeps its own
 * limits (HttpTransport's callTimeoutMs, MemoryNetwork's defaultTimeoutMs) as a backstop.
 */
export interface CallOptions {
  /**
   * When it aborts, the call ends at once (its socket or message given up, the server's handler
   * told) and rejects with the signal's reason if that is an AtlasError (a Deadline's TIMEOUT),
   * else with ABORTED.
   */
  signal?: AbortSignal;
  /**
   * Longest this call may take, in ms, on the transport's clock: past it a transport that
   * `honoursTimeout` ends the call as it would on an abort, and rejects with TIMEOUT. Its own
   * backstop (`callTimeoutMs`, `defaultTimeoutMs`) still applies when shorter. Negative counts as
   * 0; NaN or an infinity as no limit of the call's own. Default: the backstop alone.
   */
  timeoutMs?: number;
  /**
   * Largest reply this call takes, in bytes: a longer one ends the call with BAD_REPLY as soon as
   * it passes the bound, without the rest being read. The transport's own bound
   * (`maxReplyBytes`) still applies when smaller. ProtocolClient sets it from what the method's
   * answer can be (reply-bounds.ts), so a peer cannot make a ping cost us megabytes. Default:
   * the transport's bound alone.
   */
  maxReplyBytes?: number;
}

/** What a transport tells a service about a request: who called, and an abort signal. */
export interface RequestContext {
  /**
   * The caller, what per-host limits and sender checks key on: the socket's IP and port
   * (HttpTransport), the calling node's name (MemoryTransport), or UNKNOWN_CALLER when the
   * transport cannot tell. Every transport fills it.
   */
  caller: Caller;
  /** The caller as text, for logs and events: `formatCaller(caller)`, e.g. "127.0.0.1:51234" or a node name. */
  remote: string;
  signal?: AbortSignal;
  /**
   * True when the transport admitted the request this call serves through TransportService.admit
   * (a route that is not a protocol call: its place among the requests in progress is taken): the
   * service charges the method but takes no second place. A legacy route passes it on. Such a
   * call runs within its request's place, so it is refused (ABORTED, nothing run) once `signal`
   * has aborted: the place was given back when the request's client left.
   */
  admitted?: boolean;
}

/** What a transport says of one request before any of its work (TransportService.admit). */
export interface AdmittedRequest {
  caller: Caller;
  /** True for a protocol call, which `handle` admits again by its method; false for every other route. */
  call: boolean;
  /** The body's declared length (0 without a body). */
  bodyBytes: number;
}

/** What a transport serves. `handle` throws AtlasError for refusals; the transport encodes them. */
export interface TransportService {
  /**
   * The answer to one call. Its byte strings may be sent from their own memory after `handle`
   * has returned (HttpTransport writes those of 16 KiB or more without a copy):
   * they must not change until the reply has been written.
   */
  handle(method: string, params: unknown, context: RequestContext): Promise<unknown>;
  /**
   * Admits one request before any of its work, its body included (HttpTransport calls it for
   * every routed request): throws BUSY (an AtlasError) when its caller may not be served now,
   * else answers the release, called exactly once when the request ends. `call` is true for a
   * protocol call, which `handle` admits again by its method. A node answers it with its request
   * guard (RequestGuard.admit), so plain GET routes and the legacy API spend the same per-host
   * budget as protocol calls. Default: every request admitted.
   */
  admit?(request: AdmittedRequest): () => void;
  /** One chunk's raw bytes, for plain GET routes (sent as they are: not to be changed); undefined when absent. */
  getChunk?(address: string): Uint8Array | undefined;
  /** A JSON-able summary for a status route. */
  status?(): unknown;
  /** Prometheus text exposition for a /metrics route. */
  metrics?(): Promise<string>;
}

/** Options of `Transport.listen`. */
export interface ListenOptions {
  signal?: AbortSignal;
}

/** How a node calls peers and listens for calls; `HttpTransport` and `MemoryTransport` implement it. */
export interface Transport {
  /** The address other peers reach this node at; known once listen() resolved. */
  readonly address: string | undefined;
  /**
   * Serves `service`; resolves with the address peers reach it at. `signal` gives up on a listen
   * that has not finished (a host name waits on DNS): the transport is then not listening, may
   * listen again, and the call rejects with ABORTED. A transport listens once: a second listen()
   * rejects with ALREADY_STARTED.
   */
  listen(service: TransportService, options?: ListenOptions): Promise<string>;
  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown>;
  /**
   * True when `call` ends a call at its `timeoutMs` (both transports here; a wrapper says what
   * the transport it wraps says). ProtocolClient then hands a call made with its lifetime, or
   * with no signal, that shared signal and the timeout, and makes no signal for the call; any
   * other transport gets a signal made for the call, which aborts at the deadline. Default false.
   */
  readonly honoursTimeout?: boolean;
  /**
   * True when a reply is the caller's alone once `call` resolves: nothing the transport does
   * afterwards changes the memory of its byte fields (both transports here: each reply is decoded
   * from memory of its own, or from msgpack output that is never written over). The node then
   * stores the chunks of a getChunks reply without copying them; any other transport's are
   * copied when stored. A wrapper says what the transport it wraps says. Default false.
   */
  readonly handsOverReplies?: boolean;
  /**
   * True when the transport only reads the byte fields of what its service answers, and lets go
   * of them once the answer is written (MemoryTransport encodes it at once; HttpTransport writes
   * byte strings of 16 KiB or more from their own memory, held until its socket has taken them,
   * within its unsent-bytes bounds): the node then answers getChunks with bytes it shares with its
   * chunk log's read-ahead and with the chunks it keeps of recent reads, uncopied. They must not
   * be changed or kept (a change would outlive the request, in every later answer of that chunk):
   * a transport that encrypts in place, or keeps answers, leaves this unset, and the node copies
   * every chunk it serves. Default false.
   */
  readonly readsRepliesOnce?: boolean;
  close(): Promise<void>;
  /** Counters since the transport was created (both built-in transports have them). */
  stats?(): TransportStats;
}

/** Counters of a transport: calls and bytes, in and out. */
export interface TransportStats {
  callsOut: number;
  callsIn: number;
  bytesOut: number;
  bytesIn: number;
}
