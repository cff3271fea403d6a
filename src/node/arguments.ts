/**
 * What AtlasNode's methods are given, checked as they enter: a list that is not a list, a signal
 * that is not an AbortSignal or a misspelt option is a clear error (BAD_REQUEST, INVALID_OPTION
 * naming the option), not a TypeError from deep inside, nor an option silently left out.
 */
import { AtlasError, ErrorCodes, InvalidOptionError } from '../errors.js';
import { signalOption } from '../options-overlay.js';

/** `value` as a list of addresses (each checked where it is used); BAD_REQUEST when it is not an array. */
export function addressList(method: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new AtlasError(ErrorCodes.BAD_REQUEST, `${method}: addresses must be an array, got ${typeof value}`);
  return value;
}

/**
 * A method's options object (undefined: none): INVALID_OPTION for one that is not an object, a key
 * outside `keys`, or a `signal` that is not an AbortSignal.
 */
export function callOptions<T extends object>(method: string, value: T | undefined, keys: readonly string[]): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidOptionError('options', `${method} takes an options object, got ${value === null ? 'null' : typeof value}`);
  for (const key of Object.keys(value)) if (!keys.includes(key)) throw new InvalidOptionError(key, `${method} has no such option (it takes ${keys.join(', ')})`);
  signalOption((value as { signal?: unknown }).signal, `${method}: expected an AbortSignal`);
  return value;
}
