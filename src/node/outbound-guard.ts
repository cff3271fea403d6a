/**
 * The one door every outgoing call of a node goes through (its ProtocolClient's transport), and
 * two rules enforced there whatever component makes the call (random walk, admission, inventory
 * refresh, downloads, pushes, on-demand fetches):
 *  - a blocked peer is never contacted at all (SPEC §5.1), for as long as its block lasts. A peer
 *    is blocked when the peer table removes it for its offences, and also when the table evicts
 *    it as unhealthy while it has an offence on record: penalties lower health, so a lying peer
 *    is usually evicted as unhealthy before its offences add up to a block, and would otherwise
 *    be re-admitted, offences forgotten, once its refusal expires;
 *  - an address the address policy refuses is never dialled (SPEC §5.2), seeds excepted (they
 *    are the host's own configuration). A remote peer list can name any address, and the random
 *    walk proposes peers straight from such lists, before any admission check.
 * Refused calls fail at once with BLOCKED or ADDRESS_REFUSED, as an unreachable peer would. The
 * block list is bounded (the oldest block is forgotten first).
 *
 * Every call also gets a signal of its own, following the caller's: components share one signal
 * across many concurrent calls (a push round offers to every neighbour at once), and the transport
 * listens on the signal it is given, so sharing it would pile listeners on it.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { AddressPolicy, canonicalPeerAddress, parseDialAddress, type AddressPolicyOptions } from '../peers/address-policy.js';
import { ExpiringMap, type Clock } from '../runtime.js';
import type { CallOptions, Transport, TransportService } from '../transport/types.js';

/** Options of `OutboundGuard`. */
export interface OutboundGuardOptions {
  clock: Clock;
  policy?: AddressPolicy | Partial<AddressPolicyOptions>;
  /** Dialled whatever the policy says. */
  seeds?: readonly string[];
  /** Most blocks remembered. */
  maxBlocked?: number;
  /** Told of every call that reached the transport, when it ends. */
  onCall?: (outcome: CallOutcome) => void;
}

/** One outgoing call that reached the transport, as told to `OutboundGuardOptions.onCall` when it ends. */
export interface CallOutcome {
  peer: string;
  method: string;
  ms: number;
  /** Undefined when the peer answered. */
  error: unknown;
}

/** A transport wrapper that checks every outgoing call against the address policy and the blocklist. */
export class OutboundGuard implements Transport {
  readonly policy: AddressPolicy;
  private readonly clock: Clock;
  private readonly seeds: ReadonlySet<string>;
  private readonly onCall: ((outcome: CallOutcome) => void) | undefined;
  /** Canonical addresses blocked, until a clock time; at most maxBlocked, the oldest forgotten first. */
  private readonly blocked: ExpiringMap<string>;
  /** Canonical address -> time of its latest offence; insertion order = age. */
  private readonly offences = new Map<string, number>();
  /** Calls refused, by reason. */
  refusedBlocked = 0;
  refusedPolicy = 0;

  constructor(
    private readonly inner: Transport,
    options: OutboundGuardOptions,
  ) {
    this.clock = options.clock;
    this.policy = options.policy instanceof AddressPolicy ? options.policy : new AddressPolicy(options.policy);
    this.seeds = new Set((options.seeds ?? []).map((seed) => this.canonical(seed)));
    this.blocked = new ExpiringMap(options.maxBlocked ?? 10_000);
    this.onCall = options.onCall;
  }

  get address(): string | undefined {
    return this.inner.address;
  }

  listen(service: TransportService): Promise<string> {
    return this.inner.listen(service);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Refuses every call to `peer` for `durationMs`. */
  block(peer: string, durationMs: number): void {
    this.blocked.set(this.canonical(peer), this.clock.now() + durationMs, true);
  }

  /** `peer` sent bad data. */
  offended(peer: string): void {
    const key = this.canonical(peer);
    this.offences.delete(key);
    this.offences.set(key, this.clock.now());
    while (this.offences.size > this.blocked.maxEntries) this.offences.delete(this.offences.keys().next().value as string);
  }

  /**
   * The peer table removed `peer`: block it for `blockMs` when the removal was for its offences,
   * or for health while it offended within the last `offenceWindowMs`.
   */
  removed(peer: string, reason: string, blockMs: number, offenceWindowMs: number): void {
    const key = this.canonical(peer);
    const offence = this.offences.get(key);
    const offendedLately = offence !== undefined && this.clock.now() - offence <= offenceWindowMs;
    if (reason === 'penalised' || reason === 'blocked' || (reason === 'unhealthy' && offendedLately)) this.block(peer, blockMs);
  }

  isBlocked(peer: string): boolean {
    return this.blocked.has(this.canonical(peer), this.clock.now());
  }

  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    // Parsed once: the blocklist and the seeds are keyed by the canonical form the policy judges.
    const dial = parseDialAddress(peer, this.policy.options.maxLength);
    const key = dial?.address ?? peer;
    if (this.blocked.has(key, this.clock.now())) {
      this.refusedBlocked++;
      return Promise.reject(new AtlasError(ErrorCodes.BLOCKED, `${peer.slice(0, 100)} is blocked`));
    }
    if (!this.seeds.has(key) && !(dial !== undefined && this.policy.judge(dial).ok)) {
      this.refusedPolicy++;
      return Promise.reject(new AtlasError(ErrorCodes.ADDRESS_REFUSED, `the address policy refuses to dial ${peer.slice(0, 100)}`));
    }
    const own = options?.signal === undefined ? options : { ...options, signal: AbortSignal.any([options.signal]) };
    const started = this.clock.now();
    const call = this.inner.call(peer, method, params, own);
    const onCall = this.onCall;
    if (onCall === undefined) return call;
    return call.then(
      (reply) => {
        onCall({ peer, method, ms: this.clock.now() - started, error: undefined });
        return reply;
      },
      (error: unknown) => {
        onCall({ peer, method, ms: this.clock.now() - started, error });
        throw error;
      },
    );
  }

  private canonical(peer: string): string {
    return canonicalPeerAddress(peer, this.policy.options.maxLength) ?? peer;
  }
}
