import { setMaxListeners } from 'node:events';
import type { Address } from '../address.js';
import { AtlasError, ErrorCodes, isAtlasError } from '../errors.js';
import type { ProtocolClient } from '../protocol/client.js';
import type { GetChunksResult } from '../protocol/messages.js';
import { asAtlasError, classifyFailure, type CallFailure } from '../protocol/faults.js';
import { putReceived, Received, type ReceivedBatch, type ReceivedOutcome } from '../store/received.js';
import type { ChunkStore } from '../store/types.js';
import { BusyPeers } from './busy-peers.js';
import { DEFAULT_DOWNLOADER, type DownloaderOptions } from './downloader-options.js';
import { HedgeTimer } from './hedge.js';
import { OmissionLedger } from './omissions.js';
import { ChunkCaller, type ChunkCallComponents } from './chunk-caller.js';
import { requestChunks } from './request-chunks.js';
import { storedColumns, type StoredChunks } from './stored-chunks.js';
import { requestIndices, withheld } from './reply-answers.js';
import { checkReply, receivedBatch } from './verify.js';
import { WorkPlan, type PlannedRequest } from './work-plan.js';

/** The bounds on a BUSY peer's pause (busy-peers.ts), where they were exported before. */
export { BUSY_PAUSE_MS, MAX_BUSY_PAUSE_MS, MIN_BUSY_PAUSE_MS } from './busy-peers.js';

/** Why a peer is being reported: lost calls lower health; bad data is penalised. */
export type PeerFault = 'unresponsive' | 'bad-data';

export interface DownloaderHooks {
  /** Chunks newly stored from `peer`. */
  stored(chunks: StoredChunks, peer: string): void;
  /** A call to `peer` succeeded (true) or failed (false), for its health. */
  called(peer: string, ok: boolean): void;
  fault(peer: string, fault: PeerFault, error: AtlasError): void;
  /** Higher is more reliable; the most reliable holder is asked first. */
  reliability(peer: string): number;
  /** Storing verified chunks failed locally (disk full, store closed): not a peer's fault. */
  storeFailed(error: AtlasError): void;
}

/** Counters of the downloader (NodeStats.downloads): requests, chunks received, duplicates, refusals. */
export interface DownloaderStats {
  requests: number;
  chunksReceived: number;
  chunkBytesReceived: number;
  /** Received chunks we already held when they arrived (redundant deliveries). */
  duplicateChunks: number;
  duplicateBytes: number;
  rejectedChunks: number;
  missingReplies: number;
  /** Asked addresses a reply left unanswered (neither chunk nor "don't have"). */
  unansweredAddresses: number;
  /** Asked addresses a reply put off for its size (`later`): planned again, no fault. */
  putOffAddresses: number;
  /** Requests whose addresses were asked of another holder because no reply came in time. */
  hedgedRequests: number;
  failedRequests: number;
}

export type DownloaderComponents = ChunkCallComponents<DownloaderHooks, Pick<ChunkStore, 'inventory' | 'addressAt' | 'positionsOf' | 'isRepeatedAt' | 'packedAddressesAt' | 'putVerified' | 'maxChunkSize'>>;

/**
 * Fetches what the neighbours hold and we lack: rarest first (ties at random), each request to
 * the most reliable holder, bounded in flight per peer and in total. A failed request's addresses
 * go to the other holders at once; those no other holder claims back off exponentially. Only an
 * explicit "don't have" clears a peer's bit; a failed call lowers its health.
 */
export class Downloader extends ChunkCaller<DownloaderHooks, DownloaderComponents['store'], DownloaderOptions> {
  private readonly plan: WorkPlan;
  private readonly inFlightPerPeer = new Map<string, number>();
  private readonly controller = new AbortController();
  /** Requests not ended yet: in flight, and hedged ones waiting for a late reply (at most maxInFlight more). */
  private open = 0;
  /** Open requests whose addresses went to other holders (hedged): they hold no slot of maxInFlight. */
  private hedgedOpen = 0;
  /** Replies received and being verified and stored. */
  private pendingWrites = 0;
  private pumpQueued = false;
  private wakeTimer: unknown;
  private wakeTime = Infinity;
  private stopped = false;
  readonly stats: DownloaderStats = {
    requests: 0,
    chunksReceived: 0,
    chunkBytesReceived: 0,
    duplicateChunks: 0,
    duplicateBytes: 0,
    rejectedChunks: 0,
    missingReplies: 0,
    unansweredAddresses: 0,
    putOffAddresses: 0,
    hedgedRequests: 0,
    failedRequests: 0,
  };
  private readonly omissions: OmissionLedger;
  private readonly hedge: HedgeTimer;
  /** Peers that answered BUSY, or whose requests keep failing, until when they get no new request (busy-peers.ts). */
  private readonly busy = new BusyPeers();
  /** How to give up each hedged request still open, oldest hedged first (at most maxInFlight: see request()). */
  private readonly hedgedCalls = new Set<() => void>();
  /** Store refusals since the last write that succeeded, and when requests may start again. */
  private storeRefusals = 0;
  private storePausedUntil = 0;

  constructor(components: DownloaderComponents, options?: Partial<DownloaderOptions>) {
    super(components, DEFAULT_DOWNLOADER, options);
    this.plan = new WorkPlan(this.store, this.views, this.random, this.options);
    this.omissions = new OmissionLedger(this.options.omissions);
    this.hedge = new HedgeTimer(this.options.hedge);
    // Every open request listens here (its own signal follows ours): up to 2 x maxInFlight.
    setMaxListeners(0, this.controller.signal);
  }

  /** Requests holding a slot of maxInFlight: the open ones not hedged. */
  get requestsInFlight(): number {
    return this.open - this.hedgedOpen;
  }

  /** Plans and starts requests while there is capacity; cheap to call often. */
  pump(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    queueMicrotask(this.runPump);
  }

  /**
   * pump(), on a timer of the clock (0 ms): after a failed request. One that fails at once (a
   * refused peer: a rejected promise, no I/O) pumped again in a microtask, and those chained went
   * through a whole plan without letting timers or replies run (65,536 positions of one such holder
   * held the event loop 1.6 s). The clock's timer, not setImmediate: the simulator's clock runs
   * its timers in virtual time, and a turn of the real event loop came at no fixed point of it. A
   * reply keeps pump(): a replan between a corrupt reply's positions going back to the head of the
   * plan and the next take put them anywhere in the window.
   */
  private pumpLater(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    this.clock.setTimeout(this.runPump, 0);
  }

  private readonly runPump = (): void => {
    this.pumpQueued = false;
    if (!this.stopped) this.launch();
  };

  /** Peers' inventories changed (refresh, offer): the plan may be out of date. */
  inventoriesChanged(): void {
    this.plan.markStale();
    this.pump();
  }

  /** Our sequence was rolled back to `length`: nothing planned before is asked of its holders. */
  rolledBack(length: number): void {
    this.plan.truncate(length);
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.controller.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed'));
    if (this.wakeTimer !== undefined) this.clock.clearTimeout(this.wakeTimer);
  }

  private launch(): void {
    // Open requests (hedged ones too) and replies waiting to be stored stay within maxPendingWrites, the bound on reply memory;
    // hedged ones are at most maxInFlight (request()), so the last term never takes a slot from the first.
    const { maxInFlight, maxPendingWrites } = this.options;
    const slots = Math.min(maxInFlight - this.requestsInFlight, maxPendingWrites - this.pendingWrites - this.open, 2 * maxInFlight - this.open);
    // Holding every position leaves nothing to plan (a new announcement or a loss pumps again).
    const own = this.store.inventory;
    if (slots <= 0 || this.views.size === 0 || own.count >= own.length) return;
    const now = this.clock.now();
    if (now < this.storePausedUntil) return this.wakeAt(this.storePausedUntil, now);
    // A peer whose request was hedged gets one request at a time, none while a hedged one is still
    // open, until it answers one in time (it may be the only holder: it is slowed, never shut out).
    const canOpen = (peer: string) =>
      !this.busy.has(peer, now) && (this.inFlightPerPeer.get(peer) ?? 0) < (this.hedge.isSlow(peer, now) ? 1 : this.options.maxInFlightPerPeer);
    const reliability = (peer: string) => this.hooks.reliability(peer);
    // A plan hands out one batch a peer at a time: taken again while slots are left, so a peer is
    // sent as many requests as it may have in flight at once (a catch-up's first ones too), not
    // one more per reply.
    let started = 0;
    const largest = this.largestBatch();
    for (let left = slots; left > 0; ) {
      const batches = this.plan.take(left, largest, now, canOpen, reliability, this.batchSizeOf);
      if (batches.size === 0) break;
      for (const [peer, planned] of batches) void this.request(peer, planned); // each takes its slot at once
      started += batches.size;
      left -= batches.size;
    }
    // Nothing to start: wake when a backed-off address or a busy peer is free again.
    if (started === 0 && this.requestsInFlight === 0) this.wakeAt(Math.min(this.plan.nextRelease() ?? Infinity, this.busy.earliestDeadline(now)), now);
  }

  /** Pumps again at `at` (the earliest of the times asked for wins). */
  private wakeAt(at: number, now: number): void {
    if (!Number.isFinite(at) || at >= this.wakeTime) return;
    if (this.wakeTimer !== undefined) this.clock.clearTimeout(this.wakeTimer);
    this.wakeTime = at;
    this.wakeTimer = this.clock.setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeTime = Infinity;
      this.pump();
    }, Math.max(1, at - now));
  }

  private async request(peer: string, planned: PlannedRequest): Promise<void> {
    this.openSlot(peer);
    this.stats.requests++;
    let sentAt = this.clock.now();
    const ticket = this.busy.ticket(peer, sentAt);
    // Its own signal, so that it alone can be given up; our stop aborts it too.
    const call = new AbortController();
    const stopCall = () => call.abort(this.controller.signal.reason);
    this.controller.signal.addEventListener('abort', stopCall, { once: true });
    // No reply in time: the addresses (and the global slot) go to other holders; this request
    // keeps its per-peer slot until it ends, and its late reply is still used. Hedged requests
    // still open are at most maxInFlight: beyond it, the one hedged longest ago is given up (our
    // own timeout), so stalling holders, however many, never hold the open-request budget
    // (2 x maxInFlight) that requests to the others need.
    let hedged = false;
    let givenUp = false;
    let giveUp: (reason: AtlasError) => void = () => {};
    const abandon = () => {
      givenUp = true;
      end();
      const reason = new AtlasError(ErrorCodes.TIMEOUT, `gave up a request to ${peer} hedged to other holders`);
      call.abort(reason);
      giveUp(reason);
    };
    const hedgeTimer = this.clock.setTimeout(() => {
      if (this.stopped) return;
      hedged = true;
      this.stats.hedgedRequests++;
      this.hedge.hedged(peer, this.clock.now());
      this.plan.release(planned, 'all');
      if (this.hedgedCalls.size >= this.options.maxInFlight) (this.hedgedCalls.values().next().value as () => void)();
      this.hedgedOpen++;
      this.hedgedCalls.add(abandon);
      this.pump();
    }, this.hedge.delay(peer));
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      this.clock.clearTimeout(hedgeTimer);
      this.controller.signal.removeEventListener('abort', stopCall);
      if (hedged) {
        this.hedgedOpen--;
        this.hedgedCalls.delete(abandon);
        // However it ends (a late reply, a failure, given up), the peer stays slow from now: only
        // a reply in time gives it its full slots back.
        this.hedge.hedged(peer, this.clock.now());
      }
      this.closeSlot(peer);
    };
    let reply: Awaited<ReturnType<ProtocolClient['getChunks']>>;
    try {
      // A hex retry of a refused packed call is skipped once the addresses went to other holders,
      // and the round trip the hedge learns from is the retry's own.
      const beforeRetry = () => {
        if (hedged) return false;
        sentAt = this.clock.now();
        return true;
      };
      const answered = requestChunks(this.requestParts, peer, planned.addresses, { signal: call.signal, beforeRetry });
      // Given up, the request ends now, whether or not the client heeds the abort.
      reply = await new Promise<GetChunksResult>((resolve, reject) => {
        giveUp = reject;
        answered.then(resolve, reject);
      });
    } catch (error) {
      end();
      if (givenUp) {
        // Its addresses went to other holders long ago: nothing to release or back off; a call
        // that went unanswered, for the peer's health, and no fault.
        this.stats.failedRequests++;
        if (!this.stopped) this.hooks.called(peer, false);
        this.pumpLater();
        return;
      }
      const failure = this.stopped ? undefined : this.requestFailed(peer, hedged ? undefined : planned, error, ticket, sentAt); // backs off before release
      // The addresses another holder claims go to it at once (a busy peer's all of them); those
      // only the failed peer claims wait out their back-off.
      if (!hedged) this.plan.release(planned, failure === undefined ? undefined : 'all', peer);
      this.pumpLater();
      return;
    }
    // The slot frees as soon as the reply is in, so the next request overlaps this one's write;
    // the addresses stay busy until they are stored, and pending writes are bounded on their own.
    end();
    this.busy.served(peer);
    this.hedge.replied(peer, this.clock.now() - sentAt, reply.chunks.length > 0, hedged);
    this.pendingWrites++;
    this.pump();
    let putOff: readonly number[] | undefined;
    try {
      putOff = await this.accept(peer, planned, reply);
      this.storeRefusals = 0;
    } catch (error) {
      // A local store failure: not the peer's fault, nor the chunks'. Pause and say so.
      if (!this.stopped) {
        this.pauseForStore();
        this.hooks.storeFailed(asAtlasError(error));
      }
    } finally {
      this.pendingWrites--;
      // A hedged request's addresses may belong to another request now; those a reply put off are planned again at once.
      if (!hedged) this.plan.release(planned, putOff);
      this.pump();
    }
  }

  /** No request starts until the store has had time to recover (storeRetryMs, doubling up to maxStoreRetryMs). */
  private pauseForStore(): void {
    const now = this.clock.now();
    // The other writes of requests started before the pause fail too: one refusal, not several.
    if (now < this.storePausedUntil) return;
    const { storeRetryMs, maxStoreRetryMs } = this.options;
    const pause = Math.min(Math.max(storeRetryMs, maxStoreRetryMs), storeRetryMs * 2 ** Math.min(this.storeRefusals, 30));
    this.storeRefusals++;
    this.storePausedUntil = now + pause;
    this.wakeAt(this.storePausedUntil, now);
  }

  private readonly batchSizeOf = (peer: string): number => this.views.batchSize(peer, this.isFar(peer) ? this.options.wideBatchSize : this.options.batchSize);

  /** Whether `peer`'s round trip is long enough for wide requests (downloads.longRoundTripMs). */
  private isFar(peer: string): boolean {
    return (this.views.roundTripMs(peer) ?? 0) >= this.options.longRoundTripMs;
  }

  /** The most addresses a request may carry now: what sizes the plan's window refill and one take's scan. */
  private largestBatch(): number {
    const { batchSize, wideBatchSize } = this.options;
    return wideBatchSize > batchSize && this.views.peers().some((peer) => this.isFar(peer)) ? wideBatchSize : batchSize;
  }

  private openSlot(peer: string): void {
    this.open++;
    this.inFlightPerPeer.set(peer, (this.inFlightPerPeer.get(peer) ?? 0) + 1);
  }

  private closeSlot(peer: string): void {
    this.open--;
    const left = (this.inFlightPerPeer.get(peer) ?? 1) - 1;
    if (left <= 0) this.inFlightPerPeer.delete(peer);
    else this.inFlightPerPeer.set(peer, left);
  }

  /**
   * `planned`: the request's work to back off, undefined when it already went to other holders
   * (hedged); `ticket`: busy.ticket() at its start, `sentAt` when it was sent. Answers how it failed.
   */
  private requestFailed(peer: string, planned: PlannedRequest | undefined, error: unknown, ticket: number, sentAt: number): CallFailure {
    this.stats.failedRequests++;
    const now = this.clock.now();
    const failure = classifyFailure(error);
    // A busy peer is alive and shedding load: it is left alone for a while, its health untouched,
    // and its addresses go to other holders at once (backing them off would make a chunk wait
    // seconds whenever its first holder is popular). (Our own stop never gets here.)
    if (failure === 'busy') {
      const until = this.busy.refused(peer, error, now);
      this.wakeAt(until, now);
      return failure;
    }
    // It answers fewer addresses than its inventory said (it restarted with a lower limit).
    if (isAtlasError(error) && error.code === ErrorCodes.TOO_MANY) this.views.lowerBatchSize(peer);
    // Failures in a row pause the peer as a whole (bounded): with addresses only backing off one by
    // one, a refusing sole holder of 65,536 was asked over a thousand times in 3 s.
    const pausedUntil = this.busy.failed(peer, ticket, sentAt, now);
    if (pausedUntil > now) this.wakeAt(pausedUntil, now);
    if (planned !== undefined) this.plan.failRequest(planned, now, peer);
    if (failure !== 'fault') this.hooks.called(peer, false);
    this.hooks.fault(peer, failure === 'fault' ? 'bad-data' : 'unresponsive', asAtlasError(error));
    return failure;
  }

  /** Verifies and stores a reply; answers the indices (in `planned`) of the addresses to plan again at once: put off, or sent corrupt. */
  private async accept(peer: string, planned: PlannedRequest, reply: GetChunksResult): Promise<readonly number[] | undefined> {
    const asked = planned.addresses;
    const { chunks, missing } = reply;
    // Each chunk with the position it was asked at: the store then checks one position instead of
    // looking the address up in its index, and a back-off is placed where the address was planned.
    const check = checkReply(chunks, requestIndices(asked, chunks), planned.positions);
    const { chunkBytes, corrupt } = check;
    this.stats.chunksReceived += chunks.length;
    this.stats.chunkBytesReceived += chunkBytes;
    // Put off for the reply's size: neither have nor don't have, planned again. Only when the
    // reply was near the peer's byte bound; otherwise the addresses were withheld.
    const putOff = reply.later !== undefined && this.views.putOffHonest(peer, chunkBytes, this.store.maxChunkSize) ? reply.later : [];
    this.stats.putOffAddresses += putOff.length;

    const now = this.clock.now();
    if (corrupt.length > 0) {
      this.stats.rejectedChunks += corrupt.length;
      // The peer lied about these, not the chunks: its claims go (not believed again for
      // refutedClaimMs) and other holders are asked at once (planned again below). Backing the
      // addresses off would let liars delay an honest chunk for every holder, up to the back-off's bound.
      for (const chunk of corrupt) this.views.refute(peer, this.store.positionsOf(chunk.address), now, this.options.refutedClaimMs);
      this.hooks.fault(peer, 'bad-data', new AtlasError(ErrorCodes.HASH_MISMATCH, `${corrupt.length} chunk(s) from ${peer} do not hash to their address`));
    }

    // A reply the transport handed over is ours alone: its chunks are stored without a copy.
    const batch = receivedBatch(check, this.client.handsOverReplies === true);
    const stored = batch.count > 0 ? this.settle(await putReceived(this.store, batch, check.addresses), batch, check.addresses, now) : undefined;

    // Every asked address was claimed: one withheld (said missing, or left unanswered) clears the
    // claim, so the next plan turns to another holder, and counts against the peer (omissions.ts).
    this.stats.missingReplies += missing.length;
    const withheldAddresses = withheld(asked, reply, putOff);
    for (const address of withheldAddresses) this.views.clear(peer, this.store.positionsOf(address));
    const withheldCount = withheldAddresses.length;
    this.stats.unansweredAddresses += withheldCount - missing.length;
    this.hooks.called(peer, withheldCount === 0);
    if (withheldCount > 0 && this.omissions.record(peer, now)) {
      this.hooks.fault(peer, 'bad-data', new AtlasError(ErrorCodes.BAD_REPLY, `${peer} keeps withholding chunks its inventory claims`, { peer }));
    }
    if (stored !== undefined && stored.count > 0) this.hooks.stored(stored, peer);
    const again = putOff.length > 0 ? requestIndices(asked, putOff.map((address) => ({ address }))).filter((at) => at !== undefined) : [];
    for (const chunk of corrupt) if (chunk.index !== undefined) again.push(chunk.index);
    return again.length > 0 ? again : undefined;
  }

  /**
   * The store's status for each verified chunk: answers the added ones; a duplicate is counted, a
   * refusal backs the address off. A method, not a callback made per reply: one function for V8
   * to compile, with type feedback of its own.
   */
  private settle(outcome: ReceivedOutcome, batch: ReceivedBatch, addresses: readonly Address[], now: number): StoredChunks {
    const added: Address[] = [];
    const addedPositions: (readonly number[])[] = [];
    const { status, positions } = outcome;
    for (let i = 0; i < batch.count; i++) {
      const address = addresses[i] as Address;
      const state = status[i];
      if (state === Received.ADDED) {
        this.plan.succeed(address);
        added.push(address);
        addedPositions.push(positions[i] as readonly number[]);
      } else if (state === Received.HELD) {
        this.plan.succeed(address);
        this.stats.duplicateChunks++;
        this.stats.duplicateBytes += (batch.data[i] as Uint8Array).byteLength;
      } else {
        const hint = batch.hints[i] as number;
        this.plan.fail(address, now, hint < 0 ? undefined : hint); // e.g. rolled back meanwhile
      }
    }
    return storedColumns(added, addedPositions);
  }
}
