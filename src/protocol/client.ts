/**
 * The calling side of the protocol: one typed method per wire method, each with its SPEC §7
 * timeout, each checking what it sends (so a bug here never reaches a peer) and what comes back
 * (a peer may lie) with the same validation layer the server uses. Rejects only with AtlasError.
 *
 * Deadlines and aborts live here, for every transport: each call ends with the caller's signal,
 * the client's lifetime signal (a node's, when it closes) or the method's deadline on the injected
 * clock (virtual time in the simulator), whichever comes first, and its outcome is named in one
 * place: TIMEOUT for the deadline, ABORTED for the caller. A transport that honours `timeoutMs`
 * is handed the lifetime and the timeout for a call that follows nothing else; any other call,
 * or any other transport, gets one signal made for it that aborts on all three.
 */
import { AtlasError, ErrorCodes, InvalidOptionError, abortedError, isAtlasError } from '../errors.js';
import { systemClock, type Clock } from '../runtime.js';
import { checkOptionNames, clockOption, component, describe, overlayChecked, POSITIVE_FINITE, signalOption } from '../options-overlay.js';
import type { CallOptions, Transport } from '../transport/types.js';
import { Deadline } from './deadline.js';
import { followSignal } from '../transport/abort.js';
import { resolveLimits, type ProtocolLimits } from './limits.js';
import type {
  GetChunksParams,
  GetChunksResult,
  InventoryChangesParams,
  InventoryChangesResult,
  InventoryParams,
  InventoryResult,
  Method,
  OfferParams,
  OfferResult,
  ParamsOf,
  PeersParams,
  PeersResult,
  PingParams,
  PingResult,
  PutChunksParams,
  PutChunksResult,
  ResultOf,
} from './messages.js';
import { METHODS } from './messages.js';
import { isCheckedAddresses, packedFormOf } from './checked-addresses.js';
import { packAddresses } from './get-chunks.js';
import { maxReplyBytesOf } from './reply-bounds.js';
import { validateParams, validateResult } from './validate.js';

/** Call deadlines in milliseconds, by kind of call. */
export interface ProtocolTimeouts {
  ping: number;
  /** inventory, inventoryChanges and offer */
  inventory: number;
  peers: number;
  /** getChunks and putChunks */
  chunks: number;
}

/** SPEC §7: 3 s, 10 s, 10 s, 30 s. */
export const DEFAULT_TIMEOUTS: Readonly<ProtocolTimeouts> = Object.freeze({ ping: 3_000, inventory: 10_000, peers: 10_000, chunks: 30_000 });

/** Options of `ProtocolClient`. */
export interface ProtocolClientOptions {
  limits?: Partial<ProtocolLimits>;
  timeouts?: Partial<ProtocolTimeouts>;
  /** What deadlines are measured on; default the system clock (the simulator gives its virtual clock). */
  clock?: Clock;
  /**
   * The owner's lifetime (a node's, aborted when it closes): once it aborts, every call in flight
   * ends at once with ABORTED (its reason as the cause) and new calls fail with ABORTED. Every
   * call follows it through one shared listener, put on it by the first call and left there until
   * it aborts: one listener however many calls, none added or removed per call. Default: none.
   */
  signal?: AbortSignal;
}

/** Options of one `ProtocolClient` call: timeout and abort signal. */
export interface ClientCallOptions {
  /** Aborting it ends the call at once with ABORTED. */
  signal?: AbortSignal;
  /** Overrides the method's default timeout for this call; past it the call ends with TIMEOUT. */
  timeoutMs?: number;
}

/** Options of one getChunks call. */
export interface GetChunksCallOptions extends ClientCallOptions {
  /**
   * Send the addresses packed (20 bytes each) instead of as hex strings: only to a peer whose
   * inventory replies said `packedAddresses: true`, since an older peer refuses them. Default false.
   */
  packed?: boolean;
}

const CLIENT_OPTION_NAMES: Record<keyof ProtocolClientOptions, true> = { limits: true, timeouts: true, clock: true, signal: true };

/**
 * A call's options as the caller gave them: INVALID_OPTION for a signal that is not an
 * AbortSignal, or a timeoutMs that is not a finite number >= 0 (NaN or Infinity would drop the
 * method's deadline without a word). The keys are not checked: a call's options are spread from
 * wider objects (the getChunks options), and a check of every key on every call would cost the
 * download path.
 */
function checkCallOptions(options: ClientCallOptions): void {
  const { signal, timeoutMs } = options;
  signalOption(signal);
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new InvalidOptionError('timeoutMs', `expected a finite number of milliseconds >= 0, got ${describe(timeoutMs)}`);
  }
}

const timeoutKind: { [M in Method]: keyof ProtocolTimeouts } = {
  ping: 'ping',
  peers: 'peers',
  inventory: 'inventory',
  inventoryChanges: 'inventory',
  getChunks: 'chunks',
  putChunks: 'chunks',
  offer: 'inventory',
};

/** A client whose calls end when its part of the owner stops (see `ProtocolClient.scope`). */
export interface ClientScope {
  /** Calls the same peers through the same transport, limits and timeouts. */
  readonly client: ProtocolClient;
  /** The scope's lifetime: aborted by `abort()`, or when the parent client's lifetime aborts. */
  readonly signal: AbortSignal;
  /** Ends every call of the scope in flight at once (ABORTED, `reason` as the cause); later calls fail. Idempotent. */
  abort(reason?: unknown): void;
}

/** Calls the protocol methods on remote peers through a transport, validating every answer. */
export class ProtocolClient {
  readonly limits: Readonly<ProtocolLimits>;
  readonly timeouts: Readonly<ProtocolTimeouts>;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly lifetime: AbortSignal | undefined;
  /** The transport ends calls at their `timeoutMs`: a call following only the lifetime needs no signal of its own. */
  private readonly sharesSignals: boolean;
  /** The transport hands each reply over (Transport.handsOverReplies): its bytes are the caller's alone. */
  readonly handsOverReplies: boolean;
  /** Each method's reply bound under our limits (maxReplyBytesOf), worked out once. */
  private readonly replyBounds: Readonly<Record<Method, number | undefined>>;

  /** INVALID_OPTION for a transport without call(), a misspelt option, or a limit, timeout, clock or signal that is not one. */
  constructor(transport: Transport, options: ProtocolClientOptions = {}) {
    component('transport', transport, ['call'], 'a Transport');
    checkOptionNames<ProtocolClientOptions>(options, CLIENT_OPTION_NAMES, 'ProtocolClient');
    clockOption(options.clock);
    signalOption(options.signal);
    this.transport = transport;
    this.clock = options.clock ?? systemClock;
    this.lifetime = options.signal;
    this.sharesSignals = transport.honoursTimeout === true;
    this.handsOverReplies = transport.handsOverReplies === true;
    this.limits = resolveLimits(options.limits);
    this.replyBounds = Object.fromEntries(METHODS.map((method) => [method, maxReplyBytesOf(method, this.limits)])) as Record<Method, number | undefined>;
    this.timeouts = overlayChecked('timeouts', DEFAULT_TIMEOUTS, options.timeouts, POSITIVE_FINITE);
  }

  /**
   * A client for a part of the owner that stops before the owner does (a node's replicator):
   * its calls end when the scope is aborted or when this client's lifetime aborts, and, made with
   * the scope's signal or none, they share that signal in the transport like this client's calls
   * share its lifetime (a call given a signal of its own gets one made for it, following both).
   * Until it is aborted a scope is one callback on this client's lifetime: abort it when its
   * part stops (the owner's abort releases every scope too).
   */
  scope(): ClientScope {
    const controller = new AbortController();
    const parent = this.lifetime;
    let unfollow: (() => void) | undefined;
    if (parent?.aborted) controller.abort(parent.reason);
    else if (parent !== undefined) unfollow = followSignal(parent, () => controller.abort(parent.reason));
    const client = new ProtocolClient(this.transport, { limits: this.limits, timeouts: this.timeouts, clock: this.clock, signal: controller.signal });
    return {
      client,
      signal: controller.signal,
      abort: (reason?: unknown) => {
        unfollow?.();
        controller.abort(reason);
      },
    };
  }

  ping(peer: string, params: PingParams, options?: ClientCallOptions): Promise<PingResult> {
    return this.call(peer, 'ping', params, options);
  }

  peers(peer: string, params: PeersParams = {}, options?: ClientCallOptions): Promise<PeersResult> {
    return this.call(peer, 'peers', params, options);
  }

  inventory(peer: string, params: InventoryParams, options?: ClientCallOptions): Promise<InventoryResult> {
    return this.call(peer, 'inventory', params, options);
  }

  inventoryChanges(peer: string, params: InventoryChangesParams, options?: ClientCallOptions): Promise<InventoryChangesResult> {
    return this.call(peer, 'inventoryChanges', params, options);
  }

  /**
   * Addresses are sent lower-cased and de-duplicated; the reply may only name those. Asks for the
   * in-order reply unless `params.inOrder` is false (get-chunks.ts); either form comes back as
   * the listed one.
   */
  getChunks(peer: string, params: GetChunksParams, options?: GetChunksCallOptions): Promise<GetChunksResult> {
    const { packed, ...callOptions } = options ?? {};
    const encode = packed === true ? (request: GetChunksParams) => ({ ...request, addresses: packedFormOf(request.addresses) ?? packAddresses(request.addresses) }) : undefined;
    const request: GetChunksParams = params.inOrder === false ? { addresses: params.addresses } : { addresses: params.addresses, inOrder: true };
    // The library's own downloads vouch for their addresses (checked-addresses.ts): only their number is checked.
    const checked = isCheckedAddresses(params.addresses) && params.addresses.length <= this.limits.maxGetAddresses;
    return this.#send(peer, 'getChunks', request, callOptions, encode, checked);
  }

  putChunks(peer: string, params: PutChunksParams, options?: ClientCallOptions): Promise<PutChunksResult> {
    return this.call(peer, 'putChunks', params, options);
  }

  /** "I now hold these positions": the peer answers how many it lacks and will fetch from us. */
  offer(peer: string, params: OfferParams, options?: ClientCallOptions): Promise<OfferResult> {
    return this.call(peer, 'offer', params, options);
  }

  /**
   * One validated call. Rejects with the request's own error (BAD_REQUEST, TOO_MANY...) before
   * sending anything; with TIMEOUT once its deadline passes and ABORTED once `signal` (or the
   * client's own lifetime signal) aborts, whether or not the transport has noticed; with the transport's error (UNREACHABLE, CLOSED, or
   * the peer's refusal); or with BAD_REPLY when the reply breaks the protocol.
   */
  call<M extends Method>(peer: string, method: M, params: ParamsOf<M>, options: ClientCallOptions = {}): Promise<ResultOf<M>> {
    return this.#send(peer, method, params, options);
  }

  /** `call`, with the validated request put in another wire form by `encode` (it means the same); `checked`: `params` needs no validation. */
  async #send<M extends Method>(
    peer: string,
    method: M,
    params: ParamsOf<M>,
    options: ClientCallOptions,
    encode?: (request: ParamsOf<M>) => unknown,
    checked = false,
  ): Promise<ResultOf<M>> {
    const request = checked ? params : validateParams(method, params, this.limits);
    checkCallOptions(options);
    if (options.signal?.aborted) throw abortedError('call', options.signal);
    if (this.lifetime?.aborted) throw abortedError('call', this.lifetime);
    const timeoutMs = options.timeoutMs ?? this.timeouts[timeoutKind[method]];
    const deadline = new Deadline(this.clock, timeoutMs, {
      signal: options.signal,
      base: this.lifetime,
      reason: () => new AtlasError(ErrorCodes.TIMEOUT, `${method} to ${peer.slice(0, 100)} timed out after ${timeoutMs} ms`),
    });
    // A call following only the lifetime (most calls) hands a transport that honours timeoutMs
    // that shared signal and the timeout: no signal made for it. A caller's own signal needs one
    // that follows both, and a transport that only honours signals needs one that aborts in time.
    const shared = this.sharesSignals && (options.signal === undefined || options.signal === this.lifetime);
    const signal = shared ? this.lifetime : deadline.signal;
    const maxReplyBytes = this.replyBounds[method];
    const callOptions: CallOptions = signal === undefined ? { timeoutMs, maxReplyBytes } : { signal, timeoutMs, maxReplyBytes };
    let reply: unknown;
    try {
      reply = await deadline.race(this.transport.call(peer, method, encode === undefined ? request : encode(request), callOptions));
    } catch (error) {
      const outcome = deadline.outcome(error);
      if (isAtlasError(outcome)) throw outcome;
      throw new AtlasError(ErrorCodes.UNREACHABLE, `call to ${peer.slice(0, 100)} failed`, { peer, method }, { cause: outcome });
    } finally {
      deadline.dispose();
    }
    return validateResult(method, reply, this.limits, request);
  }
}
