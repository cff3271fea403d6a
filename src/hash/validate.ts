import { AtlasError, ErrorCodes } from '../errors.js';
import { HASH160_BYTES } from './types.js';

export function badInput(message: string, cause?: unknown): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message, undefined, cause === undefined ? undefined : { cause });
}

export function requireBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw badInput(`${what}: expected a Uint8Array, got ${describe(value)}`);
}

export function requireChunkArray(value: unknown, what: string): asserts value is readonly Uint8Array[] {
  if (!Array.isArray(value)) throw badInput(`${what}: expected an array of Uint8Array, got ${describe(value)}`);
}

/** The same checks the native addon makes, so that every backend refuses the same calls. */
export function requirePacked(data: unknown, offsets: unknown, what: string): asserts offsets is Uint32Array {
  requireBytes(data, what);
  if (!(offsets instanceof Uint32Array)) throw badInput(`${what}: offsets must be a Uint32Array, got ${describe(offsets)}`);
  if (offsets.length === 0) throw badInput(`${what}: offsets needs at least one entry (n chunks take n + 1)`);
  let previous = 0;
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i] as number;
    if (offset > data.length || offset < previous) {
      throw badInput(`${what}: offsets must be non-decreasing and at most data.length (offset ${i} is ${offset})`);
    }
    previous = offset;
  }
}

/** The checks of hash160Chain's arguments (the addon makes the same). */
export function requireChain(previous: unknown, addresses: unknown, what: string): asserts addresses is Uint8Array {
  requireBytes(previous, what);
  requireBytes(addresses, what);
  if (previous.length !== HASH160_BYTES || addresses.length % HASH160_BYTES !== 0) {
    throw badInput(`${what}: previous must be 20 bytes and addresses a multiple of 20 bytes (got ${previous.length} and ${addresses.length})`);
  }
}

/** Splits 20 * n bytes into n views, without copying. */
export function splitDigests(packed: Uint8Array, count: number): Uint8Array[] {
  const views = new Array<Uint8Array>(count);
  const { buffer, byteOffset } = packed;
  for (let i = 0; i < count; i++) views[i] = new Uint8Array(buffer, byteOffset + i * HASH160_BYTES, HASH160_BYTES);
  return views;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
