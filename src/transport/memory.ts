/**
 * An in-process network for tests and the simulator. Every message is encoded with the binary
 * codec and decoded on arrival, so nodes never share objects and the bytes counted are real.
 * Time comes from the injected Clock and every random draw from the injected Random, so a run is
 * reproducible from a seed in virtual time.
 *
 * Faults: per-link latency and drop probability, partitions between groups, nodes going down and
 * up, and one-way blocks (`block(a, b)`: a cannot open calls to b, while b can still call a and
 * replies still flow), which is how NAT or star topologies are built.
 *
 * What a caller sees:
 * - target unknown, not listening, down, or its transport closed: UNREACHABLE after the link
 *   latency (a refused connection);
 * - link blocked or partitioned: UNREACHABLE after the latency, or with `cutLinks: 'drop'` the
 *   message vanishes and the call ends in TIMEOUT;
 * - request or reply dropped at random: the caller's deadline ends it (its signal: TIMEOUT from
 *   a ProtocolClient), else TIMEOUT after `defaultTimeoutMs`;
 * - target goes down or closes while handling: UNREACHABLE (connection reset);
 * - the caller's own signal: its reason when an AtlasError, else ABORTED; its own transport
 *   closing: CLOSED; going down: UNREACHABLE.
 *
 * Longer than 450 lines: the network's fault model and the call that travels through it read each
 * other's state at every step (route, latency, drops, counters); they are kept in one file so
 * that the fault rules above can be checked against one piece of code.
 */
import { AtlasError, ErrorCodes, abortedError } from '../errors.js';
import { callAbortedError, callTimeout, checkCallOptionNames, followSignal, replyBound } from './abort.js';
import type { Clock, Random, TimerHandle } from '../runtime.js';
import { checkDropRate, checkLatency, resolveMemoryNetworkOptions, type LatencySpec, type MemoryNetworkOptions } from './memory-options.js';
import { peerAddressNamed, type PeerAddress } from '../peer-address.js';
import { decodeBinary, encodeBinary, errorFromReply, errorReply } from './codec.js';
import type { CallOptions, ListenOptions, RequestContext, Transport, TransportService, TransportStats } from './types.js';

export type { LatencySpec, MemoryNetworkOptions } from './memory-options.js';

/** Messages and bytes of one protocol method on a `MemoryNetwork` node. */
export interface MethodStats {
  messagesOut: number;
  messagesIn: number;
  bytesOut: number;
  bytesIn: number;
}

/** Counters of one node. A reply counts under the method of its request. */
export interface MemoryNodeStats extends TransportStats {
  messagesOut: number;
  messagesIn: number;
  byMethod: Record<string, MethodStats>;
}

const OTHER_METHOD = '(other)';
const MAX_NAME_LENGTH = 300;

type Route = 'ok' | 'refused' | 'cut';

interface NodeState {
  up: boolean;
  transport: MemoryTransport | undefined;
  stats: MemoryNodeStats;
}

/** An in-process network for tests and the simulator: latency, loss, partitions and one-way links. */
export class MemoryNetwork {
  readonly clock: Clock;
  readonly random: Random;
  readonly defaultTimeoutMs: number;
  readonly maxRequestBytes: number;
  readonly maxReplyBytes: number;
  private readonly cutLinks: 'refuse' | 'drop';
  private readonly maxMethodsTracked: number;
  private defaultLatency: LatencySpec;
  private defaultDropRate: number;
  private readonly linkLatency = new Map<string, LatencySpec>();
  private readonly linkDropRate = new Map<string, number>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly blocked = new Set<string>();
  private partitions: { a: ReadonlySet<string>; b: ReadonlySet<string> }[] = [];

  /** Wrong options throw INVALID_OPTION naming the option (memory-options.ts). */
  constructor(options: MemoryNetworkOptions = {}) {
    const resolved = resolveMemoryNetworkOptions(options);
    this.clock = resolved.clock;
    this.random = resolved.random;
    this.defaultLatency = resolved.latencyMs;
    this.defaultDropRate = resolved.dropRate;
    this.cutLinks = resolved.cutLinks;
    this.defaultTimeoutMs = resolved.defaultTimeoutMs;
    this.maxRequestBytes = resolved.maxRequestBytes;
    this.maxReplyBytes = resolved.maxReplyBytes;
    this.maxMethodsTracked = resolved.maxMethodsTracked;
  }

  /** A node's endpoint; its address is `name`. One open transport per name at a time. */
  transport(name: string): MemoryTransport {
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new AtlasError(ErrorCodes.BAD_REQUEST, `a node name is 1 to ${MAX_NAME_LENGTH} characters`);
    }
    const state = this.node(name);
    if (state.transport !== undefined) throw new AtlasError(ErrorCodes.BAD_REQUEST, `node name in use: ${name}`);
    const transport = new MemoryTransport(this, name);
    state.transport = transport;
    return transport;
  }

  // --- faults ---------------------------------------------------------------------------------

  /** INVALID_OPTION (`latencyMs`) for a latency that is neither milliseconds (finite, >= 0) nor a function. */
  setDefaultLatency(latency: LatencySpec): void {
    this.defaultLatency = checkLatency('latencyMs', latency);
  }

  /** Latency of the link between a and b, both directions. */
  setLinkLatency(a: string, b: string, latency: LatencySpec): void {
    this.linkLatency.set(linkKey(a, b), checkLatency('latencyMs', latency));
  }

  setDefaultDropRate(rate: number): void {
    this.defaultDropRate = checkDropRate('dropRate', rate);
  }

  /** Drop probability of the link between a and b, both directions. */
  setLinkDropRate(a: string, b: string, rate: number): void {
    this.linkDropRate.set(linkKey(a, b), checkDropRate('dropRate', rate));
  }

  /** Cuts every link between a member of groupA and a member of groupB, until heal(). */
  partition(groupA: Iterable<string>, groupB: Iterable<string>): void {
    this.partitions.push({ a: new Set(groupA), b: new Set(groupB) });
  }

  /** Removes every partition (blocks stay). */
  heal(): void {
    this.partitions = [];
  }

  /** `from` can no longer open calls to `to`; `to` can still call `from`, and replies flow. */
  block(from: string, to: string): void {
    this.blocked.add(directedKey(from, to));
  }

  unblock(from: string, to: string): void {
    this.blocked.delete(directedKey(from, to));
  }

  /** Takes a node off the network: its calls in flight fail with UNREACHABLE, its handlers are aborted. */
  down(name: string): void {
    const state = this.node(name);
    if (!state.up) return;
    state.up = false;
    state.transport?.disconnect(new AtlasError(ErrorCodes.UNREACHABLE, `node ${name} went down`));
  }

  up(name: string): void {
    this.node(name).up = true;
  }

  isUp(name: string): boolean {
    return this.nodes.get(name)?.up ?? true;
  }

  /** Whether a call from `from` to `to` would be delivered now (ignoring random drops). */
  canReach(from: string, to: string): boolean {
    return this.route(from, to) === 'ok';
  }

  // --- statistics -----------------------------------------------------------------------------

  stats(name: string): MemoryNodeStats {
    const stats = this.nodes.get(name)?.stats ?? emptyStats();
    const byMethod: Record<string, MethodStats> = {};
    for (const [method, counts] of Object.entries(stats.byMethod)) byMethod[method] = { ...counts };
    return { ...stats, byMethod };
  }

  resetStats(name?: string): void {
    for (const [nodeName, state] of this.nodes) {
      if (name === undefined || name === nodeName) state.stats = emptyStats();
    }
  }

  /** Closes every open transport. */
  async close(): Promise<void> {
    const open = [...this.nodes.values()].flatMap((state) => (state.transport ? [state.transport] : []));
    await Promise.all(open.map((transport) => transport.close()));
  }

  // --- used by MemoryTransport ----------------------------------------------------------------

  /** @internal */
  route(from: string, to: string): Route {
    if (!this.isUp(from)) return 'refused';
    const target = this.nodes.get(to);
    if (target === undefined || !target.up || target.transport?.service === undefined) return 'refused';
    if ((this.blocked.size > 0 && this.blocked.has(directedKey(from, to))) || this.partitioned(from, to)) {
      return this.cutLinks === 'drop' ? 'cut' : 'refused';
    }
    return 'ok';
  }

  /** Whether a reply from `from` back to `to` gets through (partitions cut replies; blocks do not). @internal */
  replyRoute(from: string, to: string): Route {
    if (!this.isUp(from) || !this.isUp(to)) return 'refused';
    return this.partitioned(from, to) ? 'cut' : 'ok';
  }

  /** @internal */
  latency(from: string, to: string): number {
    // Per-link maps are usually empty: no key string is built for them then.
    const spec = (this.linkLatency.size > 0 ? this.linkLatency.get(linkKey(from, to)) : undefined) ?? this.defaultLatency;
    const ms = typeof spec === 'number' ? spec : spec(from, to, this.random);
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
  }

  /** Draws whether one message on this link is lost; draws nothing on a lossless link. @internal */
  drops(from: string, to: string): boolean {
    const rate = (this.linkDropRate.size > 0 ? this.linkDropRate.get(linkKey(from, to)) : undefined) ?? this.defaultDropRate;
    return rate > 0 && this.random() < rate;
  }

  /** @internal */
  transportOf(name: string): MemoryTransport | undefined {
    const state = this.nodes.get(name);
    return state?.up ? state.transport : undefined;
  }

  /** @internal */
  count(name: string, method: string, direction: 'in' | 'out', bytes: number, call: boolean, message = true): void {
    const stats = this.node(name).stats;
    let key = method;
    if (!(key in stats.byMethod) && Object.keys(stats.byMethod).length >= this.maxMethodsTracked) key = OTHER_METHOD;
    const perMethod = (stats.byMethod[key] ??= { messagesOut: 0, messagesIn: 0, bytesOut: 0, bytesIn: 0 });
    if (direction === 'out') {
      if (message) {
        stats.messagesOut++;
        perMethod.messagesOut++;
      }
      stats.bytesOut += bytes;
      perMethod.bytesOut += bytes;
      if (call) stats.callsOut++;
    } else {
      stats.messagesIn++;
      stats.bytesIn += bytes;
      perMethod.messagesIn++;
      perMethod.bytesIn += bytes;
      if (call) stats.callsIn++;
    }
  }

  /** @internal */
  released(name: string, transport: MemoryTransport): void {
    const state = this.nodes.get(name);
    if (state?.transport === transport) state.transport = undefined;
  }

  private partitioned(x: string, y: string): boolean {
    return this.partitions.length > 0 && this.partitions.some(({ a, b }) => (a.has(x) && b.has(y)) || (b.has(x) && a.has(y)));
  }

  private node(name: string): NodeState {
    let state = this.nodes.get(name);
    if (state === undefined) {
      state = { up: true, transport: undefined, stats: emptyStats() };
      this.nodes.set(name, state);
    }
    return state;
  }
}

/** One node's endpoint on a MemoryNetwork. */
export class MemoryTransport implements Transport {
  readonly name: string;
  /** @internal */
  service: TransportService | undefined;
  private readonly network: MemoryNetwork;
  private closed = false;
  private readonly outgoing = new Set<OutgoingCall>();
  private readonly handling = new Set<DeliveredRequest>();
  /** This node as a caller, parsed once rather than on every request it makes. @internal */
  readonly identity: PeerAddress;

  constructor(network: MemoryNetwork, name: string) {
    this.network = network;
    this.name = name;
    this.identity = Object.freeze(peerAddressNamed(name));
  }

  get address(): string {
    return this.name;
  }

  /** Calls end at their `timeoutMs` (or the network's defaultTimeoutMs, when shorter). */
  readonly honoursTimeout = true;

  /** Each reply is decoded from its own encoding (codec.ts: msgpack output is never written over). */
  readonly handsOverReplies = true;
  readonly readsRepliesOnce = true;

  async listen(service: TransportService, options: ListenOptions = {}): Promise<string> {
    if (this.closed) throw new AtlasError(ErrorCodes.CLOSED, 'transport is closed');
    if (options.signal?.aborted) throw abortedError('listen', options.signal);
    if (this.service !== undefined) throw new AtlasError(ErrorCodes.ALREADY_STARTED, 'transport is already listening');
    this.service = service;
    return this.name;
  }

  call(peer: string, method: string, params: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new AtlasError(ErrorCodes.CLOSED, 'transport is closed'));
    try {
      checkCallOptionNames(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (options.signal?.aborted) return Promise.reject(callAbortedError(options.signal));
    let request: Uint8Array;
    try {
      request = encodeBinary(params);
    } catch (error) {
      return Promise.reject(new AtlasError(ErrorCodes.BAD_REQUEST, 'params cannot be encoded', undefined, { cause: error }));
    }
    if (request.byteLength > this.network.maxRequestBytes) {
      return Promise.reject(
        new AtlasError(ErrorCodes.TOO_LARGE, `request of ${request.byteLength} bytes exceeds ${this.network.maxRequestBytes}`),
      );
    }
    return new Promise((resolve, reject) => {
      const call = new OutgoingCall(this.network, this, peer, method, options, resolve, reject);
      this.outgoing.add(call);
      call.send(request);
    });
  }

  stats(): MemoryNodeStats {
    return this.network.stats(this.name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.service = undefined;
    this.disconnect(new AtlasError(ErrorCodes.CLOSED, 'transport is closed'));
    this.network.released(this.name, this);
  }

  /** Fails calls in flight and aborts handlers, e.g. when the node goes down. @internal */
  disconnect(reason: AtlasError): void {
    for (const call of [...this.outgoing]) call.fail(reason);
    for (const request of [...this.handling]) request.cutOff(reason);
    this.handling.clear();
  }

  /** @internal */
  forget(call: OutgoingCall): void {
    this.outgoing.delete(call);
  }

  /** Runs the service on a delivered request; resolves to the reply, or undefined if the handler was cut off. @internal */
  async serve(method: string, request: Uint8Array, context: DeliveredRequest): Promise<{ ok: boolean; value: unknown } | undefined> {
    const service = this.service;
    if (service === undefined) return undefined;
    this.handling.add(context);
    try {
      const params = decodeBinary(request, { maxBytes: this.network.maxRequestBytes });
      const value = await service.handle(method, params, context);
      return { ok: true, value };
    } catch (error) {
      return { ok: false, value: errorReply(error) };
    } finally {
      this.handling.delete(context);
    }
  }
}

/**
 * What a handler is told about one delivered request. Its abort signal is made the first time a
 * handler reads it (already aborted if the request was cut off by then): most handlers never
 * look, and an AbortController with its signal for every request was a few percent of an idle
 * simulation's time.
 */
class DeliveredRequest implements RequestContext {
  readonly remote: string;
  readonly caller: PeerAddress;
  #controller: AbortController | undefined;
  #cut = false;
  #reason: unknown;

  constructor(from: MemoryTransport) {
    this.remote = from.name;
    this.caller = from.identity;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#cut) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** True once the caller left or the serving node went down or closed. */
  get isCutOff(): boolean {
    return this.#cut;
  }

  /** The caller left, or the serving node went down or closed: the handler's signal aborts. */
  cutOff(reason: unknown): void {
    if (this.#cut) return;
    this.#cut = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** What happens when the message (or refusal) on its way arrives; a call has one at a time. */
type Step = 'refused' | 'deliver' | 'reset' | 'receive';

/** One call from `caller` to `peer`, from send to settlement. */
class OutgoingCall {
  private settled = false;
  private deadline: TimerHandle | undefined;
  /** The one step in flight (a message on its way, or a refusal coming back), and what it carries. */
  private step: TimerHandle | undefined;
  private stepKind: Step = 'refused';
  private stepBytes: Uint8Array | undefined;
  private replyOk = false;
  private readonly onStep = (): void => this.arrive();
  /** The request as its handler sees it, once delivered. */
  private delivered: DeliveredRequest | undefined;
  private readonly unfollow: (() => void) | undefined;
  /** The network's bound, or the call's own when smaller (CallOptions.maxReplyBytes). */
  private readonly maxReplyBytes: number;

  constructor(
    private readonly network: MemoryNetwork,
    private readonly caller: MemoryTransport,
    private readonly peer: string,
    private readonly method: string,
    options: CallOptions,
    private readonly resolve: (value: unknown) => void,
    private readonly reject: (error: AtlasError) => void,
  ) {
    this.maxReplyBytes = replyBound(network.maxReplyBytes, options.maxReplyBytes);
    const signal = options.signal;
    // Followed rather than listened to: many calls share one signal (a node's lifetime).
    this.unfollow = signal === undefined ? undefined : followSignal(signal, () => this.fail(callAbortedError(signal)));
    const timeoutMs = callTimeout(network.defaultTimeoutMs, options.timeoutMs);
    // Infinity means no deadline; anything else is capped at what a timer can hold.
    if (Number.isFinite(timeoutMs)) {
      // The error is built only when the deadline passes: most calls settle first, and building
      // an Error (its stack trace) for each of them was a tenth of a simulation's time.
      this.deadline = network.clock.setTimeout(() => {
        this.deadline = undefined;
        this.fail(new AtlasError(ErrorCodes.TIMEOUT, `${method} to ${peer} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    }
  }

  send(request: Uint8Array): void {
    const from = this.caller.name;
    const route = this.network.route(from, this.peer);
    if (route === 'refused') {
      // A refused connection carries no payload; the refusal comes back after one link latency.
      this.network.count(from, this.method, 'out', 0, true, false);
      this.after(this.network.latency(from, this.peer), 'refused');
      return;
    }
    this.network.count(from, this.method, 'out', request.byteLength, true);
    if (route === 'cut' || this.network.drops(from, this.peer)) return; // the deadline settles it
    this.after(this.network.latency(from, this.peer), 'deliver', request);
  }

  fail(error: AtlasError): void {
    if (this.settle()) {
      this.delivered?.cutOff(error);
      this.reject(error);
    }
  }

  private deliver(request: Uint8Array): void {
    const from = this.caller.name;
    const route = this.network.route(from, this.peer);
    if (route === 'cut') return;
    const target = this.network.transportOf(this.peer);
    if (route === 'refused' || target === undefined) {
      this.fail(this.unreachable());
      return;
    }
    this.network.count(this.peer, this.method, 'in', request.byteLength, true);
    this.delivered = new DeliveredRequest(this.caller);
    void target.serve(this.method, request, this.delivered).then((reply) => this.reply(reply));
  }

  private reply(reply: { ok: boolean; value: unknown } | undefined): void {
    if (this.settled) return;
    const from = this.caller.name;
    if (reply === undefined || this.delivered?.isCutOff === true || this.network.transportOf(this.peer) === undefined) {
      // The peer went down or closed while handling: the connection is reset.
      this.after(this.network.latency(this.peer, from), 'reset');
      return;
    }
    let ok = reply.ok;
    let bytes: Uint8Array;
    try {
      bytes = encodeBinary(reply.value);
    } catch {
      ok = false;
      bytes = encodeBinary(errorReply(new AtlasError(ErrorCodes.INTERNAL, 'reply cannot be encoded')));
    }
    this.network.count(this.peer, this.method, 'out', bytes.byteLength, false);
    if (this.network.replyRoute(this.peer, from) !== 'ok' || this.network.drops(this.peer, from)) return;
    this.replyOk = ok;
    this.after(this.network.latency(this.peer, from), 'receive', bytes);
  }

  private receive(ok: boolean, bytes: Uint8Array): void {
    if (this.settled) return;
    if (this.network.replyRoute(this.peer, this.caller.name) === 'cut') return; // partitioned in flight: lost
    this.network.count(this.caller.name, this.method, 'in', bytes.byteLength, false);
    if (bytes.byteLength > this.maxReplyBytes) {
      this.fail(new AtlasError(ErrorCodes.BAD_REPLY, `${this.method} reply of ${bytes.byteLength} bytes exceeds ${this.maxReplyBytes}`));
      return;
    }
    let value: unknown;
    try {
      value = decodeBinary(bytes, { maxBytes: this.maxReplyBytes });
    } catch (error) {
      this.fail(new AtlasError(ErrorCodes.BAD_REPLY, 'malformed reply', undefined, { cause: error }));
      return;
    }
    if (ok) {
      if (this.settle()) this.resolve(value);
    } else {
      this.fail(errorFromReply(value));
    }
  }

  private unreachable(): AtlasError {
    return new AtlasError(ErrorCodes.UNREACHABLE, `${this.peer} is unreachable from ${this.caller.name}`);
  }

  /** Schedules the next step; the steps of a call are sequential, so one is in flight at most. */
  private after(ms: number, kind: Step, bytes?: Uint8Array): void {
    this.stepKind = kind;
    this.stepBytes = bytes;
    this.step = this.network.clock.setTimeout(this.onStep, ms);
  }

  private arrive(): void {
    this.step = undefined;
    const bytes = this.stepBytes as Uint8Array;
    this.stepBytes = undefined;
    if (this.settled) return;
    switch (this.stepKind) {
      case 'refused':
        return this.fail(this.unreachable());
      case 'deliver':
        return this.deliver(bytes);
      case 'reset':
        return this.fail(new AtlasError(ErrorCodes.UNREACHABLE, `${this.peer} dropped the connection`));
      case 'receive':
        return this.receive(this.replyOk, bytes);
    }
  }

  /** Marks the call settled and releases its timers and listeners; false if it already was. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.deadline !== undefined) this.network.clock.clearTimeout(this.deadline);
    if (this.step !== undefined) this.network.clock.clearTimeout(this.step);
    this.deadline = undefined;
    this.step = undefined;
    this.stepBytes = undefined;
    this.unfollow?.();
    this.caller.forget(this);
    return true;
  }
}

function emptyStats(): MemoryNodeStats {
  return { callsOut: 0, callsIn: 0, bytesOut: 0, bytesIn: 0, messagesOut: 0, messagesIn: 0, byMethod: {} };
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

function directedKey(from: string, to: string): string {
  return `${from}\u0000${to}`;
}
