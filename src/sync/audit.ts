/**
 * Audits: now and then each neighbour is asked for one chunk its inventory claims. Any answer can
 * be checked (a chunk hashes to its address or not), so the chunk may be one we hold or one we
 * lack: half the audits pick among the claimed positions we lack, so a peer that knows our
 * (public) inventory cannot pass by serving only what we already have. Without audits a peer that
 * claims everything and serves nothing (or serves garbage, or stalls) is only caught while we
 * still need something from it, and stays a neighbour forever once we are in sync. With them every
 * neighbour's claims are tested at a steady, small cost: one one-chunk request per neighbour per
 * period. A new neighbour is first audited `retryMs` after it is tracked.
 *
 * What an audit concludes:
 * - the chunk comes back and hashes to its address: passed;
 * - bytes that do not hash, a malformed reply, or "don't have" for a position it still claims
 *   (and we still hold the same address there): bad data, the peer is penalised;
 * - a timeout: one failed call. `maxStalls` timeouts in a row make the peer a staller: it leaves
 *   the neighbour set (hook `stalled`), and when it keeps answering other calls (its health stays
 *   at or above `stallHealth`) it stalls selectively: bad data. (In a row: one lost message on a
 *   lossy link is no offence.) A new neighbour's first audit and every audit after a failure run
 *   on their own timers (a round can be slowed by the very peers that stall), so a neighbour that
 *   stalls every chunk request leaves the set within maxStalls x (retryMs + timeoutMs) of being
 *   tracked: 60 s with the defaults.
 * - a BUSY: one failed call. `maxStalls` of them in a row, with no chunk request to the peer
 *   answered meanwhile (downloads included: `served`), make it a staller too, though not a liar:
 *   a neighbour that sheds every chunk request, however politely, serves nobody. A peer busy
 *   because we are catching up from it still serves our downloads, which ends the streak.
 * After any failure the next audit comes after `retryMs` rather than `everyMs`.
 *   A peer that is simply unreachable fails everything, its health falls and it is evicted by the
 *   ordinary rule instead.
 */
import type { Address } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { bitmaps } from '../inventory/bitmap.js';
import { randomInt, type TimerHandle } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import { ChunkCaller, type ChunkCallComponents } from './chunk-caller.js';
import type { PeerFault } from './downloader.js';
import { requestChunks } from './request-chunks.js';
import { verifyReceived } from './verify.js';
import { asAtlasError, classifyFailure } from '../protocol/faults.js';

/** How often neighbours are audited (asked for one chunk they claim) and when a timing-out one counts as a staller (AtlasNode option `audit`). */
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

/** Defaults of AuditOptions. */
export const DEFAULT_AUDIT: Readonly<AuditOptions> = Object.freeze({ everyMs: 60_000, retryMs: 10_000, timeoutMs: 10_000, maxStalls: 3, stallHealth: 0.5 });

export interface AuditHooks {
  /** The audit call succeeded (true) or failed (false), for the peer's health. */
  called(peer: string, ok: boolean): void;
  fault(peer: string, fault: PeerFault, error: AtlasError): void;
  /** The peer's health now, 0..1. */
  health(peer: string): number;
  /** The peer timed out `maxStalls` audits in a row: it should stop being a neighbour. */
  stalled(peer: string): void;
}

/** Counters of the neighbour audits (NodeStats.audits): audits run, passed and failed. */
export interface AuditStats {
  audits: number;
  passed: number;
  failed: number;
}

interface PeerAudit {
  /** When the next audit is due. */
  dueAt: number;
  stalls: number;
  /** BUSY answers in a row, with no chunk request answered since the first. */
  busy: number;
  running: boolean;
  /** A follow-up audit on its own timer (after a failure, or for a new neighbour), not waiting for a round. */
  timer: TimerHandle | undefined;
}

export type AuditorComponents = ChunkCallComponents<AuditHooks, Pick<ChunkStore, 'inventory' | 'addressAt'>>;

export class Auditor extends ChunkCaller<AuditHooks, AuditorComponents['store'], AuditOptions> {
  private readonly peers = new Map<string, PeerAudit>();
  private signal: AbortSignal | undefined;
  /**
   * No audit is due before this (a lower bound of every peer's dueAt), and the neighbours were
   * these at views version `seenNeighbors`: until one of them changes, a run has nothing to do
   * and reads nothing (most runs of an idle node).
   */
  private earliestDue = -Infinity;
  private seenNeighbors = -1;
  readonly stats: AuditStats = { audits: 0, passed: 0, failed: 0 };

  constructor(components: AuditorComponents, options?: Partial<AuditOptions>) {
    super(components, DEFAULT_AUDIT, options);
  }

  /** Starts the audits that are due; each tracked peer has at most one in flight. */
  run(signal: AbortSignal): void {
    if (this.options.everyMs <= 0 || signal.aborted) return;
    this.signal = signal;
    const version = this.views.neighborsVersion;
    if (version === this.seenNeighbors && this.clock.now() < this.earliestDue) return;
    this.seenNeighbors = version;
    const neighbors = this.views.neighbors();
    // At most the views kept (4 K): a scan of the list costs less than building a Set each round.
    for (const [peer, state] of this.peers) {
      if (neighbors.includes(peer)) continue;
      this.clearTimer(state);
      this.peers.delete(peer); // deleting the entry being visited is safe in a Map iteration
    }
    // Neighbours only: a peer known from its offers alone is not ours to audit or bench.
    for (const peer of neighbors) {
      if (!this.peers.has(peer)) this.watch(peer, signal);
      else this.runDue(peer);
    }
    let earliest = Infinity;
    for (const state of this.peers.values()) earliest = Math.min(earliest, state.dueAt);
    this.earliestDue = earliest;
  }

  /** Starts auditing a new neighbour: its first audit comes retryMs later, on its own timer. */
  watch(peer: string, signal: AbortSignal): void {
    if (this.options.everyMs <= 0 || signal.aborted || this.peers.has(peer)) return;
    this.signal = signal;
    const state: PeerAudit = { dueAt: 0, stalls: 0, busy: 0, running: false, timer: undefined };
    this.setDue(state, this.clock.now() + this.options.retryMs);
    this.peers.set(peer, state);
    this.followUp(peer, state);
  }

  /** Clears every follow-up timer. */
  stop(): void {
    for (const state of this.peers.values()) this.clearTimer(state);
    this.peers.clear();
  }

  private runDue(peer: string): void {
    const state = this.peers.get(peer);
    const signal = this.signal;
    if (!state || !signal || signal.aborted || state.running || this.clock.now() < state.dueAt || !this.views.has(peer)) return;
    this.clearTimer(state);
    this.setDue(state, this.clock.now() + this.options.everyMs);
    void this.audit(peer, state, signal);
  }

  private followUp(peer: string, state: PeerAudit): void {
    this.clearTimer(state);
    state.timer = this.clock.setTimeout(() => {
      state.timer = undefined;
      // Timers keep whole milliseconds and may fire a fraction before dueAt: it is due now.
      this.setDue(state, Math.min(state.dueAt, this.clock.now()));
      this.runDue(peer);
    }, Math.max(0, state.dueAt - this.clock.now()));
  }

  /** Sets when `state`'s next audit is due, keeping earliestDue a lower bound of every one. */
  private setDue(state: PeerAudit, at: number): void {
    state.dueAt = at;
    if (at < this.earliestDue) this.earliestDue = at;
  }

  private clearTimer(state: PeerAudit): void {
    if (state.timer !== undefined) this.clock.clearTimeout(state.timer);
    state.timer = undefined;
  }

  private async audit(peer: string, state: PeerAudit, signal: AbortSignal): Promise<void> {
    const target = this.pick(peer);
    if (target === undefined) return;
    const { position, address } = target;
    state.running = true;
    this.stats.audits++;
    try {
      // Encoded as a download is, so the encoding does not tell a peer which requests are audits.
      const reply = await requestChunks(this.requestParts, peer, [address], { signal, timeoutMs: this.options.timeoutMs });
      state.stalls = 0;
      state.busy = 0;
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
      const failure = classifyFailure(error, signal);
      if (failure === 'aborted') return;
      const atlasError = asAtlasError(error);
      if (failure === 'fault') return this.fail(peer, atlasError);
      // Busy counts as a failed audit: a neighbour always too busy for one small call is of no use.
      this.stats.failed++;
      this.hooks.called(peer, false);
      if (failure === 'busy') return this.busyAudit(peer, state, atlasError);
      if (failure !== 'slow') return;
      if (!this.failedInARow(peer, state, 'stalls')) {
        this.hooks.fault(peer, 'unresponsive', atlasError);
        return;
      }
      if (this.hooks.health(peer) >= this.options.stallHealth) {
        this.hooks.fault(peer, 'bad-data', new AtlasError(ErrorCodes.TIMEOUT, `audit: ${peer} answers other calls but stalls on chunks it claims`));
      } else {
        this.hooks.fault(peer, 'unresponsive', atlasError);
      }
      this.hooks.stalled(peer);
    } finally {
      state.running = false;
    }
  }

  /** A BUSY audit: `maxStalls` in a row, no chunk request answered meanwhile, make the peer a staller. */
  private busyAudit(peer: string, state: PeerAudit, error: AtlasError): void {
    if (!this.failedInARow(peer, state, 'busy')) return;
    this.hooks.fault(peer, 'unresponsive', error);
    this.hooks.stalled(peer);
  }

  /**
   * One more failed audit of a kind (timed out, BUSY): audited again soon, and true once
   * `maxStalls` of them came in a row (the streak then starts again).
   */
  private failedInARow(peer: string, state: PeerAudit, streak: 'stalls' | 'busy'): boolean {
    this.retrySoon(peer);
    if (++state[streak] < this.options.maxStalls) return false;
    state[streak] = 0;
    return true;
  }

  /** A chunk request to `peer` was answered (a download): it serves, so a streak of BUSY audits ends. */
  served(peer: string): void {
    const state = this.peers.get(peer);
    if (state) state.busy = 0;
  }

  /** Chunk requests to `peer` failed elsewhere (downloads): audit it at the next run. */
  suspect(peer: string): void {
    const state = this.peers.get(peer);
    if (!state || state.running || state.dueAt <= this.clock.now() + this.options.retryMs) return;
    this.setDue(state, this.clock.now());
    this.runDue(peer);
  }

  private fail(peer: string, error: AtlasError): void {
    this.stats.failed++;
    this.retrySoon(peer);
    this.hooks.fault(peer, 'bad-data', error);
  }

  private retrySoon(peer: string): void {
    const state = this.peers.get(peer);
    if (!state || this.signal?.aborted) return;
    this.setDue(state, Math.min(state.dueAt, this.clock.now() + this.options.retryMs));
    this.followUp(peer, state);
  }

  /** A random position the peer claims (one we lack half the time, when there is one), with its address. */
  private pick(peer: string): { position: number; address: Address } | undefined {
    const view = this.views.get(peer);
    if (!view || view.inventory.count === 0) return undefined; // it claims nothing (yet)
    const common = bitmaps.and(view.inventory.bitmap, this.store.inventory.bitmap);
    const lacking = bitmaps.andNot(view.inventory.bitmap, this.store.inventory.bitmap);
    const pool = lacking.size > 0 && (common.size === 0 || this.random() < 0.5) ? lacking : common;
    const position = pool.size === 0 ? undefined : pool.select(randomInt(this.random, pool.size));
    bitmaps.release(common);
    bitmaps.release(lacking);
    if (position === undefined) return undefined;
    const address = this.store.addressAt(position);
    return address === undefined ? undefined : { position, address };
  }
}
