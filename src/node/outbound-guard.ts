/**
 * The one door every outgoing call of a node goes through (its ProtocolClient's transport), and
 * two rules enforced there whatever component makes the call (random walk, admission, inventory
 * refresh, downloads, pushes, on-demand fetches):
 *  - a blocked peer is never contacted at all (SPEC §5.1), for as long as its block lasts. The
 *    blocklist is the peer table's own (peers/blocklist.ts, shared): the table blocks a peer for
 *    its offences, also when it evicts as unhealthy a peer with an offence on record, and the
 *    host blocks and unblocks; the guard only reads it;
 *  - an address the address policy refuses is never dialled (SPEC §5.2), seeds excepted (they
 *    are the host's own configuration). A remote peer list can name any address, and the random
 *    walk proposes peers straight from such lists, before any admission check.
 * Refused calls fail at once with BLOCKED or ADDRESS_REFUSED, as an unreachable peer would.
 *
 * The caller's options are passed through as they are, and the guard says what the transport it
 * wraps says of `honoursTimeout`. The node's ProtocolClient, the one caller, already ends every
 * call at its deadline and on the node's lifetime (protocol/client.ts); wrapping its signal again
 * here cost an AbortSignal.any per call.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { AddressPolicy, canonicalPeerAddress, parseDialAddress, type AddressPolicyOptions, type DialAddress } from '../peers/address-policy.js';
import type { Blocklist } from '../peers/blocklist.js';
import type { Clock } from '../runtime.js';
import type { CallOptions, ListenOptions, Transport, TransportService } from '../transport/types.js';

/** Options of `OutboundGuard`. */
export interface OutboundGuardOptions {
  clock: Clock;
  policy?: AddressPolicy | Partial<AddressPolicyOptions>;
  /** Dialled whatever the policy says. */
  seeds?: readonly string[];
  /** The blocks to enforce: the peer table's blocklist. */
  blocklist: Blocklist;
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

/** Addresses whose parse and verdict an OutboundGuard remembers (a few hundred bytes each at most). */
const MAX_JUDGED = 4_096;

/** An address as parsed for dialling: its canonical form (the blocklist's and the seeds' key) and, once judged, the policy's verdict. */
interface Dialable {
  key: string;
  dial: DialAddress | undefined;
  allowed: boolean | undefined;
}

/** A transport wrapper that checks every outgoing call against the address policy and the blocklist. */
export class OutboundGuard implements Transport {
  readonly policy: AddressPolicy;
  private readonly clock: Clock;
  private readonly seeds: ReadonlySet<string>;
  private readonly onCall: ((outcome: CallOutcome) => void) | undefined;
  private readonly blocked: Blocklist;
  /**
   * Address as given -> its canonical form and whether the policy lets us dial it (seeds always):
   * both are fixed for an address, and a node dials the same few peers over and over. Bounded,
   * forgotten all at once when full.
   */
  private readonly dialable = new Map<string, Dialable>();
  /** Calls refused, by reason. */
  refusedBlocked = 0;
  refusedPolicy = 0;

  constructor(
    private readonly inner: Transport,
    options: OutboundGuardOptions,
  ) {
    this.clock = options.clock;
    this.policy = options.policy instanceof AddressPolicy ? options.policy : new AddressPolicy(options.policy);
    this.seeds = new Set((options.seeds ?? []).map((seed) => canonicalPeerAddress(seed, this.policy.options.maxLength) ?? seed));
    this.blocked = options.blocklist;
    this.onCall = options.onCall;
  }

  get address(): string | undefined {
    return this.inner.address;
  }

  get honoursTimeout(): boolean {
    return this.inner.honoursTimeout === true;
  }

  get handsOverReplies(): boolean {
    return this.inner.handsOverReplies === true;
  }

  listen(service: TransportService, options?: ListenOptions): Promise<string> {
    return this.inner.listen(service, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** `peer` parsed (remembered: see dialable). */
  private parsed(peer: string): Dialable {
    let known = this.dialable.get(peer);
    if (known === undefined) {
      const dial = parseDialAddress(peer, this.policy.options.maxLength);
      known = { key: dial?.address ?? peer, dial, allowed: undefined };
      if (this.dialable.size >= MAX_JUDGED) this.dialable.clear();
      this.dialable.set(peer, known);
    }
    return known;
  }

  call(peer: string, method: string, params: unknown, options?: CallOptions): Promise<unknown> {
    // Parsed once: the blocklist and the seeds are keyed by the canonical form the policy judges.
    const dialable = this.parsed(peer);
    if (this.blocked.isBlocked(dialable.key, this.clock.now())) {
      this.refusedBlocked++;
      return Promise.reject(new AtlasError(ErrorCodes.BLOCKED, `${peer.slice(0, 100)} is blocked`));
    }
    dialable.allowed ??= this.seeds.has(dialable.key) || (dialable.dial !== undefined && this.policy.judge(dialable.dial).ok);
    if (!dialable.allowed) {
      this.refusedPolicy++;
      return Promise.reject(new AtlasError(ErrorCodes.ADDRESS_REFUSED, `the address policy refuses to dial ${peer.slice(0, 100)}`));
    }
    const started = this.clock.now();
    const call = this.inner.call(peer, method, params, options);
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
}

