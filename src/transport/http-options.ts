/**
 * HttpTransport's options checked where they enter, as the node checks its own: a misspelt key, a
 * format it does not speak, a route without its functions or an address it cannot read is an
 * INVALID_OPTION naming the option, not a client-only transport, JSON instead of XML, or a
 * TypeError at the first request.
 */
import { InvalidOptionError } from '../errors.js';
import { checkOptionNames, clockOption, component, describe } from '../options-overlay.js';
import { splitHostPort } from './http-io.js';

/** HttpTransportOptions' names (http.ts, which imports this file). */
const OPTION_NAMES = { listen: true, advertise: true, limits: true, format: true, routes: true, clock: true, logger: true } as const;
const FORMATS = new Set(['msgpack', 'json']);
const ROUTE_METHODS = new Set(['GET', 'POST', 'OPTIONS']);

/** Throws InvalidOptionError for the first option of `options` that HttpTransport cannot take as given (its limits are resolveHttpLimits'). */
export function checkHttpTransportOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidOptionError('options', 'HttpTransport needs an options object (or none)');
  const given = options as Record<string, unknown>;
  if ('legacy' in given) {
    // The option of earlier versions: silently serving no legacy routes would look like an outage.
    throw new InvalidOptionError('legacy', "mount the legacy API with routes: legacyRoutes(...) from 'atlasnet/legacy'");
  }
  checkOptionNames<Record<keyof typeof OPTION_NAMES, unknown>>(given, OPTION_NAMES, 'HttpTransport');
  for (const key of ['listen', 'advertise'] as const) {
    const value = given[key];
    if (value === undefined) continue;
    try {
      if (typeof value !== 'string') throw new TypeError('not a string');
      splitHostPort(value);
    } catch {
      throw new InvalidOptionError(key, `expected a "host:port" address, got ${describe(value)}`);
    }
  }
  if (given.format !== undefined && !FORMATS.has(given.format as string)) throw new InvalidOptionError('format', `expected 'msgpack' or 'json', got ${describe(given.format)}`);
  if (given.routes !== undefined) {
    if (!Array.isArray(given.routes)) throw new InvalidOptionError('routes', `expected an array of routes, got ${describe(given.routes)}`);
    given.routes.forEach((route: unknown, i) => checkRoute(route, `routes[${i}]`));
  }
  clockOption(given.clock);
  if (given.logger !== undefined) component('logger', given.logger, ['debug', 'info', 'warn', 'error'], 'a Logger');
}

function checkRoute(route: unknown, option: string): void {
  if (typeof route !== 'object' || route === null) throw new InvalidOptionError(option, `expected a route { method, match, handle }, got ${describe(route)}`);
  const { method, match, handle, maxBodyBytes } = route as Record<string, unknown>;
  if (!ROUTE_METHODS.has(method as string)) throw new InvalidOptionError(`${option}.method`, `expected 'GET', 'POST' or 'OPTIONS', got ${describe(method)}`);
  if (typeof match !== 'function') throw new InvalidOptionError(`${option}.match`, 'expected a function');
  if (typeof handle !== 'function') throw new InvalidOptionError(`${option}.handle`, 'expected a function');
  if (maxBodyBytes !== undefined && !(Number.isSafeInteger(maxBodyBytes) && (maxBodyBytes as number) >= 0)) {
    throw new InvalidOptionError(`${option}.maxBodyBytes`, `a whole number of bytes, got ${describe(maxBodyBytes)}`);
  }
}
