/**
 * Option groups (limits, timeouts, a component's bounds) given as overrides of their defaults,
 * checked where they enter: the node's options, the transport's limits, the protocol client's
 * timeouts and the components an embedder may build alone (PeerTable, Backfiller) all say a wrong
 * value the same way, as INVALID_OPTION naming the option's path.
 */
import { InvalidOptionError } from './errors.js';

/**
 * What a number option must be, said as the error's expectation ("a positive integer"); undefined
 * when `value` is fine. `name` is the option's path below the group ("backoff.baseMs").
 */
export type NumberRule = (name: string, value: number) => string | undefined;

/** How a group's values are checked: numbers by `numbers`, switches as booleans, strings against `choices`, the rest by `checks`. */
export interface OverlayRules {
  numbers: NumberRule;
  /** The values a string option may take, by its path below the group. */
  choices?: Readonly<Record<string, readonly string[]>>;
  /** Options of other kinds (lists, free text), by path below the group: what the value should have been, or undefined when it is fine. */
  checks?: Readonly<Record<string, (value: unknown) => string | undefined>>;
}

/** A whole number > 0 (counts, sizes). */
export const POSITIVE_INTEGER: NumberRule = (_name, value) => (Number.isSafeInteger(value) && value > 0 ? undefined : 'a positive integer');

/** A finite number > 0 (durations). */
export const POSITIVE_FINITE: NumberRule = (_name, value) => (Number.isFinite(value) && value > 0 ? undefined : 'a positive finite number');

/** The kinds of number a group's options are, by path below the group; any other is a finite number >= 0. */
export interface NumberKinds {
  /** Whole numbers > 0: counts and sizes a zero would stall or turn into refusing everything. */
  positiveIntegers?: Iterable<string>;
  /** Whole numbers >= 0, 0 turning the behaviour off. */
  wholeNumbers?: Iterable<string>;
  /** Numbers > 0: periods and timeouts a zero would turn into a busy loop or an instant failure, rates. */
  positive?: Iterable<string>;
  /** Fractions in [0, 1]. */
  fractions?: Iterable<string>;
  /** Numbers for which Infinity means "no bound" (every other number is finite). */
  mayBeInfinite?: Iterable<string>;
}

/** The rule of a group whose options are of the given kinds. */
export function numberRule(kinds: NumberKinds): NumberRule {
  const set = (names: Iterable<string> | undefined): ReadonlySet<string> => new Set(names ?? []);
  const positiveIntegers = set(kinds.positiveIntegers);
  const wholeNumbers = set(kinds.wholeNumbers);
  const positive = set(kinds.positive);
  const fractions = set(kinds.fractions);
  const mayBeInfinite = set(kinds.mayBeInfinite);
  return (name, value) => {
    if (Number.isNaN(value) || value < 0 || (value === Infinity && !mayBeInfinite.has(name))) return 'a finite number >= 0';
    if (positiveIntegers.has(name) && !(Number.isSafeInteger(value) && value > 0)) return 'a positive integer';
    if (wholeNumbers.has(name) && !Number.isSafeInteger(value)) return 'a whole number';
    if (positive.has(name) && value === 0) return 'a number > 0';
    if (fractions.has(name) && value > 1) return 'a fraction in [0, 1]';
    return undefined;
  };
}

/**
 * `overrides` laid over `defaults`, level by level, an undefined value keeping its default:
 * INVALID_OPTION (`<path>.<name>`) for a name `defaults` lacks (a misspelt option would silently
 * keep its default), a switch that is not a boolean, a string not among its choices, or a number
 * the rules refuse (NaN, 0 or Infinity would silently turn a guard off). An empty default object
 * is an open record of numbers (e.g. a cost per method). The result is frozen, level by level.
 */
export function overlayChecked<T extends object>(path: string, defaults: Readonly<T>, overrides: unknown, rules: NumberRule | OverlayRules): Readonly<T> {
  return overlay(path, '', defaults, overrides, typeof rules === 'function' ? { numbers: rules } : rules) as Readonly<T>;
}

function overlay(path: string, below: string, defaults: object, overrides: unknown, rules: OverlayRules): object {
  if (overrides === undefined) return defaults;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) throw new InvalidOptionError(path, `expected an object, got ${describe(overrides)}`);
  const open = Object.keys(defaults).length === 0;
  const result: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    const name = below === '' ? key : `${below}.${key}`;
    if (!open && !Object.hasOwn(defaults, key)) throw new InvalidOptionError(`${path}.${key}`, 'unknown option');
    if (value === undefined) continue;
    const fallback = open ? 0 : (defaults as Record<string, unknown>)[key];
    result[key] =
      typeof fallback === 'object' && fallback !== null && !Array.isArray(fallback) && rules.checks?.[name] === undefined
        ? overlay(`${path}.${key}`, name, fallback, value, rules)
        : checked(`${path}.${key}`, name, value, fallback, rules);
  }
  return Object.freeze(result);
}

function checked(option: string, name: string, value: unknown, fallback: unknown, rules: OverlayRules): unknown {
  const refusal = refusalOf(name, value, fallback, rules);
  if (refusal !== undefined) throw new InvalidOptionError(option, `expected ${refusal}, got ${describe(value)}`);
  return value;
}

/** What `value` should have been, or undefined when it is fine (its kind is its default's). */
function refusalOf(name: string, value: unknown, fallback: unknown, rules: OverlayRules): string | undefined {
  const check = rules.checks?.[name];
  if (check !== undefined) return check(value);
  const choices = rules.choices?.[name];
  if (choices !== undefined) return choices.includes(value as string) ? undefined : `one of ${choices.join(', ')}`;
  if (typeof fallback === 'boolean') return typeof value === 'boolean' ? undefined : 'a boolean';
  return typeof value === 'number' ? rules.numbers(name, value) : 'a number';
}

/**
 * Checks that `options` is an options object whose keys are all in `names` (a record of every
 * option its type has, so the compiler keeps the list whole): INVALID_OPTION naming `options`
 * for a non-object, or the first unknown key (a misspelt option would silently keep its default).
 */
export function checkOptionNames<T extends object>(options: unknown, names: Readonly<Record<keyof T, true>>, what: string): asserts options is T {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidOptionError('options', `${what} needs an options object`);
  for (const key of Object.keys(options)) if (!Object.hasOwn(names, key)) throw new InvalidOptionError(key, 'unknown option');
}

/**
 * `value` as a component given in an option (a clock, a logger, a chain adapter): an object with
 * every one of `methods`; INVALID_OPTION naming `option` (and `what` it should be) otherwise.
 */
export function component<T>(option: string, value: T | undefined, methods: readonly string[], what: string): T {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(option, value === undefined ? `missing: expected ${what}` : `expected ${what}, got ${describe(value)}`);
  }
  const missing = methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new InvalidOptionError(option, `expected ${what}; it lacks ${missing.join(', ')}()`);
  return value;
}

/** The methods a clock given as an option must have (Clock in runtime.ts). */
export const CLOCK_METHODS = ['now', 'setTimeout', 'clearTimeout'] as const;

/** `value` as a clock option: undefined when not given, INVALID_OPTION (`clock`) when it lacks a Clock's methods. */
export function clockOption<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : component('clock', value, CLOCK_METHODS, 'a Clock');
}

/** `value` as a signal option: undefined when not given, INVALID_OPTION (`signal`) when it is not an AbortSignal. */
export function signalOption(value: unknown, what = 'expected an AbortSignal'): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw new InvalidOptionError('signal', what);
  return value;
}

/** A value as an error names it: strings quoted and cut, objects and functions by kind (never a function's source). */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
