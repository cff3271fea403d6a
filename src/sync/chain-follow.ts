/**
 * Keeps a ChunkStore's sequence in step with a ChainAdapter.
 *
 * start() subscribes, then reconciles: a store longer than the chain is truncated; the store's
 * last `checkDepth` announcements are compared with the chain's (a reorganisation while the node
 * was offline) and, where they differ, the store is truncated back to the common prefix (the
 * window doubles until a matching announcement is found); then the store catches up from its own
 * length in bounded pages. After that, chain events are applied in order. Every store write goes
 * through one worker, so no two ever overlap. An event that does not fit the store (a gap, or an
 * overlap that disagrees with it) and an overflow of the bounded event queue trigger a new
 * reconcile, which reads the chain's current state instead.
 *
 * The adapter is called through GuardedChain (chain/guarded.ts): bounded, typed, checked. Only a
 * well-formed announcement at the right position with another address is a reorganisation: a read
 * that answers less than the chain's length, or a length that drops while the chain still holds
 * announcements past it, is the adapter failing (CHAIN_FAILED), and cuts nothing. A failure while
 * following live is retried after retryMs, doubling up to 64 times that, until a reconcile succeeds.
 */
import { abortedError, AtlasError, ErrorCodes, InvalidOptionError } from '../errors.js';
import { SerialQueue, silentLogger, systemClock, type Clock, type Logger, type TimerHandle } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import type { Announcement, ChainAdapter, ChainEvent } from '../chain/types.js';
import { checkAnnouncement } from '../chain/announcement.js';
import { DEFAULT_CHAIN_CALL_TIMEOUT_MS, GuardedChain } from '../chain/guarded.js';
import { numberRule, type OverlayRules } from '../options-overlay.js';

export const DEFAULT_FOLLOW_PAGE_SIZE = 10_000;
export const DEFAULT_FOLLOW_CHECK_DEPTH = 16;
export const DEFAULT_FOLLOW_MAX_PENDING_EVENTS = 1_000;
export const DEFAULT_FOLLOW_RETRY_MS = 1_000;
/** The longest wait between two retries after a failure, in times retryMs. */
const MAX_RETRY_FACTOR = 64;
/** Reconciles started over within one, for a chain whose length dropped while it was read (a rollback under way). */
const MAX_RECONCILE_RESTARTS = 3;

/** The following limits a node takes as its `follow` option: ChainFollowerOptions' numbers (DEFAULT_FOLLOW). */
export type FollowOptions = Required<Pick<ChainFollowerOptions, 'pageSize' | 'checkDepth' | 'maxPendingEvents' | 'callTimeoutMs' | 'retryMs'>>;

/** Defaults of FollowOptions. */
export const DEFAULT_FOLLOW: Readonly<FollowOptions> = Object.freeze({
  pageSize: DEFAULT_FOLLOW_PAGE_SIZE,
  checkDepth: DEFAULT_FOLLOW_CHECK_DEPTH,
  maxPendingEvents: DEFAULT_FOLLOW_MAX_PENDING_EVENTS,
  callTimeoutMs: DEFAULT_CHAIN_CALL_TIMEOUT_MS,
  retryMs: DEFAULT_FOLLOW_RETRY_MS,
});

/** What each following limit must be (the node checks its `follow` option by them), as ChainFollower checks them. */
export const FOLLOW_RULES: OverlayRules = {
  numbers: numberRule({ positiveIntegers: ['pageSize', 'checkDepth', 'maxPendingEvents', 'retryMs'], positive: ['callTimeoutMs'] }),
};

/** Options of `ChainFollower`. */
export interface ChainFollowerOptions {
  store: ChunkStore;
  chain: ChainAdapter;
  /** Announcements per chain read while catching up (default 10,000). */
  pageSize?: number;
  /** How many of the store's last announcements are checked against the chain at start (default 16). */
  checkDepth?: number;
  /** Chain events queued before the follower gives up on them and reconciles instead (default 1,000). */
  maxPendingEvents?: number;
  /** How long one call to the chain adapter may take before it fails with TIMEOUT (default 60,000 ms). */
  callTimeoutMs?: number;
  /** First wait before a reconcile is tried again after a failure while following (default 1,000 ms; doubles, up to 64 times). */
  retryMs?: number;
  /** Times the calls and the retries (default the system clock). */
  clock?: Clock;
  /** Called after announcements [from, from + count) were appended to the store. */
  onAppend?: (from: number, count: number) => void;
  /** Called after the store was truncated to `length` announcements. */
  onRollback?: (length: number) => void;
  /** Called with an error met while following live (start() rejects with errors of the first catch-up). */
  onError?: (error: unknown) => void;
  logger?: Logger;
}

/** Keeps a chunk store in step with a chain adapter: applies announcements and rollbacks in order. */
export class ChainFollower {
  readonly #store: ChunkStore;
  readonly #chain: GuardedChain;
  readonly #clock: Clock;
  readonly #retryMs: number;
  readonly #pageSize: number;
  readonly #checkDepth: number;
  readonly #maxPending: number;
  readonly #options: ChainFollowerOptions;
  readonly #logger: Logger;
  /** Store writes, one at a time, in the order the chain's events arrived. */
  readonly #queue = new SerialQueue();
  /** Event tasks queued and not yet started. */
  #queued = 0;
  /** A reconcile task is queued and not yet started (events meanwhile are redundant). */
  #reconcileQueued = false;
  /** Set after a live error: the next event reconciles instead of applying an increment. */
  #afterError = false;
  /** Failures in a row while following live (the retry's wait doubles with each). */
  #failures = 0;
  #retryTimer: TimerHandle | undefined;
  #unsubscribe: (() => void) | undefined;
  #abort: AbortController | undefined;
  #detachSignal: (() => void) | undefined;
  #running = false;
  /** Counts start(): work queued by an earlier run (a start that did not wait for its stop) is dropped, its failures not reported. */
  #run = 0;

  constructor(options: ChainFollowerOptions);
  constructor(store: ChunkStore, chain: ChainAdapter, options?: Omit<ChainFollowerOptions, 'store' | 'chain'>);
  constructor(first: ChainFollowerOptions | ChunkStore, chain?: ChainAdapter, rest: Omit<ChainFollowerOptions, 'store' | 'chain'> = {}) {
    const options: ChainFollowerOptions = chain === undefined ? (first as ChainFollowerOptions) : { ...rest, store: first as ChunkStore, chain };
    this.#store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.#chain = new GuardedChain(options.chain, this.#clock, options.callTimeoutMs);
    this.#retryMs = positive(options.retryMs, DEFAULT_FOLLOW_RETRY_MS, 'retryMs');
    this.#pageSize = positive(options.pageSize, DEFAULT_FOLLOW_PAGE_SIZE, 'pageSize');
    this.#checkDepth = positive(options.checkDepth, DEFAULT_FOLLOW_CHECK_DEPTH, 'checkDepth');
    this.#maxPending = positive(options.maxPendingEvents, DEFAULT_FOLLOW_MAX_PENDING_EVENTS, 'maxPendingEvents');
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  get running(): boolean {
    return this.#running;
  }

  /**
   * Subscribes to the chain and catches up; resolves when the store holds the chain's sequence as
   * it was during the catch-up, then keeps following until stop() or the signal aborts. Rejects
   * (and stops) when the catch-up fails, with ABORTED when the signal aborted it.
   */
  async start(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#running) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'the chain follower is already running');
    const { signal } = options;
    if (signal?.aborted) throw abortedError('chain following', signal);
    this.#running = true;
    const run = ++this.#run;
    this.#afterError = false;
    this.#failures = 0;
    this.#queued = 0;
    this.#abort = new AbortController();
    if (signal) {
      const onAbort = () => void this.stop();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#detachSignal = () => signal.removeEventListener('abort', onAbort);
    }
    try {
      this.#unsubscribe = this.#chain.subscribe(
        (event) => this.#onEvent(event),
        (error) => this.#failed(error),
        (error) => this.#logger.warn('chain follower: the chain adapter\'s unsubscribe threw', { error: String(error) }),
      );
      await this.#enqueueReconcile();
      if (!this.#running) throw signal?.aborted ? abortedError('chain following', signal) : new AtlasError(ErrorCodes.ABORTED, 'the chain follower was stopped');
    } catch (error) {
      if (run === this.#run) await this.stop();
      throw signal?.aborted ? abortedError('chain following', signal) : error;
    }
  }

  /** Stops following: unsubscribes, drops queued events and waits for the store write in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    // Aborted first: the chain call in flight ends now, whatever the adapter does.
    this.#abort?.abort(new AtlasError(ErrorCodes.ABORTED, 'the chain follower was stopped'));
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#detachSignal?.();
    this.#detachSignal = undefined;
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#queue.idle();
  }

  /** Resolves when every event received so far has been applied. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Reconciles with the chain now (e.g. when the host knows the chain changed while unsubscribed). */
  resync(): Promise<void> {
    if (!this.#running) return Promise.reject(new AtlasError(ErrorCodes.NOT_STARTED, 'the chain follower is not running'));
    return this.#enqueueReconcile();
  }

  #onEvent(event: ChainEvent): void {
    if (!this.#running || this.#reconcileQueued) return;
    const run = this.#run;
    if (this.#queued >= this.#maxPending) {
      this.#logger.warn('chain follower: too many chain events queued; reconciling with the chain instead', { queued: this.#queued });
      void this.#enqueueReconcile().catch((error: unknown) => this.#failed(error, run));
      return;
    }
    this.#queued++;
    void this.#queue
      .run(() => {
        if (run !== this.#run) return undefined;
        this.#queued--;
        if (!this.#running) return undefined;
        if (this.#afterError) return this.#reconcileAfterError();
        return this.#apply(event);
      })
      .catch((error: unknown) => this.#failed(error, run));
  }

  /** A reconcile after a live failure: when it succeeds, following is back in step and the retries stop. */
  async #reconcileAfterError(): Promise<void> {
    this.#afterError = false;
    await this.#reconcile();
    this.#failures = 0;
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #enqueueReconcile(): Promise<void> {
    this.#reconcileQueued = true;
    return this.#enqueue(() => {
      this.#reconcileQueued = false;
      // Events queued before this point are covered by reading the chain's current state.
      return this.#reconcile();
    });
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#run;
    return this.#queue.run(() => (this.#running && run === this.#run ? task() : undefined));
  }

  /** A live failure of run `run`: reported, and a reconcile is tried again after a wait that doubles with each failure in a row. */
  #failed(error: unknown, run = this.#run): void {
    if (!this.#running || run !== this.#run) return;
    this.#afterError = true;
    this.#logger.error('chain follower: failed to apply chain changes', { error: String(error) });
    this.#notify(() => this.#options.onError?.(error));
    // Events failing while a retry is pending are not retries: only a retry that fails doubles the wait.
    if (this.#retryTimer !== undefined) return;
    this.#failures++;
    const wait = this.#retryMs * Math.min(MAX_RETRY_FACTOR, 2 ** (this.#failures - 1));
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#running || !this.#afterError) return;
      void this.#enqueue(() => (this.#afterError ? this.#reconcileAfterError() : Promise.resolve())).catch((failure: unknown) => this.#failed(failure, run));
    }, wait);
  }

  async #apply(event: ChainEvent): Promise<void> {
    if (event.type === 'rollback') {
      if (event.length < this.#store.sequenceLength()) await this.#truncate(event.length);
      return;
    }
    const announcements = event.announcements;
    if (announcements.length === 0) return;
    const length = this.#store.sequenceLength();
    const first = (announcements[0] as Announcement).position;
    if (first > length) return this.#reconcile(); // a gap: events were missed
    const fresh: Announcement[] = [];
    for (const announcement of announcements) {
      if (announcement.position < length) {
        if (this.#store.addressAt(announcement.position) !== String(announcement.address).toLowerCase()) return this.#reconcile();
      } else {
        fresh.push(announcement);
      }
    }
    if (fresh.length > 0) await this.#append(fresh);
  }

  /**
   * Brings the store in step with the chain's current state. A read that answers less than the
   * length the chain gave is a rollback under way when the chain's length has dropped since: the
   * reconcile starts over (at most MAX_RECONCILE_RESTARTS times); otherwise it is the adapter
   * failing (CHAIN_FAILED), and nothing is cut.
   */
  async #reconcile(): Promise<void> {
    const signal = (this.#abort as AbortController).signal;
    for (let restarts = 0; ; restarts++) {
      const chainLength = await this.#chain.length(signal);
      if (this.#store.sequenceLength() > chainLength) {
        // A length that drops while the chain still holds what is past it is the adapter's mistake, not a rollback.
        const beyond = await this.#chain.read(chainLength, 1, signal);
        if (beyond.length > 0) throw new AtlasError(ErrorCodes.CHAIN_FAILED, `chain adapter: length() answered ${chainLength}, but read() still answers position ${chainLength}`, { length: chainLength });
        await this.#truncate(chainLength);
      }
      const short = await this.#truncateToCommonPrefix(signal);
      if (short === undefined) while (this.#running && (await this.#appendNextPage(signal)) > 0);
      const from = short ?? this.#store.sequenceLength();
      if (!this.#running || from >= chainLength) return;
      if (restarts < MAX_RECONCILE_RESTARTS && (await this.#chain.length(signal)) < chainLength) continue;
      throw new AtlasError(ErrorCodes.CHAIN_FAILED, `chain adapter: length() answered ${chainLength}, but read() answers nothing from ${from}`, { length: chainLength, from });
    }
  }

  /** Reads the chain's next page and appends it; answers how many were read (0: caught up). */
  async #appendNextPage(signal: AbortSignal): Promise<number> {
    const page = await this.#chain.read(this.#store.sequenceLength(), this.#pageSize, signal);
    if (page.length === 0 || !this.#running) return 0;
    // Returned, not awaited here: the page is not kept alive while the store writes it.
    const count = page.length;
    return this.#append(page).then(() => count);
  }

  /**
   * Compares the store's tail with the chain and truncates the store where they part: where the
   * chain holds another address at a position, never where it answers nothing (the reads were
   * checked: each announcement is at its position and well formed). Answers the position from which
   * the chain answered nothing, when it did (the store is then left as it is), else undefined.
   */
  async #truncateToCommonPrefix(signal: AbortSignal): Promise<number | undefined> {
    const length = this.#store.sequenceLength();
    let window = this.#checkDepth;
    for (;;) {
      const from = Math.max(0, length - window);
      const chainPart = await this.#readRange(from, length, signal);
      if (chainPart.length < length - from) return from + chainPart.length;
      let mismatch = -1;
      for (let position = from; position < length; position++) {
        if (checkAnnouncement(chainPart[position - from], position).address !== this.#store.addressAt(position)) {
          mismatch = position;
          break;
        }
      }
      if (mismatch === -1) return undefined;
      // [from, mismatch) agree; when nothing in the window agrees, look further back.
      if (mismatch > from || from === 0) {
        this.#logger.info('chain follower: the chain was reorganised; truncating the store', { length: mismatch, was: length });
        await this.#truncate(mismatch);
        return undefined;
      }
      window *= 2;
    }
  }

  async #readRange(from: number, to: number, signal: AbortSignal): Promise<Announcement[]> {
    const out: Announcement[] = [];
    while (from + out.length < to) {
      const page = await this.#chain.read(from + out.length, Math.min(this.#pageSize, to - from - out.length), signal);
      if (page.length === 0) break;
      for (const announcement of page) out.push(announcement);
    }
    return out;
  }

  /** Not async: the store packs the batch at once, and nothing here holds it while it is written. */
  #append(announcements: readonly Announcement[]): Promise<void> {
    const from = this.#store.sequenceLength();
    const count = announcements.length;
    return this.#store.append(announcements).then(() => this.#notify(() => this.#options.onAppend?.(from, count)));
  }

  async #truncate(length: number): Promise<void> {
    await this.#store.truncate(length);
    this.#notify(() => this.#options.onRollback?.(length));
  }

  #notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.#logger.error('chain follower: a callback threw', { error: String(error) });
    }
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidOptionError(name, `expected a positive integer, got ${String(value)}`);
  return value;
}
