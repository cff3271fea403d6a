/**
 * What the chain adapters accept as an announcement, and how it is checked: an address (40 hex
 * characters, any case) or an object with the address and optional key, block height and txid.
 * Every field is bounded, since a dev chain file can be written by any process.
 */
import { parseAddress, type Address } from '../address.js';
import { AtlasError, ErrorCodes, InvalidOptionError } from '../errors.js';
import type { Announcement } from './types.js';

export const MAX_KEY_LENGTH = 1_024;
export const MAX_TXID_LENGTH = 256;
/** Most announcements a single read returns, unless an adapter is configured otherwise. */
export const DEFAULT_MAX_READ_LIMIT = 10_000;

/** An announcement to add to a test or dev chain: an address alone, or with its key, height and txid. */
export type AnnounceInput = Address | { address: Address; key?: string; height?: number; txid?: string };

function bad(message: string, details?: Record<string, unknown>): AtlasError {
  return new AtlasError(ErrorCodes.BAD_ANNOUNCEMENT, message, details);
}

/** Normalises one or many inputs into announcements at positions start, start + 1, ... */
export function toAnnouncements(input: AnnounceInput | readonly AnnounceInput[], start: number): Announcement[] {
  const inputs: readonly AnnounceInput[] = Array.isArray(input) ? input : [input as AnnounceInput];
  return inputs.map((item, i) => {
    if (typeof item === 'string') return Object.freeze({ position: start + i, address: parseAddress(item) });
    if (typeof item !== 'object' || item === null) throw bad(`an announcement is an address or {address, key?, height?, txid?}, got ${typeof item}`);
    return checkFields({ ...item, position: start + i } as Record<string, unknown>);
  });
}

/**
 * Checks a stored or received announcement object (e.g. a dev chain line): the position must be
 * `expected`; unknown fields are dropped. Throws BAD_ANNOUNCEMENT (BAD_ADDRESS for the address).
 */
export function checkAnnouncement(value: unknown, expected: number): Announcement {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`announcement ${expected} is not an object`);
  const position = (value as { position?: unknown }).position;
  if (position !== expected) throw bad(`announcement has position ${String(position)}, expected ${expected}`, { position, expected });
  return checkFields(value as Record<string, unknown>);
}

function checkFields(value: Record<string, unknown>): Announcement {
  const position = value.position as number;
  const announcement: Announcement = { position, address: parseAddress(value.address) };
  if (value.key !== undefined) {
    if (typeof value.key !== 'string' || value.key.length > MAX_KEY_LENGTH) throw bad(`announcement ${position}: key must be a string of at most ${MAX_KEY_LENGTH} characters`);
    announcement.key = value.key;
  }
  if (value.height !== undefined) {
    if (!Number.isSafeInteger(value.height) || (value.height as number) < 0) throw bad(`announcement ${position}: height must be a non-negative integer`);
    announcement.height = value.height as number;
  }
  if (value.txid !== undefined) {
    if (typeof value.txid !== 'string' || value.txid.length > MAX_TXID_LENGTH) throw bad(`announcement ${position}: txid must be a string of at most ${MAX_TXID_LENGTH} characters`);
    announcement.txid = value.txid;
  }
  return Object.freeze(announcement);
}

/** Checks `read` arguments and returns the limit capped at `maxLimit`. */
export function checkRead(from: number, limit: number, maxLimit: number): number {
  if (!Number.isSafeInteger(from) || from < 0) throw new AtlasError(ErrorCodes.BAD_REQUEST, `read: from must be a non-negative integer, got ${from}`);
  if (!Number.isSafeInteger(limit) || limit < 0) throw new AtlasError(ErrorCodes.BAD_REQUEST, `read: limit must be a non-negative integer, got ${limit}`);
  return Math.min(limit, maxLimit);
}

/** Checks a rollback target: a non-negative integer no longer than the chain. */
export function checkRollback(length: number, current: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > current) {
    throw new AtlasError(ErrorCodes.BAD_REQUEST, `rollback length must be an integer in [0, ${current}], got ${length}`, { length, current });
  }
}

export function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AtlasError(ErrorCodes.ABORTED, 'aborted', undefined, { cause: signal.reason });
}

export function checkMaxReadLimit(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_READ_LIMIT;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidOptionError('maxReadLimit', `expected a positive integer, got ${String(value)}`);
  return value;
}

/** One bounded page of an in-memory sequence: ChainAdapter.read for adapters that hold a list. */
export function readPage(list: readonly Announcement[], from: number, limit: number, maxLimit: number, signal?: AbortSignal): Announcement[] {
  checkSignal(signal);
  return list.slice(from, from + checkRead(from, limit, maxLimit));
}
