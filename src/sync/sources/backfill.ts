/**
 * Never gives up on an announced chunk. Every announced address the store does not hold is
 * tracked with the time it was first seen missing; it is asked of every source in turn (the
 * bytes checked against the address, whatever the source), and after a round where none had it,
 * retried after an exponential back-off that grows to a cap and then stays there, forever.
 * A source that says it newly holds an address makes that address due at once.
 */
import { NO_CHUNK_ADDRESS, type Address } from '../../address.js';
import { AtlasError, ErrorCodes, InvalidOptionError, isAtlasError } from '../../errors.js';
import { hash160Hex } from '../../hash/index.js';
import { silentLogger, type Clock, type Logger, type Random } from '../../runtime.js';
import { Deadline } from '../../protocol/deadline.js';
import { overlayChecked } from '../../options-overlay.js';
import type { ChunkStore, PutOutcome } from '../../store/types.js';
import type { ChunkSource } from './types.js';
import { SequenceGrowth } from './sequence-growth.js';
import { BACKFILL_RULES, DEFAULT_BACKFILL, type BackfillOptions, type MissingChunk, type MissingEntry } from './backfill-types.js';



/** What #ask returns when the chunk was stored while the source answered (by the source itself, or the downloader). */
const ALREADY_STORED = Symbol('already stored');

/** Most addresses remembered as announced by a source before the scan sees them. */
const MAX_WOKEN = 100_000;

/** What `new Backfiller(...)` works with: the store to fill, the sources to ask, and its clock, options and callbacks. */
export interface BackfillerInit {
  store: ChunkStore;
  sources: readonly ChunkSource[];
  clock: Clock;
  random?: Random;
  logger?: Logger;
  /** Called after chunks were stored by the backfiller. */
  onStored?: (outcomes: readonly (PutOutcome & { ok: true })[], source: string) => void;
  options?: Partial<BackfillOptions>;
}

/**
 * Never gives up on an announced chunk: every announced address the store lacks is asked of each
 * chunk source in turn, the bytes checked against the address, and retried with a capped
 * exponential back-off forever.
 */
export class Backfiller {
  readonly options: Readonly<BackfillOptions>;
  readonly #init: BackfillerInit;
  readonly #logger: Logger;
  /** Bounded by the announced addresses not held: the chain decides its size, not a remote party. */
  #entries = new Map<Address, MissingEntry>();
  /** The latest firstSeen added, and whether an entry older than an earlier one was added since the entries were last put in order. */
  #newestSeen = -Infinity;
  #unordered = false;
  readonly #inFlight = new Set<Address>();
  /** Addresses due, in the order they are started; rebuilt every round. */
  #queue: Address[] = [];
  #queueAt = 0;
  /** Addresses a source said it now holds: started before the round's queue, in that order. */
  readonly #urgent = new Set<Address>();
  /**
   * Sources resting after a timeout or an unreachable call, until when, and their failures in a
   * row: one that stalls would otherwise cost every address its full timeout, holding the other
   * addresses (and the sources after it) to `concurrency` per `sourceTimeoutMs`.
   */
  readonly #resting = new Map<ChunkSource, { until: number; failures: number }>();
  #rescanQueued = false;
  readonly #unsubscribes: (() => void)[] = [];
  /** Addresses a source said it holds, made due when the scan finds them missing. */
  readonly #woken = new Set<Address>();
  /** The sequence the missing set was built from: its length and digest (a rollback changes the digest). */
  #scannedAt = { length: -1, digest: '' };
  /**
   * When the sequence reached each length since the last scan: a position a scan finds missing
   * was known from then. The missing set itself is built only when asked for (or by a running
   * round), so a node without sources keeps no entry per chunk.
   */
  readonly #growth = new SequenceGrowth();
  #timer: unknown;
  #abort: AbortController | undefined;
  /** Missing chunks stored by the backfiller (its own put, or a source that stores what it fetches). */
  stored = 0;
  /** Missing chunks found held once a source answered, stored meanwhile by another path (the downloader, a push). */
  heldMeanwhile = 0;
  /** Replies whose bytes did not hash to the address. */
  refused = 0;

  /** INVALID_OPTION for an option BACKFILL_RULES refuses, or no sources to ask. */
  constructor(init: BackfillerInit) {
    this.options = overlayChecked('backfill', DEFAULT_BACKFILL, init.options, BACKFILL_RULES);
    if (!Array.isArray(init.sources) || init.sources.length === 0) throw new InvalidOptionError('sources', 'expected at least one chunk source to ask');
    this.#init = init;
    this.#logger = init.logger ?? silentLogger;
    this.#mark();
  }

  get running(): boolean {
    return this.#abort !== undefined;
  }

  start(): void {
    if (this.#abort) return;
    this.#abort = new AbortController();
    for (const source of this.#init.sources) {
      const unsubscribe = source.onAvailable?.((address) => this.wake(address));
      if (unsubscribe) this.#unsubscribes.push(unsubscribe);
    }
    this.#schedule(0);
  }

  /** Stops retrying and aborts fetches in flight; resolves at once. */
  stop(): void {
    this.#abort?.abort(new AtlasError(ErrorCodes.CLOSED, 'backfill stopped'));
    this.#abort = undefined;
    if (this.#timer !== undefined) this.#init.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#urgent.clear();
    for (const unsubscribe of this.#unsubscribes.splice(0)) unsubscribe();
  }

  /** Makes `address` (or every missing address) due now, and runs a round soon. */
  wake(address?: Address): void {
    const now = this.#init.clock.now();
    if (address === undefined) for (const entry of this.#entries.values()) entry.nextAttemptAt = now;
    else {
      if (!this.#entries.has(address)) this.#scan(); // cheap unless the store changed since
      const entry = this.#entries.get(address);
      if (entry) {
        entry.nextAttemptAt = now;
        if (this.#urgent.size < MAX_WOKEN) this.#urgent.add(address);
        this.#pump();
      } else {
        if (this.#woken.size >= MAX_WOKEN) this.#woken.clear();
        this.#woken.add(address);
      }
    }
    if (address === undefined && this.#abort && this.#timer !== undefined) {
      this.#init.clock.clearTimeout(this.#timer);
      this.#schedule(0);
    }
  }

  /**
   * The store's sequence changed (announcements appended or rolled back): notes when its new
   * positions became known (`ageMs`), running or not; when running, rescans soon, so an address a
   * source already announced as held is fetched now rather than at the next round.
   */
  sequenceChanged(): void {
    this.#mark();
    if (!this.#abort || this.#rescanQueued) return;
    this.#rescanQueued = true;
    queueMicrotask(() => {
      this.#rescanQueued = false;
      if (this.#woken.size > 0) this.round();
    });
  }

  /**
   * Announced chunks not held, oldest first, at most `limit`. Walks the tracked set in the order
   * entries were made (oldest first), dropping chunks stored since, and stops at `limit`.
   */
  missing(limit = Number.POSITIVE_INFINITY): MissingChunk[] {
    this.#scan();
    const now = this.#init.clock.now();
    const out: MissingChunk[] = [];
    if (this.#unordered) this.#order();
    for (const [address, entry] of this.#entries) {
      if (out.length >= limit) break;
      if (this.#dropIfHeld(address)) continue;
      const item: MissingChunk = { address, positions: this.#init.store.positionsOf(address), ageMs: now - entry.firstSeen, attempts: entry.attempts, nextAttemptAt: entry.nextAttemptAt };
      if (entry.lastAttemptAt !== undefined) item.lastAttemptAt = entry.lastAttemptAt;
      if (entry.lastError !== undefined) item.lastError = entry.lastError;
      out.push(item);
    }
    return out;
  }

  /**
   * A chunk held before was lost (found corrupt and removed): missing again from now. A scan
   * reads only newly announced positions, so without this it would be listed only after a
   * rollback.
   */
  lost(address: Address): void {
    const { store } = this.#init;
    if (this.#entries.has(address) || store.has(address) || store.positionsOf(address).length === 0) return;
    const now = this.#init.clock.now();
    this.#add(address, { firstSeen: now, attempts: 0, nextAttemptAt: now + this.options.graceMs });
  }

  /** How many announced chunks are tracked as not held (chunks stored since the last look may still count). */
  get missingCount(): number {
    this.#scan();
    return this.#entries.size;
  }

  /** Tracks a missing chunk; notes when it is older than one tracked before it (a scan's, aged from when it was announced, after a loss). */
  #add(address: Address, entry: MissingEntry): void {
    this.#entries.set(address, entry);
    if (entry.firstSeen < this.#newestSeen) this.#unordered = true;
    else this.#newestSeen = entry.firstSeen;
  }

  /** Puts the entries back in the order missing() promises, oldest first (rare: after a loss). */
  #order(): void {
    this.#entries = new Map([...this.#entries].sort(([, a], [, b]) => a.firstSeen - b.firstSeen));
    this.#unordered = false;
  }

  /** Forgets `address` when the store holds it now (stored by the downloader or a source). */
  #dropIfHeld(address: Address): boolean {
    if (!this.#init.store.has(address)) return false;
    this.#entries.delete(address);
    return true;
  }

  /** One round: refreshes the missing set and queues the due addresses for fetching. */
  round(): void {
    this.#scan();
    const now = this.#init.clock.now();
    this.#queue = [];
    this.#queueAt = 0;
    for (const [address, entry] of this.#entries) if (entry.nextAttemptAt <= now && !this.#inFlight.has(address)) this.#queue.push(address);
    this.#pump();
  }

  /** Starts queued fetches while slots are free; each one that ends starts the next. */
  #pump(): void {
    const now = this.#init.clock.now();
    while (this.#abort && this.#inFlight.size < this.options.concurrency && (this.#urgent.size > 0 || this.#queueAt < this.#queue.length)) {
      const address = this.#urgent.size > 0 ? this.#takeUrgent() : (this.#queue[this.#queueAt++] as Address);
      const entry = this.#entries.get(address);
      if (entry === undefined || entry.nextAttemptAt > now || this.#inFlight.has(address) || this.#dropIfHeld(address)) continue;
      void this.#attempt(address)
        .catch((error: unknown) => this.#logger.error('backfill attempt failed', { address, error: String(error) }))
        .finally(() => this.#pump());
    }
  }

  #takeUrgent(): Address {
    const [address] = this.#urgent as Iterable<Address>;
    this.#urgent.delete(address as Address);
    return address as Address;
  }

  #schedule(delayMs: number): void {
    if (!this.#abort) return;
    this.#timer = this.#init.clock.setTimeout(() => {
      this.#timer = undefined;
      // Fetches run in the background; the next round re-queues what is due.
      this.round();
      this.#schedule(this.options.intervalMs);
    }, delayMs);
  }

  /**
   * Brings the missing set in line with the sequence, only when the sequence changed: after an
   * append only the new positions are read; after a rollback (the digest of the old length no
   * longer matches) every position is. Chunks stored since are dropped lazily (`#dropIfHeld`).
   */
  #scan(): void {
    const store = this.#init.store;
    const length = store.sequenceLength();
    const digest = store.sequenceDigest();
    const previous = this.#scannedAt;
    if (length === previous.length && digest === previous.digest) return;
    this.#scannedAt = { length, digest };
    const appended = previous.length >= 0 && length > previous.length && store.sequenceDigest(previous.length) === previous.digest;
    const seen = appended ? undefined : new Set<Address>();
    this.#track(appended ? previous.length : 0, length, seen);
    // The marks are all from before this scan: a position a later scan first finds missing was held (or unannounced) now.
    this.#growth.clear();
    if (seen) for (const address of this.#entries.keys()) if (!seen.has(address)) this.#entries.delete(address);
  }

  #mark(): void {
    this.#growth.mark(this.#init.store.sequenceLength(), this.#init.clock.now());
  }

  /** Tracks every address announced in [from, to) and not held; adds each to `seen`. */
  #track(from: number, to: number, seen: Set<Address> | undefined): void {
    const store = this.#init.store;
    const now = this.#init.clock.now();
    const knownSince = this.#growth.reader(now);
    for (let position = from; position < to; position++) {
      if (store.inventory.has(position)) continue;
      const address = store.addressAt(position);
      if (address === undefined || address === NO_CHUNK_ADDRESS) continue;
      seen?.add(address);
      if (!this.#entries.has(address)) {
        const firstSeen = knownSince(position);
        const woken = this.#woken.delete(address);
        this.#add(address, { firstSeen, attempts: 0, nextAttemptAt: woken ? now : now + this.options.graceMs });
        if (woken && this.#urgent.size < MAX_WOKEN) this.#urgent.add(address); // a source holds it: first
      }
    }
  }

  async #attempt(address: Address): Promise<void> {
    const entry = this.#entries.get(address);
    const lifetime = this.#abort?.signal;
    if (entry === undefined || lifetime === undefined) return;
    this.#inFlight.add(address);
    const errors: string[] = [];
    let asked = 0;
    let restingUntil = Infinity;
    try {
      for (const source of this.#init.sources) {
        if (lifetime.aborted || this.#dropIfHeld(address)) return;
        const rest = this.#resting.get(source);
        if (rest !== undefined) {
          const now = this.#init.clock.now();
          if (rest.until > now) {
            restingUntil = Math.min(restingUntil, rest.until);
            errors.push(`${source.name}: resting`);
            continue;
          }
          // Its rest is over: this address probes it, the others pass it by for the probe's time.
          rest.until = now + this.options.sourceTimeoutMs;
        }
        asked++;
        const data = await this.#ask(source, address, lifetime, errors);
        if (data === undefined) continue;
        if (data === ALREADY_STORED) {
          this.#entries.delete(address);
          if (source.storesWhatItFetches === true) this.stored++;
          else this.heldMeanwhile++;
          return;
        }
        const outcome = (await this.#init.store.putVerified([{ address, data }]))[0];
        if (outcome?.ok) {
          this.#entries.delete(address);
          if (outcome.added) {
            this.stored++;
            this.#init.onStored?.([outcome], source.name);
          } else this.heldMeanwhile++;
          return;
        }
        errors.push(`${source.name}: ${outcome?.error.code ?? 'refused'}`);
      }
      if (lifetime.aborted) return;
      const now = this.#init.clock.now();
      if (asked === 0) {
        // Every source resting: not an attempt; due again when the first of them wakes.
        entry.nextAttemptAt = Math.max(restingUntil, now);
        return;
      }
      entry.attempts++;
      entry.lastAttemptAt = now;
      const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(entry.attempts - 1, 30));
      entry.nextAttemptAt = now + delay * (0.75 + 0.5 * (this.#init.random ?? Math.random)());
      if (errors.length > 0) entry.lastError = errors.join('; ').slice(0, 500);
      else delete entry.lastError;
    } finally {
      this.#inFlight.delete(address);
    }
  }

  /** `source` timed out or could not be reached: it rests sourceTimeoutMs, doubling with each rest in a row up to retryMaxMs. */
  #rest(source: ChunkSource): void {
    const now = this.#init.clock.now();
    const current = this.#resting.get(source);
    // Calls made before it rested, failing together, are one failure. (A probe fails at the very
    // end of its window, `until`; whole-millisecond timers may fire a fraction early: 1 ms of slack.)
    if (current !== undefined && current.until - 1 > now) return;
    const failures = (current?.failures ?? 0) + 1;
    const restMs = Math.min(this.options.retryMaxMs, this.options.sourceTimeoutMs * 2 ** Math.min(failures - 1, 30));
    this.#resting.set(source, { until: now + restMs, failures });
  }

  /**
   * Asks one source; returns bytes only when they hash to `address`, or ALREADY_STORED when the
   * store holds the chunk once the source answered (the peers source verifies and stores what it
   * fetches): then nothing is hashed or stored a second time.
   */
  async #ask(source: ChunkSource, address: Address, lifetime: AbortSignal, errors: string[]): Promise<Uint8Array | typeof ALREADY_STORED | undefined> {
    // On the node's clock; raced, so a source that ignores its signal cannot hold a slot past it.
    const deadline = new Deadline(this.#init.clock, this.options.sourceTimeoutMs, { base: lifetime });
    try {
      const data = await deadline.race(source.fetch(address, { signal: deadline.signal, maxBytes: this.#init.store.maxChunkSize }));
      this.#resting.delete(source); // it answers
      if (data === undefined) return undefined;
      if (this.#init.store.has(address)) return ALREADY_STORED;
      if (data.length === 0 || data.length > this.#init.store.maxChunkSize || hash160Hex(data) !== address) {
        this.refused++;
        errors.push(`${source.name}: bytes do not hash to the address`);
        this.#logger.warn('backfill: a source sent bytes that do not match the address', { source: source.name, address });
        return undefined;
      }
      return data;
    } catch (error) {
      if (lifetime.aborted) return undefined;
      const code = deadline.expired ? ErrorCodes.TIMEOUT : isAtlasError(error) ? error.code : ErrorCodes.UNREACHABLE;
      errors.push(`${source.name}: ${code}`);
      if (code === ErrorCodes.TIMEOUT || code === ErrorCodes.UNREACHABLE) this.#rest(source);
      else this.#resting.delete(source); // it answers, with an error
      return undefined;
    } finally {
      deadline.dispose();
    }
  }
}
