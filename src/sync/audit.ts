/**
 * Audits: now and then each neighbour is asked for one chunk its inventory claims and we already
 * hold, so the answer can be checked. Without it a peer that claims everything and serves nothing
 * (or serves garbage, or stalls) is only caught while we still need something from it, and stays
 * a neighbour forever once we are in sync. With it every neighbour's claims are tested at a steady,
 * small cost: one one-chunk request per neighbour per period.
 *
 * What an audit concludes:
 * - the chunk comes back and hashes to its address: passed;
 * - bytes that do not hash, a malformed reply, or "don't have" for a position it still claims
 *   (and we still hold the same address there): bad data, the peer is penalised;
 * - a timeout: one failed call; when the peer keeps answering other calls (its health stays at
 *   or above `stallHealth`) and fails `maxStalls` audits in a row, it stalls selectively: bad data.
 *   (In a row: one lost message on a lossy link is no offence.)
 * After any failure the next audit comes after `retryMs` rather than `everyMs`.
 *   A peer that is simply unreachable fails everything, its health falls and it is evicted by the
 *   ordinary rule instead.
 */
import type { Address } from '../address.js';
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import { bitmaps } from '../inventory/bitmap.js';
import type { ProtocolClient } from '../protocol/client.js';
import { randomInt, type Clock, type Random } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import type { PeerFault } from './downloader.js';
import type { PeerViews } from './peer-views.js';
import { verifyReceived } from './verify.js';

export interface AuditOptions {
  /** How often each neighbour is audited, ms. 0 turns audits off. */
  everyMs: number;
  /** After a failed audit the peer is audited again this soon, ms, so consistent misbehaviour is
   * caught within a few retries while a single lost message costs nothing. */
  retryMs: number;
  /** Deadline of one audit request, ms. */
  timeoutMs: number;
  /** Timed-out audits in a row, while the peer answers other calls, that make it a staller. */
  maxStalls: number;
  /** Health at or above which a timing-out peer is taken to answer other calls. */
  stallHealth: number;
}

export const DEFAULT_AUDIT: Readonly<AuditOptions> = Object.freeze({ everyMs: 60_000, retryMs: 10_000, timeoutMs: 10_000, maxStalls: 3, stallHealth: 0.5 });

export interface AuditHooks {
  /** The audit call succeeded (true) or failed (false), for the peer's health. */
  called(peer: string, ok: boolean): void;
  fault(peer: string, fault: PeerFault, error: AtlasError): void;
  /** The peer's health now, 0..1. */
  health(peer: string): number;
}

export interface AuditStats {
  audits: number;
  passed: number;
  failed: number;
}

interface PeerAudit {
  /** When the next audit is due. */
  dueAt: number;
  stalls: number;
  running: boolean;
}

export class Auditor {
  private readonly options: AuditOptions;
  private readonly peers = new Map<string, PeerAudit>();
  readonly stats: AuditStats = { audits: 0, passed: 0, failed: 0 };

  constructor(
    private readonly store: ChunkStore,
    private readonly views: PeerViews,
    private readonly client: ProtocolClient,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly hooks: AuditHooks,
    options?: Partial<AuditOptions>,
  ) {
    this.options = { ...DEFAULT_AUDIT, ...options };
  }

  /** Starts the audits that are due; each tracked peer has at most one in flight. */
  run(signal: AbortSignal): void {
    if (this.options.everyMs <= 0 || signal.aborted) return;
    const now = this.clock.now();
    for (const peer of [...this.peers.keys()]) if (!this.views.has(peer)) this.peers.delete(peer);
    for (const peer of this.views.peers()) {
      let state = this.peers.get(peer);
      if (!state) {
        // A new neighbour is first audited one period after we start tracking it.
        this.peers.set(peer, { dueAt: now + this.options.everyMs, stalls: 0, running: false });
        continue;
      }
      if (state.running || now < state.dueAt) continue;
      state.dueAt = now + this.options.everyMs;
      void this.audit(peer, state, signal);
    }
  }

  private async audit(peer: string, state: PeerAudit, signal: AbortSignal): Promise<void> {
    const target = this.pick(peer);
    if (target === undefined) return;
    const { position, address } = target;
    state.running = true;
    this.stats.audits++;
    try {
      const reply = await this.client.getChunks(peer, { addresses: [address] }, { signal, timeoutMs: this.options.timeoutMs });
      state.stalls = 0;
      if (reply.chunks.length > 0) {
        const { corrupt } = verifyReceived(reply.chunks);
        if (corrupt.length > 0) return this.fail(peer, new AtlasError(ErrorCodes.HASH_MISMATCH, `audit: ${peer} served bytes that do not hash to ${address}`));
        this.stats.passed++;
        this.hooks.called(peer, true);
        return;
      }
      // "Don't have": a lie only if it still claims the position and the address there is unchanged.
      const view = this.views.get(peer);
      if (view?.inventory.has(position) && this.store.addressAt(position) === address) {
        this.views.clear(peer, [position]);
        return this.fail(peer, new AtlasError(ErrorCodes.BAD_REPLY, `audit: ${peer} claims position ${position} but does not have ${address}`));
      }
      this.hooks.called(peer, true);
    } catch (error) {
      if (signal.aborted) return;
      const atlasError = isAtlasError(error) ? error : new AtlasError(ErrorCodes.INTERNAL, String(error));
      if (atlasError.code === ErrorCodes.BAD_REPLY) return this.fail(peer, atlasError);
      this.stats.failed++;
      this.hooks.called(peer, false);
      if (atlasError.code !== ErrorCodes.TIMEOUT) return;
      this.retrySoon(peer);
      state.stalls++;
      if (state.stalls >= this.options.maxStalls && this.hooks.health(peer) >= this.options.stallHealth) {
        state.stalls = 0;
        this.hooks.fault(peer, 'bad-data', new AtlasError(ErrorCodes.TIMEOUT, `audit: ${peer} answers other calls but stalls on chunks it claims`));
      } else {
        this.hooks.fault(peer, 'unresponsive', atlasError);
      }
    } finally {
      state.running = false;
    }
  }

  private fail(peer: string, error: AtlasError): void {
    this.stats.failed++;
    this.retrySoon(peer);
    this.hooks.fault(peer, 'bad-data', error);
  }

  private retrySoon(peer: string): void {
    const state = this.peers.get(peer);
    if (state) state.dueAt = Math.min(state.dueAt, this.clock.now() + this.options.retryMs);
  }

  /** A random position the peer claims and we hold, with its address. */
  private pick(peer: string): { position: number; address: Address } | undefined {
    const view = this.views.get(peer);
    if (!view) return undefined;
    const common = bitmaps.and(view.inventory.bitmap, this.store.inventory.bitmap);
    const size = common.size;
    const position = size === 0 ? undefined : common.select(randomInt(this.random, size));
    bitmaps.release(common);
    if (position === undefined) return undefined;
    const address = this.store.addressAt(position);
    return address === undefined ? undefined : { position, address };
  }
}
