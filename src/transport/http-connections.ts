/**
 * What the HTTP server lets each remote host hold, accounted where it is spent:
 *  - connections (total by node:http's maxConnections, per host here, refused at accept);
 *  - requests in flight, counted from the request head (before any body byte is read) until the
 *    reply is done or the socket closed, whichever comes first;
 *  - reply bytes written but not yet taken by the network, per host and in total;
 *  - reply bytes sent, against each host's outbound byte budget (a token bucket in bytes);
 *  - deadlines: first byte, next request head after a reply (blank lines between requests do not
 *    count), body rate, and progress and rate of an unsent reply (a client that does not read, or
 *    reads a few bytes now and then, is dropped).
 * A host is the remote IP (an IPv6 host is its /64, an IPv4-mapped address its IPv4).
 */
import type { Socket } from 'node:net';
import { AtlasError, ErrorCodes } from '../errors.js';
import { InFlightSlots } from './in-flight.js';
import { RateLimiter, hostKey } from './rate-limit.js';
import { isLoopbackIp } from '../peer-address.js';
import { callerOf } from './http-io.js';
import { MAX_TIMER_MS, type Clock, type TimerHandle } from '../runtime.js';
import type { HttpLimits } from './http-limits.js';

/** One accepted connection. */
export interface Connection {
  readonly socket: Socket;
  readonly host: string;
  /** The per-host limits apply to this connection's host (see HttpLimits.perHostLimitsOnLoopback). */
  readonly limited: boolean;
  /** A request of this connection is being served (from its head until its reply is done). */
  serving: boolean;
  /** Requests parsed behind the one being served, started in order once its reply has left. */
  readonly waiting: (() => void)[];
  /** Body being read: when it started and how many bytes came. */
  body: { startedAt: number; received: number } | undefined;
  /** socket.bytesWritten already charged to the host's budget. */
  charged: number;
  /** Unsent bytes at the last check, and when they last went down. */
  unsentSeen: number;
  progressAt: number;
  /** Since when reply bytes have been waiting (undefined: none waits), and how many the network had taken then. */
  waitingSince: number | undefined;
  takenAtWait: number;
  /** Gives back the slot of the request being served (undefined: none holds one). */
  release: (() => void) | undefined;
  silence: TimerHandle | undefined;
  /** Since when the connection has waited for a request head (from accept or its last reply; undefined while one is served or waits). */
  idleSince: number | undefined;
}

/** Counters of the HTTP server's connections and of what it refused, from `HttpTransport.serverStats()`. */
export interface ConnectionStats {
  connections: number;
  inFlight: number;
  unsentBytes: number;
  /** Connections closed at accept because their host had maxConnectionsPerHost open. */
  refusedConnections: number;
  /** Requests answered 503 BUSY by the caps on in-flight requests, unsent bytes and byte budgets. */
  busy: number;
  /** Connections closed because a body came slower than minBodyBytesPerSecond. */
  slowBodies: number;
  /** Connections closed because their unsent reply made no progress for replyStallTimeoutMs. */
  stalledReplies: number;
  /** Connections closed because their unsent reply was taken slower than minReplyBytesPerSecond. */
  slowReplies: number;
  /** Connections closed to give their slot to a new request (shedRepliesWaitingMs). */
  shedReplies: number;
  /** Connections closed because no request head came within keepAliveTimeoutMs + headersTimeoutMs of their last reply (or of accept). */
  idleConnections: number;
}

export class ConnectionTable {
  private readonly byHost = new Map<string, Set<Connection>>();
  private readonly bySocket = new Map<Socket, Connection>();
  private readonly slots = new InFlightSlots();
  private readonly budgets: RateLimiter;
  private readonly counts = { refusedConnections: 0, busy: 0, slowBodies: 0, stalledReplies: 0, slowReplies: 0, shedReplies: 0, idleConnections: 0 };
  private sweeper: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly limits: Readonly<HttpLimits>,
    private readonly clock: Clock,
  ) {
    this.budgets = new RateLimiter(
      clock,
      { ratePerSecond: limits.replyBytesPerSecondPerHost, burst: limits.replyBurstBytesPerHost, maxKeys: limits.maxBudgetHosts },
      // A host with a reply in flight or unsent will be charged later: its bucket must still be there.
      { inUse: (host) => this.slots.of(host) > 0 || this.unsentOf(host) > 0 },
    );
  }

  /** Registers a new socket; closes it (and returns undefined) when its host has too many open. */
  accept(socket: Socket): Connection | undefined {
    const address = socket.remoteAddress ?? 'unknown';
    const host = hostKey(callerOf(socket));
    const limited = this.limits.perHostLimitsOnLoopback || !isLoopbackIp(address);
    const open = this.byHost.get(host);
    if (limited && open !== undefined && open.size >= this.limits.maxConnectionsPerHost) {
      this.counts.refusedConnections++;
      socket.destroy();
      return undefined;
    }
    const connection: Connection = { socket, host, limited, serving: false, waiting: [], body: undefined, charged: 0, unsentSeen: 0, progressAt: this.clock.now(), waitingSince: undefined, takenAtWait: 0, release: undefined, silence: undefined, idleSince: this.clock.now() };
    this.bySocket.set(socket, connection);
    if (open === undefined) this.byHost.set(host, new Set([connection]));
    else open.add(connection);
    // Node's headersTimeout starts with a request's first byte: a connection that never sends one
    // would hold its place for good. It must begin in time.
    connection.silence = this.clock.setTimeout(() => {
      connection.silence = undefined;
      if (socket.bytesRead === 0) socket.destroy();
    }, Math.min(this.limits.headersTimeoutMs, MAX_TIMER_MS));
    socket.once('close', () => this.forget(connection));
    this.scheduleSweep();
    return connection;
  }

  get(socket: Socket): Connection | undefined {
    return this.bySocket.get(socket);
  }

  /** A request head came: neither the first-byte deadline nor the idle one applies until its reply is done. */
  endSilence(connection: Connection): void {
    connection.idleSince = undefined;
    if (connection.silence === undefined) return;
    this.clock.clearTimeout(connection.silence);
    connection.silence = undefined;
  }

  /**
   * The last reply of `connection` is done and no request waits: the next request head must come
   * within keepAliveTimeoutMs + headersTimeoutMs (checked by the sweep). Node's keepAliveTimeout
   * alone restarts with any byte, and blank lines between requests never start one.
   */
  idle(connection: Connection): void {
    if (!connection.serving && connection.waiting.length === 0) connection.idleSince = this.clock.now();
  }

  /**
   * Admits one request of `connection` or throws BUSY; the returned release() must be called once
   * when the request ends (its reply done or its socket closed).
   */
  admit(connection: Connection): () => void {
    const { host, limited } = connection;
    const refuse = (message: string): never => {
      this.counts.busy++;
      throw new AtlasError(ErrorCodes.BUSY, message);
    };
    // A total reached sheds a reply waiting on a slow reader, unless this host is at its own limit.
    let unsent = this.unsentBytes();
    const full = this.slots.total >= this.limits.maxInFlight || unsent > this.limits.maxUnsentBytes;
    if (full && !(limited && this.slots.of(host) >= this.limits.maxInFlightPerHost) && this.shedWaitingReply()) unsent = this.unsentBytes();
    if (this.slots.total >= this.limits.maxInFlight) refuse('too many requests in flight');
    if (unsent > this.limits.maxUnsentBytes) refuse('too many reply bytes waiting to be sent');
    if (limited) {
      if (this.slots.of(host) >= this.limits.maxInFlightPerHost) refuse('too many requests in flight from your host');
      if (this.unsentOf(host) > this.limits.maxUnsentBytesPerHost) refuse('your host has too many reply bytes unread');
      this.settle(host);
      if (!this.budgets.hold(host)) refuse('too many hosts with an outbound byte budget in use; retry later');
      if (this.budgets.tokens(host) < 0) refuse('outbound byte budget of your host spent; retry later');
    }
    const release = this.slots.take(host);
    const done = () => {
      if (connection.release === done) connection.release = undefined;
      if (release()) this.settle(host);
    };
    connection.release = done;
    return done;
  }

  /**
   * Frees the slot of the reply that has waited longest on the network (shedRepliesWaitingMs at
   * least), from the host holding the most slots, and closes its connection; answers whether
   * there was one. Replies are only known to wait from the last sweep on.
   */
  private shedWaitingReply(): boolean {
    const now = this.clock.now();
    let victim: Connection | undefined;
    let victimSlots = 0;
    for (const connection of this.bySocket.values()) {
      const { waitingSince, release, socket } = connection;
      if (release === undefined || waitingSince === undefined || socket.destroyed || now - waitingSince < this.limits.shedRepliesWaitingMs) continue;
      const held = this.slots.of(connection.host);
      if (victim === undefined || held > victimSlots || (held === victimSlots && waitingSince < (victim.waitingSince as number))) {
        victim = connection;
        victimSlots = held;
      }
    }
    if (victim === undefined) return false;
    this.counts.shedReplies++;
    victim.release?.();
    victim.socket.destroy();
    return true;
  }

  /** Reply bytes written to `connection` and not yet taken by the network. */
  unsentOf(host: string): number {
    let total = 0;
    for (const connection of this.byHost.get(host) ?? []) if (!connection.socket.destroyed) total += connection.socket.writableLength;
    return total;
  }

  stats(): ConnectionStats {
    return { connections: this.bySocket.size, inFlight: this.slots.total, unsentBytes: this.unsentBytes(), ...this.counts };
  }

  /** Stops the sweeper and every timer; sockets are closed by the server. */
  close(): void {
    if (this.sweeper !== undefined) this.clock.clearTimeout(this.sweeper);
    this.sweeper = undefined;
    this.closed = true;
    for (const connection of this.bySocket.values()) this.endSilence(connection);
  }

  private unsentBytes(): number {
    let total = 0;
    for (const socket of this.bySocket.keys()) if (!socket.destroyed) total += socket.writableLength;
    return total;
  }

  /** Charges the host's budget with what its sockets wrote since the last settlement. */
  private settle(host: string): void {
    for (const connection of this.byHost.get(host) ?? []) this.charge(connection);
  }

  private charge(connection: Connection): void {
    if (!connection.limited) return;
    const written = connection.socket.bytesWritten;
    if (written > connection.charged) this.budgets.charge(connection.host, written - connection.charged);
    connection.charged = written;
  }

  private forget(connection: Connection): void {
    this.charge(connection);
    this.endSilence(connection);
    connection.waiting.length = 0;
    this.bySocket.delete(connection.socket);
    const open = this.byHost.get(connection.host);
    open?.delete(connection);
    if (open?.size === 0) this.byHost.delete(connection.host);
  }

  /** One sweep every timeoutCheckIntervalMs while any connection is open. */
  private scheduleSweep(): void {
    if (this.sweeper !== undefined || this.closed) return;
    this.sweeper = this.clock.setTimeout(() => {
      this.sweeper = undefined;
      this.sweep();
      if (this.bySocket.size > 0) this.scheduleSweep();
    }, this.limits.timeoutCheckIntervalMs);
  }

  /**
   * Closes connections idle past their deadline (no request head since accept or the last reply),
   * or whose body is too slow, or whose unsent reply makes no progress, or too little.
   */
  private sweep(): void {
    const now = this.clock.now();
    const { minBodyBytesPerSecond, bodyGraceMs, replyStallTimeoutMs, minReplyBytesPerSecond, replyGraceMs } = this.limits;
    // A head may start just before the keep-alive timeout and take its full headers timeout.
    const idleMs = this.limits.keepAliveTimeoutMs + Math.min(this.limits.headersTimeoutMs, this.limits.requestTimeoutMs);
    for (const connection of [...this.bySocket.values()]) {
      const { socket, body, idleSince } = connection;
      if (idleSince !== undefined && !connection.serving && now - idleSince > idleMs) {
        this.counts.idleConnections++;
        socket.destroy();
        continue;
      }
      if (body !== undefined) {
        const late = now - body.startedAt - bodyGraceMs;
        if (late > 0 && body.received < (minBodyBytesPerSecond * late) / 1000) {
          this.counts.slowBodies++;
          socket.destroy();
          continue;
        }
      }
      const unsent = pendingBytes(socket);
      if (unsent === 0 || unsent < connection.unsentSeen || connection.unsentSeen === 0) connection.progressAt = now;
      connection.unsentSeen = unsent;
      if (unsent > 0 && now - connection.progressAt > replyStallTimeoutMs) {
        this.counts.stalledReplies++;
        socket.destroy();
        continue;
      }
      // The rate is measured from when bytes began to wait, in bytes the network took since.
      const taken = socket.bytesWritten - unsent;
      if (unsent === 0) connection.waitingSince = undefined;
      else if (connection.waitingSince === undefined) {
        connection.waitingSince = now;
        connection.takenAtWait = taken;
      } else {
        const late = now - connection.waitingSince - replyGraceMs;
        if (late > 0 && taken - connection.takenAtWait < (minReplyBytesPerSecond * late) / 1000) {
          this.counts.slowReplies++;
          socket.destroy();
        }
      }
    }
  }
}

/**
 * A measure of what the socket still has to send that goes down whenever the peer reads: the
 * stream's count drops only when a whole write ends, libuv's write queue shrinks as the kernel
 * takes bytes of a large write under way.
 */
function pendingBytes(socket: Socket): number {
  const queued = (socket as unknown as { _handle?: { writeQueueSize?: unknown } })._handle?.writeQueueSize;
  return socket.writableLength + (typeof queued === 'number' ? queued : 0);
}
