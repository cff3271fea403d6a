/**
 * Parsers for option and argument values. Each throws a CliError with exit code 2 naming the
 * option, so commander reports one line ("error: option '--nodes <n>' ...").
 */
import { InvalidArgumentError } from 'commander';
import { parseAddress } from '../address.js';
import { readWholeNumber } from '../command-line.js';
import { isAtlasError } from '../errors.js';
import { classifyIp, parseDialAddress } from '../peers/address-policy.js';
import type { ChunkStorage } from '../store/lmdb.js';
import { isCliLogLevel, CLI_LOG_LEVELS, type CliLogLevel } from './logger.js';

/** "host:port" with a port from 1 to 65535 (a peer to dial). */
export function parsePeer(value: string): string {
  const peer = parseDialAddress(value);
  if (peer === undefined || peer.kind === 'bare' || peer.port === undefined || peer.port === 0) {
    throw new InvalidArgumentError(`expected host:port with a port from 1 to 65535, got ${JSON.stringify(value.slice(0, 100))}`);
  }
  return peer.address;
}

/** "host:port" to listen on; port 0 picks a free one. */
export function parseListen(value: string): string {
  const peer = parseDialAddress(value);
  if (peer === undefined || peer.kind === 'bare' || peer.port === undefined) {
    throw new InvalidArgumentError(`expected host:port (port 0 picks a free one), got ${JSON.stringify(value.slice(0, 100))}`);
  }
  return peer.address;
}

/** Commander's collector for repeatable options such as --seed. */
export function collectPeer(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parsePeer(value)];
}

/** Commander's collector for repeatable options taken as written, such as --mirror. */
export function collectString(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A whole number from `min` to `max`, worded as `atlas sim` words its sizes (readWholeNumber). */
export function intParser(min: number, max: number): (value: string) => number {
  return (value) => {
    const reading = readWholeNumber(value, min, max);
    if ('problem' in reading) throw new InvalidArgumentError(`expected ${reading.problem}`);
    return reading.value;
  };
}

/** Seconds, possibly fractional, > 0. */
/** Seconds from 0.001 to `max`; with `zero` (what 0 means, e.g. 'no wait'), 0 too. */
export function secondsParser(max: number, zero?: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (zero !== undefined && value.trim() !== '' && n === 0) return 0;
    // Whole milliseconds are what the node's timers take: less than one would round to none.
    if (value.trim() === '' || !Number.isFinite(n) || n < 0.001 || n > max) {
      throw new InvalidArgumentError(`expected ${zero === undefined ? '' : `0 (${zero}) or `}seconds between 0.001 and ${max}, got ${JSON.stringify(value.slice(0, 40))}`);
    }
    return n;
  };
}

export function parseLogLevel(value: string): CliLogLevel {
  if (!isCliLogLevel(value)) throw new InvalidArgumentError(`expected one of ${CLI_LOG_LEVELS.join(', ')}`);
  return value;
}

export function parseChunkStorage(value: string): ChunkStorage {
  if (value !== 'log' && value !== 'lmdb') throw new InvalidArgumentError('expected log or lmdb');
  return value;
}

export function parseChunkAddress(value: string): string {
  try {
    return parseAddress(value);
  } catch (error) {
    if (isAtlasError(error)) throw new InvalidArgumentError('expected a chunk address: 40 hex characters');
    throw error;
  }
}

const NETWORK_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function parseNetwork(value: string): string {
  if (!NETWORK_ID.test(value)) throw new InvalidArgumentError('expected 1 to 64 letters, digits, dots, dashes or underscores');
  return value;
}

/** True when a listen host can only reach this machine or a private network. */
export function isLocalHost(host: string): boolean {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  const kind = classifyIp(bare);
  return kind === 'loopback' || kind === 'private' || kind === 'link-local';
}
