/**
 * Load shedding in front of a node's protocol handler, whatever the transport: a request is
 * refused at once with BUSY, before any work, when
 *  - the node already handles `maxConcurrent` requests (all callers together), or
 *  - its caller's host already has `maxConcurrentPerHost` of them, or
 *  - its caller's host has spent its token bucket (transport/rate-limit.ts).
 * So an overloaded node answers "busy, retry later" instead of queueing without bound, and one
 * flooding host cannot take the capacity every other caller needs.
 */
import { AtlasError, ErrorCodes, abortedError } from '../errors.js';
import { numberRule, overlayChecked, type OverlayRules } from '../options-overlay.js';
import type { Clock } from '../runtime.js';
import type { AdmittedRequest, RequestContext } from '../transport/types.js';
import { InFlightSlots } from '../transport/in-flight.js';
import { DEFAULT_RATE_LIMIT, RateLimiter, hostKey, type RateLimitOptions } from '../transport/rate-limit.js';
import type { Caller } from '../peer-address.js';
import { positionCount } from '../inventory/varint.js';
import { requestedAddressCount } from './get-chunks.js';
import { METHODS } from './messages.js';
import type { ProtocolHandler } from './server.js';

/** The bounds a `RequestGuard` enforces. */
export interface RequestLimits extends RateLimitOptions {
  /** Requests handled at once, all callers together. */
  maxConcurrent: number;
  /** Requests handled at once for one remote host. */
  maxConcurrentPerHost: number;
  /** Tokens a request of each protocol method spends (default 1 each; a name that is no method is refused as an unknown option). */
  methodCost: Readonly<Record<string, number>>;
  /**
   * A getChunks request spends its method cost once per this many addresses asked (rounded up):
   * a caller asking many addresses at once pays for the lookups it causes, and one asking few
   * pays no more than before. An inventoryChanges request pays the same per position its reply
   * will list (RequestPricing.changesAnswered): a 60-byte request asking for 65,536 changes
   * costs a sort of them, and 656 tokens (at most the burst) instead of 1. An offer pays the same
   * per position it names (offeredPositions): each is decoded, checked against our inventory and
   * marked in the sender's view, and 65,536 of them in a 64 KiB body cost 656 tokens, not 2.
   */
  addressesPerToken: number;
  /**
   * A request body spends one token per this many bytes of its declared length (rounded down),
   * charged before it is read: decoding a body costs CPU in its size, and a body that fails to
   * decode never reaches the method's own charge. A body under this size spends nothing more.
   */
  bodyBytesPerToken: number;
  /**
   * An inventory request spends its method cost once per this many bytes of the vector it will
   * be answered (RequestPricing.inventoryBytesAnswered; rounded up): the reply is built from our
   * whole bitmap, 19-34 ms for 512 KiB of a 4,194,304-position vector when it changed since the
   * last read, and costs 128 tokens instead of 1.
   */
  inventoryBytesPerToken: number;
}

/** Default per-host and total bounds on requests being served. */
export const DEFAULT_REQUEST_LIMITS: Readonly<RequestLimits> = Object.freeze({
  ...DEFAULT_RATE_LIMIT,
  maxConcurrent: 64,
  maxConcurrentPerHost: 16,
  // Every method named, so that a misspelt one is an unknown option rather than a cost that is never charged.
  methodCost: Object.freeze(Object.fromEntries(METHODS.map((method) => [method, 1]))),
  addressesPerToken: 100,
  bodyBytesPerToken: 65_536,
  inventoryBytesPerToken: 4_096,
});

/** What each request limit must be (the node checks its `requests` option by them too): Infinity requests a second is no bound. */
export const REQUEST_LIMIT_RULES: OverlayRules = {
  numbers: numberRule({
    positiveIntegers: ['maxConcurrent', 'maxConcurrentPerHost', 'maxKeys', 'burst', 'addressesPerToken', 'bodyBytesPerToken', 'inventoryBytesPerToken'],
    positive: ['ratePerSecond'],
    mayBeInfinite: ['ratePerSecond'],
  }),
};

/** Counters of a `RequestGuard`: requests admitted and refused. */
export interface RequestGuardStats {
  admitted: number;
  /** Refused because the caller's host had no tokens left. */
  refusedRate: number;
  /** Refused because maxConcurrent or maxConcurrentPerHost was reached. */
  refusedConcurrency: number;
  inFlight: number;
  /** Hosts with a token bucket remembered. */
  hosts: number;
}

/** What the guard asks its owner to price a request by the work it causes (RequestGuard's `pricing`). */
export interface RequestPricing {
  /** The positions an inventoryChanges request (`params` as received, unchecked) would be answered with; 0 when its reply lists none. */
  changesAnswered?(params: unknown): number;
  /** The bytes of our vector an inventory request (`params` as received, unchecked) would be answered with. */
  inventoryBytesAnswered?(params: unknown): number;
}

const noRelease = (): void => {};

/** Bounds requests being served, per host and in total, and refuses the excess with BUSY. */
export class RequestGuard {
  readonly limits: Readonly<RequestLimits>;
  private readonly rates: RateLimiter;
  private readonly slots = new InFlightSlots();
  private admitted = 0;
  private refusedRate = 0;
  private refusedConcurrency = 0;

  private readonly pricing: RequestPricing;

  /** INVALID_OPTION (`requests.<name>`) for a limit REQUEST_LIMIT_RULES refuses. */
  constructor(clock: Clock, limits: Partial<RequestLimits> = {}, pricing: RequestPricing = {}) {
    this.pricing = pricing;
    const merged = overlayChecked('requests', DEFAULT_REQUEST_LIMITS, limits, REQUEST_LIMIT_RULES);
    this.rates = new RateLimiter(clock, merged);
    this.limits = Object.freeze({ ...merged, ...this.rates.options });
  }

  /**
   * Admits one request or throws BUSY; the caller must call the returned release() exactly once
   * when it ends. `params` (as received, unchecked) prices a getChunks by its addresses, an offer by its positions.
   */
  enter(caller: Caller, method: string, params?: unknown): () => void {
    return this.#admit(hostKey(caller), this.costOf(method, params), true);
  }

  /**
   * Admits a request as the transport sees it, before its body is read: a route that is not a
   * protocol call (a chunk, zone file or name read over plain GET, the status, the legacy API)
   * takes a slot and one token, and any body spends its size (bodyBytesPerToken). A protocol call
   * takes no slot here and pays only for its body: its handler enters the guard with its method.
   * Throws BUSY; the release must be called exactly once when the request ends.
   */
  admit(request: AdmittedRequest): () => void {
    const bodyCost = Math.floor(Math.max(0, request.bodyBytes) / this.limits.bodyBytesPerToken);
    if (request.call && bodyCost === 0) return noRelease;
    return this.#admit(hostKey(request.caller), (request.call ? 0 : 1) + bodyCost, !request.call);
  }

  #admit(host: string, cost: number, takesSlot: boolean): () => void {
    if (takesSlot && (this.slots.total >= this.limits.maxConcurrent || this.slots.of(host) >= this.limits.maxConcurrentPerHost)) {
      this.refusedConcurrency++;
      throw new AtlasError(ErrorCodes.BUSY, 'too many requests in progress; retry later', { retryAfterMs: 1_000 });
    }
    // A price above the burst is taken as a full bucket (RateLimiter.take): never refused for good.
    if (!this.rates.take(host, cost)) {
      this.refusedRate++;
      // A host refused because every remembered host is in debt has no wait of its own: 1 s.
      throw new AtlasError(ErrorCodes.BUSY, 'request rate limit reached; retry later', { retryAfterMs: this.rates.retryAfterMs(host, cost) || 1_000 });
    }
    if (!takesSlot) return noRelease;
    this.admitted++;
    return this.slots.take(host);
  }

  /**
   * The same handler behind this guard. A call the transport admitted already (context.admitted:
   * a legacy route's call to the node) spends its method's tokens but takes no second place: it
   * runs within its request's place, so none runs once the request's signal has aborted (the
   * place was given back when its client left).
   */
  wrap(handler: ProtocolHandler): ProtocolHandler {
    // Promise callbacks rather than an async function: one await less on every request served.
    return (method: string, params: unknown, context: RequestContext): Promise<unknown> => {
      let release: () => void;
      try {
        if (context.admitted !== true) release = this.enter(context.caller, method, params);
        else if (context.signal?.aborted === true) return Promise.reject(abortedError(method, context.signal));
        else release = this.#admit(hostKey(context.caller), this.costOf(method, params), false);
      } catch (error) {
        return Promise.reject(error);
      }
      let work: Promise<unknown>;
      try {
        work = handler(method, params, context);
      } catch (error) {
        release();
        return Promise.reject(error);
      }
      return work.then(
        (reply) => {
          release();
          return reply;
        },
        (error: unknown) => {
          release();
          throw error;
        },
      );
    };
  }

  stats(): RequestGuardStats {
    return {
      admitted: this.admitted,
      refusedRate: this.refusedRate,
      refusedConcurrency: this.refusedConcurrency,
      inFlight: this.slots.total,
      hosts: this.rates.size,
    };
  }

  private costOf(method: string, params: unknown): number {
    const given = Object.prototype.hasOwnProperty.call(this.limits.methodCost, method) ? this.limits.methodCost[method] : undefined;
    const cost = typeof given === 'number' && given >= 0 ? given : 1;
    let items: number;
    if (method === 'getChunks') {
      // Unchecked params: only how many addresses they name is read (validation refuses the rest later).
      const addresses = typeof params === 'object' && params !== null ? (params as { addresses?: unknown }).addresses : undefined;
      items = requestedAddressCount(addresses);
    } else if (method === 'inventoryChanges' && this.pricing.changesAnswered !== undefined) {
      items = this.pricing.changesAnswered(params);
    } else if (method === 'offer') {
      items = offeredPositions(typeof params === 'object' && params !== null ? (params as { added?: unknown }).added : undefined);
    } else if (method === 'inventory' && this.pricing.inventoryBytesAnswered !== undefined) {
      return cost * Math.max(1, Math.ceil(this.pricing.inventoryBytesAnswered(params) / this.limits.inventoryBytesPerToken));
    } else {
      return cost;
    }
    return cost * Math.max(1, Math.ceil(items / this.limits.addressesPerToken));
  }
}

/**
 * How many positions an offer's `added` (as received, unchecked) names, for its price: the count
 * the request's validation makes (positionCount), without decoding them. 0 when it is no byte
 * string (validation refuses it later).
 */
export function offeredPositions(added: unknown): number {
  return added instanceof Uint8Array ? positionCount(added) : 0;
}
