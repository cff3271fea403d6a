import type { Caller } from '../peer-address.js';

/**
 * How a node reaches other peers. A transport moves plain objects (with Uint8Array for bytes)
 * and chooses its own encoding; validation happens above it, in protocol/, for every transport.
 * Deadlines are the caller's: ProtocolClient gives every call a signal that aborts at the
 * method's deadline (a `Deadline`); a transport only honours the signal, and keeps its own
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
   * Longest this call may take, in ms: past it the transport ends the call as it would on an
   * abort, and rejects with TIMEOUT. ProtocolClient passes each method's timeout here together
   * with a signal shared by many calls (its lifetime), rather than a signal made for each call.
   * A transport's own backstop (`callTimeoutMs`, `defaultTimeoutMs`) still applies when shorter.
   * Default: the backstop alone.
   */
  timeoutMs?: number;
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
}

/** What a transport serves. `handle` throws AtlasError for refusals; the transport encodes them. */
export interface TransportService {
  handle(method: string, params: unknown, context: RequestContext): Promise<unknown>;
  /** One chunk's raw bytes, for plain GET routes; undefined when absent. */
  getChunk?(address: string): Uint8Array | undefined;
  /** A JSON-able summary for a status route. */
  status?(): unknown;
  /** Prometheus text exposition for a /metrics route. */
  metrics?(): Promise<string>;
}

/** How a node calls peers and listens for calls; `HttpTransport` and `MemoryTransport` implement it. */
export interface Transport {
  /** The address other peers reach this node at; known once listen() resolved. */
  readonly address: string | undefined;
  listen(service: TransportService): Promise<string>;
  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown>;
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
