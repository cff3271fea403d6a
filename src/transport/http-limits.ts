import { DEFAULT_MIN_BODY_PIECE_BYTES } from '../http-body.js';
import { overlayChecked, POSITIVE_FINITE, POSITIVE_INTEGER } from '../options-overlay.js';
import { DEFAULT_MAX_VALUES } from './codec.js';

/**
 * Every bound HttpTransport puts on what a remote party can make it hold, named, with defaults.
 * README "Security" says which attack each one answers.
 */
export interface HttpLimits {
  /** Largest request body the server reads (413 TOO_LARGE beyond); the client refuses to send more. */
  maxRequestBytes: number;
  /** Largest reply body the client reads (BAD_REPLY beyond). */
  maxReplyBytes: number;
  /** Largest request head (request line and headers); 431 beyond. */
  maxHeaderBytes: number;
  /** Time a client has to send the request head, first byte included (408 or close beyond). */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request, head and body (408 and close beyond). */
  requestTimeoutMs: number;
  /** A body must arrive at this rate at least, once bodyGraceMs have passed (the socket is closed otherwise). */
  minBodyBytesPerSecond: number;
  /** Time a body may take before minBodyBytesPerSecond applies. */
  bodyGraceMs: number;
  /** How often the server checks the deadlines above and the reply stalls below. */
  timeoutCheckIntervalMs: number;
  /** How long the server keeps an idle keep-alive connection. */
  keepAliveTimeoutMs: number;
  /** Open connections the server accepts; further ones are closed at once. */
  maxConnections: number;
  /** Open connections from one host (an IPv6 host is its /64); further ones are closed at once. */
  maxConnectionsPerHost: number;
  /** Requests being handled at once, counted from their head (before the body); further ones get 503 BUSY. */
  maxInFlight: number;
  /** Requests being handled at once for one host; further ones get 503 BUSY. */
  maxInFlightPerHost: number;
  /** Requests parsed and waiting behind an unfinished reply on one connection; the connection is closed beyond. */
  maxPipelinedPerConnection: number;
  /** Reply bytes written but not yet taken by the network, all connections together; 503 BUSY beyond. */
  maxUnsentBytes: number;
  /** Reply bytes written but not yet taken by the network, for one host's connections; 503 BUSY for that host beyond. */
  maxUnsentBytesPerHost: number;
  /** A connection whose unsent reply makes no progress for this long is closed (a client that does not read). */
  replyStallTimeoutMs: number;
  /**
   * A reply waiting to be sent must be taken by the network at this rate at least, once
   * replyGraceMs have passed since it began to wait (the socket is closed otherwise): a client
   * that reads a few bytes now and then would hold its request slot and unsent bytes for good.
   */
  minReplyBytesPerSecond: number;
  /** Time a waiting reply may take before minReplyBytesPerSecond applies. */
  replyGraceMs: number;
  /**
   * When every request slot is taken, or the unsent bytes reach maxUnsentBytes, a new request
   * takes the slot of the reply that has waited longest on the network (this long at least),
   * from the host holding the most slots, whose connection is closed; only without such a reply
   * is the new request refused with 503 BUSY. Readers slow enough to hold every slot, but not
   * slow enough for minReplyBytesPerSecond, cannot keep other callers out.
   */
  shedRepliesWaitingMs: number;
  /** Outbound byte budget of one host: reply bytes it earns per second. */
  replyBytesPerSecondPerHost: number;
  /** Outbound byte budget of one host: reply bytes it may save up. A host in debt gets 503 BUSY. */
  replyBurstBytesPerHost: number;
  /** Hosts whose outbound budget is remembered (least recently seen forgotten first). */
  maxBudgetHosts: number;
  /**
   * Apply the per-host limits (connections, in flight, unsent bytes, byte budget; the client's
   * maxSocketsPerHost) to loopback callers (and loopback peers called) too. Default false: a loopback caller is this machine (a local cluster, a reverse
   * proxy in front of the node), which no remote party can pose as; the totals still apply.
   * Tests and benchmarks that play several hosts on 127.x set it.
   */
  perHostLimitsOnLoopback: boolean;
  /** Time a handler gets before its signal is aborted and the caller gets 504 TIMEOUT (and the connection closes). */
  handlerTimeoutMs: number;
  /** Seconds sent in Retry-After with 503 BUSY. */
  busyRetryAfterSeconds: number;
  /** Nesting depth accepted when decoding a body. */
  maxDepth: number;
  /**
   * Values accepted in one decoded body, a request or a reply (codec.ts DecodeLimits.maxValues:
   * every array, object, key, string, number and byte string; TOO_LARGE beyond, a reply's
   * BAD_REPLY), counted before anything is built. Raise it with limits.maxGetAddresses past 5,000.
   */
  maxValues: number;
  /**
   * A body, request or reply, that has come in more than 64 pieces must average this many bytes
   * a piece at least (BAD_REQUEST, a reply's BAD_REPLY, and the connection closed beyond): each
   * piece costs node:http's parser and streams a few microseconds, and a sender of 1-byte chunks
   * made us spend 2 s of CPU on a 1 MiB body. 0 turns the check off.
   */
  minBodyPieceBytes: number;
  /** Client: longest any call may take, whatever its signal (the caller's own deadline comes as the signal; see ProtocolClient). */
  callTimeoutMs: number;
  /** Client: sockets open to one peer ("host:port") at once (further calls wait for one). */
  maxSocketsPerPeer: number;
  /**
   * Client: sockets open to one host at once, all its ports together (an IPv6 host is its /64;
   * further calls to it wait for one, their deadline running). Hosts that accept a connection and
   * then stall (never answer, or trickle a body) behind many ports held all maxTotalSockets, and
   * every call to an honest peer waited until its deadline; now it takes 256 / 8 = 32 such hosts.
   * Loopback targets only with perHostLimitsOnLoopback.
   */
  maxSocketsPerHost: number;
  /** Client: idle keep-alive sockets kept per peer. */
  maxFreeSocketsPerPeer: number;
  /** Client: sockets open to all peers together. */
  maxTotalSockets: number;
  /** Client: an idle keep-alive socket is closed after this; below the server's keepAliveTimeoutMs. */
  clientIdleTimeoutMs: number;
}

const MIB = 1024 * 1024;

/** Defaults of HttpLimits, used for every limit not given in `HttpTransportOptions.limits`. */
export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxRequestBytes: MIB,
  maxReplyBytes: 8 * MIB,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  minBodyBytesPerSecond: 4_096,
  bodyGraceMs: 5_000,
  timeoutCheckIntervalMs: 1_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 256,
  maxConnectionsPerHost: 16,
  maxInFlight: 64,
  maxInFlightPerHost: 4,
  maxPipelinedPerConnection: 16,
  maxUnsentBytes: 64 * MIB,
  maxUnsentBytesPerHost: 8 * MIB,
  replyStallTimeoutMs: 10_000,
  minReplyBytesPerSecond: 16 * 1024,
  replyGraceMs: 5_000,
  shedRepliesWaitingMs: 1_000,
  replyBytesPerSecondPerHost: 8 * MIB,
  replyBurstBytesPerHost: 16 * MIB,
  maxBudgetHosts: 4_096,
  perHostLimitsOnLoopback: false,
  handlerTimeoutMs: 30_000,
  busyRetryAfterSeconds: 1,
  maxDepth: 32,
  maxValues: DEFAULT_MAX_VALUES,
  minBodyPieceBytes: DEFAULT_MIN_BODY_PIECE_BYTES,
  callTimeoutMs: 30_000,
  maxSocketsPerPeer: 4,
  maxSocketsPerHost: 8,
  maxFreeSocketsPerPeer: 2,
  maxTotalSockets: 256,
  clientIdleTimeoutMs: 4_000,
});

/** May be 0 (no grace); every other numeric limit must be a positive finite number. */
const MAY_BE_ZERO: ReadonlySet<keyof HttpLimits> = new Set(['bodyGraceMs', 'replyGraceMs', 'minBodyPieceBytes']);
/** Counts of things, whole numbers > 0 (a cap of 2.5 sockets has no meaning). */
const COUNTS: ReadonlySet<keyof HttpLimits> = new Set(['maxSocketsPerHost']);

/**
 * The defaults overridden by `overrides`; INVALID_OPTION (`limits.<name>`) on a name HttpLimits
 * does not have, a switch that is not a boolean, or a limit that is not a positive finite number
 * (0 or NaN would silently turn a guard off: a request timeout of 0 is no timeout), or for
 * maxSocketsPerHost not a positive integer.
 */
export function resolveHttpLimits(overrides: Partial<HttpLimits> = {}): Readonly<HttpLimits> {
  return overlayChecked('limits', DEFAULT_HTTP_LIMITS, overrides, (name, value) =>
    MAY_BE_ZERO.has(name as keyof HttpLimits)
      ? Number.isFinite(value) && value >= 0
        ? undefined
        : 'a finite number >= 0'
      : COUNTS.has(name as keyof HttpLimits)
        ? POSITIVE_INTEGER(name, value)
        : POSITIVE_FINITE(name, value),
  );
}
