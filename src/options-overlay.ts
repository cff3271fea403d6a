/** Flat option objects of numbers and switches, checked against their defaults (limits, timeouts). */
import { InvalidOptionError } from './errors.js';

/** What a number option must be, said as the error's expectation; undefined when `value` is fine. */
export type NumberRule = (name: string, value: number) => string | undefined;

/** A whole number > 0 (counts, sizes). */
export const POSITIVE_INTEGER: NumberRule = (_name, value) => (Number.isSafeInteger(value) && value > 0 ? undefined : 'a positive integer');

/** A finite number > 0 (durations). */
export const POSITIVE_FINITE: NumberRule = (_name, value) => (Number.isFinite(value) && value > 0 ? undefined : 'a positive finite number');

/**
 * `overrides` laid over `defaults`, an undefined value keeping its default: INVALID_OPTION
 * (`<path>.<name>`) for a name `defaults` lacks (a misspelt option would silently keep its
 * default), a switch that is not a boolean, or a number `rule` refuses (NaN, 0 or Infinity would
 * silently turn a guard off).
 */
export function overlayChecked<T extends object>(path: string, defaults: Readonly<T>, overrides: unknown, rule: NumberRule): Readonly<T> {
  if (overrides === undefined) return defaults;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) throw new InvalidOptionError(path, 'expected an object');
  const result: Record<string, unknown> = { ...defaults };
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(defaults, name)) throw new InvalidOptionError(`${path}.${name}`, 'unknown option');
    if (value === undefined) continue;
    const fallback = (defaults as Record<string, unknown>)[name];
    const refusal = typeof fallback === 'boolean' ? (typeof value === 'boolean' ? undefined : 'a boolean') : typeof value === 'number' ? rule(name, value) : 'a number';
    if (refusal !== undefined) throw new InvalidOptionError(`${path}.${name}`, `expected ${refusal}, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value)}`);
    result[name] = value;
  }
  return Object.freeze(result) as Readonly<T>;
}
