/**
 * AtlasNode.open() checks its options before touching anything: a missing chain or a timer of
 * "10s" fails at once with an InvalidOptionError naming the option, not with a TypeError deep in
 * a component (or a timer that fires every millisecond).
 */
import { InvalidOptionError } from '../errors.js';
import type { AtlasNodeOptions } from './options.js';

const CHAIN_METHODS = ['length', 'read', 'subscribe'] as const;
const TRANSPORT_METHODS = ['listen', 'call', 'close'] as const;
const STORE_METHODS = ['putMany', 'get', 'close', 'sequenceLength'] as const;

export function checkNodeOptions(options: AtlasNodeOptions | undefined): asserts options is AtlasNodeOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'AtlasNode.open needs an options object');
  requireMethods('chain', options.chain, CHAIN_METHODS, 'a chain adapter (length, read, subscribe)');
  requireMethods('transport', options.transport, TRANSPORT_METHODS, 'a transport (e.g. new HttpTransport({ listen }))');
  if (options.store !== undefined) requireMethods('store', options.store, STORE_METHODS, 'a ChunkStore');
  if (options.closeStore !== undefined && typeof options.closeStore !== 'boolean') throw new InvalidOptionError('closeStore', 'expected a boolean');
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir.length === 0)) {
    throw new InvalidOptionError('dataDir', 'expected a non-empty path');
  }
  if (options.network !== undefined && (typeof options.network !== 'string' || options.network.length === 0)) {
    throw new InvalidOptionError('network', 'expected a non-empty string');
  }
  if (options.seeds !== undefined) {
    if (!Array.isArray(options.seeds)) throw new InvalidOptionError('seeds', 'expected an array of "host:port" strings');
    options.seeds.forEach((seed, i) => {
      if (typeof seed !== 'string' || seed.length === 0) throw new InvalidOptionError(`seeds[${i}]`, 'expected a "host:port" string');
    });
  }
  for (const name of ['neighbors', 'maxChunkSize', 'maxPeers', 'maxPendingPeers'] as const) positiveInteger(name, options[name]);
  if (options.timers !== undefined) {
    if (typeof options.timers !== 'object' || options.timers === null) throw new InvalidOptionError('timers', 'expected an object of periods in ms');
    for (const [name, value] of Object.entries(options.timers)) {
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
        throw new InvalidOptionError(`timers.${name}`, `expected a positive number of milliseconds, got ${describe(value)}`);
      }
    }
  }
  for (const name of ['limits', 'addressPolicy', 'peerTable', 'requests', 'downloads', 'push', 'audit'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'object' || value === null)) throw new InvalidOptionError(name, `expected an object, got ${describe(value)}`);
  }
  if (options.clock !== undefined) requireMethods('clock', options.clock, ['now', 'setTimeout', 'clearTimeout'], 'a Clock');
  if (options.random !== undefined && typeof options.random !== 'function') throw new InvalidOptionError('random', 'expected a function returning [0, 1)');
  if (options.logger !== undefined) requireMethods('logger', options.logger, ['debug', 'info', 'warn', 'error'], 'a Logger');
  if (options.metrics !== undefined) requireMethods('metrics', options.metrics, ['count', 'gauge'], 'a Metrics');
}

function requireMethods(option: string, value: unknown, methods: readonly string[], what: string): void {
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(option, value === undefined ? `missing: expected ${what}` : `expected ${what}, got ${describe(value)}`);
  }
  const missing = methods.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) throw new InvalidOptionError(option, `expected ${what}; it lacks ${missing.join(', ')}()`);
}

function positiveInteger(option: string, value: unknown): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && (value as number) > 0)) {
    throw new InvalidOptionError(option, `expected a positive integer, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
