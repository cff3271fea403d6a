/**
 * MemoryNetwork's options checked where they enter, as HttpTransport's are: a misspelt key
 * (`latency` for `latencyMs`) would silently keep its default and a simulation would run on
 * another network than the one described; a zero or NaN bound would fail every call.
 */
import { InvalidOptionError } from '../errors.js';
import { checkOptionNames, clockOption, describe, numberRule } from '../options-overlay.js';
import { seededRandom, systemClock, type Clock, type Random } from '../runtime.js';

/** Milliseconds one way; a function is asked once per message. */
export type LatencySpec = number | ((from: string, to: string, random: Random) => number);

/** Options of `MemoryNetwork`. */
export interface MemoryNetworkOptions {
  /** Default: the system clock (real time). A simulator passes its virtual clock. */
  clock?: Clock;
  /** Default: seededRandom(0), so even a default network is reproducible. */
  random?: Random;
  /** One-way latency of every link without an override. Default 1 ms. */
  latencyMs?: LatencySpec;
  /** Probability that any one message (request or reply) is lost. Default 0. */
  dropRate?: number;
  /** How blocked and partitioned links behave: refuse (UNREACHABLE) or drop silently (TIMEOUT). Default 'refuse'. */
  cutLinks?: 'refuse' | 'drop';
  /** Longest any call may take, whatever its signal: a lost message ends in TIMEOUT then. Default 30,000 ms. */
  defaultTimeoutMs?: number;
  /** Largest encoded request; bigger calls fail with TOO_LARGE before sending. Default 1 MiB. */
  maxRequestBytes?: number;
  /** Largest encoded reply; bigger replies fail the call with BAD_REPLY. Default 8 MiB. */
  maxReplyBytes?: number;
  /** Distinct method names counted per node; further names are counted under "(other)". Default 64. */
  maxMethodsTracked?: number;
}

/** MemoryNetworkOptions with every default filled in. */
export type ResolvedMemoryNetworkOptions = Required<MemoryNetworkOptions>;

const DEFAULTS: Omit<ResolvedMemoryNetworkOptions, 'clock' | 'random'> = {
  latencyMs: 1,
  dropRate: 0,
  cutLinks: 'refuse',
  defaultTimeoutMs: 30_000,
  maxRequestBytes: 1024 * 1024,
  maxReplyBytes: 8 * 1024 * 1024,
  maxMethodsTracked: 64,
};

const OPTION_NAMES: Record<keyof MemoryNetworkOptions, true> = { clock: true, random: true, latencyMs: true, dropRate: true, cutLinks: true, defaultTimeoutMs: true, maxRequestBytes: true, maxReplyBytes: true, maxMethodsTracked: true };
const CUT_LINKS = ['refuse', 'drop'];

const numbers = numberRule({
  positiveIntegers: ['maxRequestBytes', 'maxReplyBytes', 'maxMethodsTracked'],
  positive: ['defaultTimeoutMs'],
  fractions: ['dropRate'],
  // No deadline of the network's own: a call then ends only at its own timeoutMs or signal.
  mayBeInfinite: ['defaultTimeoutMs'],
});

/** The options with their defaults; InvalidOptionError naming the first one MemoryNetwork cannot take as given. */
export function resolveMemoryNetworkOptions(options: unknown): ResolvedMemoryNetworkOptions {
  if (options === undefined) return { ...DEFAULTS, clock: systemClock, random: seededRandom(0) };
  checkOptionNames<MemoryNetworkOptions>(options, OPTION_NAMES, 'MemoryNetwork');
  const given = options as Record<string, unknown>;
  for (const key of ['dropRate', 'defaultTimeoutMs', 'maxRequestBytes', 'maxReplyBytes', 'maxMethodsTracked'] as const) {
    const value = given[key];
    if (value === undefined) continue;
    const refusal = typeof value === 'number' ? numbers(key, value) : 'a number';
    if (refusal !== undefined) throw new InvalidOptionError(key, `expected ${refusal}, got ${describe(value)}`);
  }
  if (given.cutLinks !== undefined && !CUT_LINKS.includes(given.cutLinks as string)) throw new InvalidOptionError('cutLinks', `expected 'refuse' or 'drop', got ${describe(given.cutLinks)}`);
  if (given.random !== undefined && typeof given.random !== 'function') throw new InvalidOptionError('random', `expected a function answering numbers in [0, 1), got ${describe(given.random)}`);
  const resolved = { ...DEFAULTS, ...definedOnly(given) } as ResolvedMemoryNetworkOptions;
  return {
    ...resolved,
    latencyMs: checkLatency('latencyMs', resolved.latencyMs),
    clock: clockOption(given.clock as Clock | undefined) ?? systemClock,
    random: (given.random as Random | undefined) ?? seededRandom(0),
  };
}

/** A drop probability as given to the network or one of its links: a number in [0, 1]. */
export function checkDropRate(option: string, rate: unknown): number {
  const refusal = typeof rate === 'number' ? numbers('dropRate', rate) : 'a number';
  if (refusal !== undefined) throw new InvalidOptionError(option, `expected ${refusal}, got ${describe(rate)}`);
  return rate as number;
}

/** A latency as given to the network or one of its links: milliseconds (finite, >= 0) or a function drawing them. */
export function checkLatency(option: string, latency: unknown): LatencySpec {
  if (typeof latency === 'function') return latency as LatencySpec;
  if (typeof latency === 'number' && Number.isFinite(latency) && latency >= 0) return latency;
  throw new InvalidOptionError(option, `expected milliseconds (a finite number >= 0) or a function drawing them, got ${describe(latency)}`);
}

function definedOnly(given: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
}
