import { AtlasError, InvalidOptionError, abortedError } from '../errors.js';
import { MAX_TIMER_MS } from '../runtime.js';
import type { CallOptions } from './types.js';

/**
 * What a call whose signal aborted rejects with: the signal's reason when it is an AtlasError (a
 * Deadline's TIMEOUT, say), else ABORTED. Every transport ends its calls this way.
 */
export function callAbortedError(signal: AbortSignal): AtlasError {
  return signal.reason instanceof AtlasError ? signal.reason : abortedError('call', signal);
}

/**
 * Refuses a call option no transport knows (INVALID_OPTION naming it): `timeout` for `timeoutMs`
 * would otherwise give the call no deadline of its own, silently. A loop over the keys, no array
 * made: it runs once a call.
 */
export function checkCallOptionNames(options: CallOptions): void {
  for (const key in options) {
    if (key !== 'signal' && key !== 'timeoutMs' && key !== 'maxReplyBytes') throw new InvalidOptionError(key, 'unknown call option (signal, timeoutMs, maxReplyBytes)');
  }
}

/**
 * How long a call may take: the transport's own backstop, or the call's `timeoutMs` when shorter
 * (a negative one as 0; NaN, an infinity or none as no limit of its own, as a Deadline reads them),
 * capped at what a timer holds; Infinity when neither limits it.
 */
export function callTimeout(backstopMs: number, timeoutMs: number | undefined): number {
  const ms = timeoutMs === undefined || !Number.isFinite(timeoutMs) ? backstopMs : Math.min(backstopMs, Math.max(0, timeoutMs));
  return Number.isFinite(ms) ? Math.min(ms, MAX_TIMER_MS) : ms;
}

/** The largest reply a call takes: the transport's own bound, or the call's `maxReplyBytes` when smaller (one that is not a number >= 0 counts as none). */
export function replyBound(transportBytes: number, callBytes: number | undefined): number {
  return callBytes !== undefined && callBytes >= 0 ? Math.min(transportBytes, callBytes) : transportBytes;
}

/** The callbacks following each signal, behind the one listener registered on it. */
const followers = new WeakMap<AbortSignal, { listener: () => void; callbacks: Set<() => void>; kept: boolean }>();

/** Options of `followSignal`. */
export interface FollowOptions {
  /**
   * Leave the listener on the signal when the last follower leaves, until the signal aborts: for
   * a long-lived signal followed call after call (a node's lifetime), which then carries one
   * listener for good instead of one added and removed for every call. Default false.
   */
  keep?: boolean;
}

/**
 * Calls `onAbort` when `signal` (not aborted yet) aborts; returns the function that stops it. However many follow
 * one signal at once, it carries one listener, removed when the last follower leaves (unless kept).
 */
export function followSignal(signal: AbortSignal, onAbort: () => void, options?: FollowOptions): () => void {
  let entry = followers.get(signal);
  if (entry === undefined) {
    const callbacks = new Set<() => void>();
    const listener = () => {
      followers.delete(signal);
      for (const callback of [...callbacks]) callback();
    };
    entry = { listener, callbacks, kept: false };
    followers.set(signal, entry);
    signal.addEventListener('abort', listener, { once: true });
  }
  if (options?.keep === true) entry.kept = true;
  const current = entry;
  const { listener, callbacks } = current;
  callbacks.add(onAbort);
  return () => {
    if (!callbacks.delete(onAbort) || callbacks.size > 0 || current.kept || followers.get(signal) !== current) return;
    followers.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}

/** How many callbacks follow `signal` now (through followSignal): for monitoring and tests. */
export function followerCount(signal: AbortSignal): number {
  return followers.get(signal)?.callbacks.size ?? 0;
}
