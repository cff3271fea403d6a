/**
 * A chain adapter as the node calls it (the follower, name resolution). The adapter is the
 * embedder's code, often a client of a remote chain node, so nothing it does may stall, corrupt or
 * crash the node:
 *
 * - every call ends when the caller's signal aborts, whatever the adapter does with the signal it
 *   is given, or after the timeout (TIMEOUT);
 * - a call that throws is CHAIN_FAILED, its error the cause (an AtlasError it throws stays as it is);
 * - what it answers is checked before anything is written or cut: a length that is not a whole
 *   number, a read that is not a list (CHAIN_FAILED); the announcements read are checked by the
 *   store that appends them, or by the caller that compares them;
 * - an event is checked and its list copied when it arrives, so an adapter that reuses its array
 *   loses nothing.
 */
import { abortedError, AtlasError, ErrorCodes, InvalidOptionError, isAtlasError } from '../errors.js';
import { describe } from '../options-overlay.js';
import type { Clock } from '../runtime.js';
import { checkAnnouncement } from './announcement.js';
import type { Announcement, ChainAdapter, ChainEvent, ChainListener } from './types.js';

/** How long one chain adapter call may take before it fails with TIMEOUT. */
export const DEFAULT_CHAIN_CALL_TIMEOUT_MS = 60_000;

export class GuardedChain {
  readonly #chain: ChainAdapter;
  readonly #clock: Clock;
  readonly #timeoutMs: number;

  /** INVALID_OPTION (`callTimeoutMs`) unless `timeoutMs` is a finite number of milliseconds > 0. */
  constructor(chain: ChainAdapter, clock: Clock, timeoutMs: number = DEFAULT_CHAIN_CALL_TIMEOUT_MS) {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new InvalidOptionError('callTimeoutMs', `expected a positive finite number of milliseconds, got ${describe(timeoutMs)}`);
    this.#chain = chain;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** The chain's length: a whole number, or CHAIN_FAILED. */
  async length(signal: AbortSignal): Promise<number> {
    const length = await this.#call('length()', (callSignal) => this.#chain.length({ signal: callSignal }), signal);
    if (!Number.isSafeInteger(length) || length < 0) throw failed(`length() answered ${describe(length)}, not a whole number`);
    return length;
  }

  /**
   * Up to `limit` announcements from `from`, as the adapter answered them (more than asked are
   * cut), in a list of our own: a list, or CHAIN_FAILED. Each is not checked here: a store checks
   * what it appends, and a caller comparing them checks them first (`checkAnnouncement`), so a
   * catch-up of millions is not checked twice. A shorter list is the chain's end as the adapter
   * sees it: callers decide what that means.
   */
  async read(from: number, limit: number, signal: AbortSignal): Promise<Announcement[]> {
    const page: unknown = await this.#call('read()', (callSignal) => this.#chain.read(from, limit, { signal: callSignal }), signal);
    if (!Array.isArray(page)) throw failed(`read(${from}, ${limit}) answered ${describe(page)}, not a list`);
    // Copied: the adapter may reuse its array while the store writes ours. Keeping the adapter's
    // own (one made by new Array(n), holey) through the writes of a 1,000,000-announcement
    // catch-up also grew the young generation for good: 15 MB more RSS in the memory benchmark.
    return page.slice(0, limit) as Announcement[];
  }

  /**
   * Subscribes `listener` to checked events; returns the unsubscribe function, which never throws.
   * The listener hears nothing once subscribe() is refused (a wrong shape answered) or the
   * unsubscribe function has been called, even when the adapter keeps it (its unsubscribe threw):
   * what the adapter holds is a relay to a box that is emptied then, so an adapter that outlives a
   * closed node holds nothing of the node.
   */
  subscribe(listener: (event: ChainEvent) => void, onBadEvent: (error: AtlasError) => void, onUnsubscribeError: (error: unknown) => void): () => void {
    const box: HooksBox = { hooks: { listener, onBadEvent, onUnsubscribeError } };
    let unsubscribe: unknown;
    try {
      unsubscribe = this.#chain.subscribe(relayTo(box));
    } catch (error) {
      box.hooks = undefined;
      throw isAtlasError(error) ? error : failed(`subscribe() threw: ${(error as Error)?.message ?? String(error)}`, error);
    }
    let stop: () => void;
    try {
      stop = unsubscribeOf(unsubscribe);
    } catch (error) {
      box.hooks = undefined;
      throw error;
    }
    return () => {
      const hooks = box.hooks;
      if (hooks === undefined) return;
      box.hooks = undefined;
      try {
        stop();
      } catch (error) {
        try {
          hooks.onUnsubscribeError(error);
        } catch {
          // told, and it threw too: nothing more to tell
        }
      }
    };
  }

  /** `call`, ended by `signal` (ABORTED) or the timeout (TIMEOUT) whether or not the adapter heeds the signal it is given. */
  #call<T>(what: string, call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(stopped(what, signal));
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const onAbort = (): void => {
        controller.abort(signal.reason);
        settle(() => reject(stopped(what, signal)));
      };
      const timer = this.#clock.setTimeout(() => {
        const error = new AtlasError(ErrorCodes.TIMEOUT, `the chain adapter's ${what} took longer than ${this.#timeoutMs} ms`);
        controller.abort(error);
        settle(() => reject(error));
      }, this.#timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      let work: Promise<T>;
      try {
        work = Promise.resolve(call(controller.signal));
      } catch (error) {
        work = Promise.reject(error);
      }
      work.then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(isAtlasError(error) ? error : failed(`${what} failed: ${(error as Error)?.message ?? String(error)}`, error))),
      );
    });
  }
}

/** A chain event as the adapter sent it, checked; an append's list is copied (the adapter may reuse its array). */
function checkedEvent(event: unknown): ChainEvent {
  const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
  if (type === 'append') {
    const announcements = (event as { announcements?: unknown }).announcements;
    if (!Array.isArray(announcements)) throw badEvent(`an append event's announcements are ${describe(announcements)}, not a list`);
    const first = (announcements[0] as { position?: unknown } | undefined)?.position;
    if (announcements.length > 0 && (!Number.isSafeInteger(first) || (first as number) < 0)) throw badEvent(`an append event's first position is ${describe(first)}, not a whole number`);
    // Checked one by one (in order from the first), which copies them: the adapter may reuse its array and objects.
    return { type, announcements: announcements.map((announcement, i) => checkAnnouncement(announcement, (first as number) + i)) };
  }
  if (type === 'rollback') {
    const length = (event as { length?: unknown }).length;
    if (!Number.isSafeInteger(length) || (length as number) < 0) throw badEvent(`a rollback event's length is ${describe(length)}, not a whole number`);
    return { type, length: length as number };
  }
  throw badEvent(`a chain event is { type: 'append', announcements } or { type: 'rollback', length }, got ${describe(event)}`);
}

/** A subscriber's callbacks, emptied when it stops listening. */
interface HooksBox {
  hooks: { listener: (event: ChainEvent) => void; onBadEvent: (error: AtlasError) => void; onUnsubscribeError: (error: unknown) => void } | undefined;
}

/**
 * The listener handed to the adapter: checks each event and passes it on while `box` holds the
 * callbacks. Built here, not inside subscribe(), so that it captures the box alone (closures made
 * in one call share what any of them captures).
 */
function relayTo(box: HooksBox): ChainListener {
  return ((event: unknown) => {
    const hooks = box.hooks;
    if (hooks === undefined) return;
    let checked: ChainEvent;
    try {
      checked = checkedEvent(event);
    } catch (error) {
      hooks.onBadEvent(error as AtlasError);
      return;
    }
    hooks.listener(checked);
  }) as ChainListener;
}

/** The unsubscribe function subscribe() returned: a function, or an object with unsubscribe() (as some emitters answer). */
function unsubscribeOf(value: unknown): () => void {
  if (typeof value === 'function') return value as () => void;
  const method = typeof value === 'object' && value !== null ? (value as { unsubscribe?: unknown }).unsubscribe : undefined;
  if (typeof method === 'function') return () => (method as () => void).call(value);
  throw new InvalidOptionError('chain', `subscribe() must return its unsubscribe function, got ${describe(value)}`);
}

/** What a call ended by its caller's signal rejects with: the signal's reason when it is an AtlasError (CLOSED when its owner closed), else ABORTED. */
function stopped(what: string, signal: AbortSignal): AtlasError {
  return isAtlasError(signal.reason) ? signal.reason : abortedError(`the chain adapter's ${what}`, signal);
}

function failed(message: string, cause?: unknown): AtlasError {
  return new AtlasError(ErrorCodes.CHAIN_FAILED, `chain adapter: ${message}`, undefined, cause === undefined ? undefined : { cause });
}

function badEvent(message: string): AtlasError {
  return new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, `chain adapter: ${message}`);
}
