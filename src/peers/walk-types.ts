/**
 * What the random walks over the peer graph (SPEC §5.3) are given and return: the neighbour lists
 * peers report, the samplers' options and those of their calls, and the value-or-promise their
 * steps answer with. The walk: walk-sampler.ts; its lists: neighbor-lists.ts; its transitions:
 * mhda.ts.
 */
import type { Random } from '../runtime.js';

/** The neighbours a peer reports, as peer addresses. */
export type NeighborList = readonly string[];

/**
 * A peer's neighbour list. May answer synchronously (a simulator over an in-memory graph) or
 * with a promise (a network call); a throw or a rejection counts as the peer not answering.
 */
export type NeighborsFunction = (
  peer: string,
  options?: { signal?: AbortSignal },
) => NeighborList | Promise<NeighborList>;

/** Options of the random-walk samplers. */
export interface WalkSamplerOptions {
  neighbors: NeighborsFunction;
  random: Random;
  /** A restart node, drawn uniformly from the local peer table. Used for the first step too. */
  start: () => string | Promise<string>;
  /** Steps discarded after the first start and after every restart (SPEC §5.3: 20). */
  burnIn?: number;
  /**
   * Use at most this many entries of a reported list (a fresh uniform subset each time it is
   * fetched), and take d(v) as the capped length. This biases MHDA: it converges to
   * π(v) ∝ d(v) / min(d(v), maxDegree), uniform only while every degree stays within the cap,
   * so keep the overlay degree K well below it. Default: no cap.
   */
  maxDegree?: number;
  /**
   * The caller promises that every list holds distinct peer ids and never the peer itself (an
   * in-memory simple graph), so the sampler skips its duplicate check, which costs more than the
   * rest of a step. Default false: lists from the network are always checked.
   */
  distinctLists?: boolean;
  /**
   * Reuse, in one step, the lists fetched in the step before: the walk usually stands at a peer
   * whose list it has just read (as the proposal's), so a step costs about one call instead of two
   * or three. A list is used at most one step after it was fetched, never passed on further. On a
   * static graph the walk is the same Markov chain; over a network it reads a list up to one step
   * old. Default false.
   */
  reuseLists?: boolean;
}

/** Options of one step of a walk sampler. */
export interface StepOptions {
  signal?: AbortSignal;
}

/** Options of one sample drawn by a walk sampler. */
export interface SampleOptions extends StepOptions {
  /** Steps tried before giving up with UNREACHABLE. Default: 10 × (burnIn + 1). */
  maxSteps?: number;
}

/** Steps discarded after every restart of a random walk (protocol §5.3). */
export const DEFAULT_BURN_IN = 20;

/** A value, or a promise of it: what a walk's steps return (synchronous when nothing had to be fetched). */
export type MaybePromise<T> = T | Promise<T>;

/** True for a promise or any other object with a `then` method (what neighbors() and start() may answer). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
