/**
 * Field readers for the validation layer (validate.ts and the per-method modules beside it). Each
 * checks one value's type and bound and hands back the value, or calls `fail`, which throws: a
 * request's failure names the field with its own code, a reply's is always BAD_REPLY.
 */
import { isAddress, type Address } from '../address.js';
import { AtlasError, ErrorCodes, type ErrorCode } from '../errors.js';

export type Fail = (code: ErrorCode, field: string, problem: string) => never;

export const failRequest: Fail = (code, field, problem) => {
  throw new AtlasError(code, `${field}: ${problem}`, { field });
};
export const failReply: Fail = (_code, field, problem) => {
  throw new AtlasError(ErrorCodes.BAD_REPLY, `bad reply, ${field}: ${problem}`, { field });
};

export type Fields = Record<string, unknown>;

/** Reads only own properties, so nothing inherited (or planted via __proto__) is ever seen. */
export function own(fields: Fields, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(fields, key) ? fields[key] : undefined;
}

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A value's kind, for error messages (never the value itself). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value;
}

export function object(value: unknown, field: string, fail: Fail): Fields {
  if (!isPlainObject(value)) fail(ErrorCodes.BAD_REQUEST, field, `expected an object, got ${describe(value)}`);
  return value;
}

export function count(value: unknown, field: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(ErrorCodes.BAD_REQUEST, field, `expected a non-negative safe integer, got ${typeof value === 'number' ? String(value) : describe(value)}`);
  }
  return value + 0; // turns -0 into 0
}

export function boolean(value: unknown, field: string, fail: Fail): boolean {
  if (typeof value !== 'boolean') fail(ErrorCodes.BAD_REQUEST, field, `expected a boolean, got ${describe(value)}`);
  return value;
}

export function bytes(value: unknown, field: string, maxLength: number, fail: Fail): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(ErrorCodes.BAD_REQUEST, field, `expected bytes, got ${describe(value)}`);
  if (value.length > maxLength) fail(ErrorCodes.TOO_LARGE, field, `${value.length} bytes, at most ${maxLength}`);
  return value;
}

export function list(value: unknown, field: string, maxItems: number, fail: Fail): readonly unknown[] {
  if (!Array.isArray(value)) fail(ErrorCodes.BAD_REQUEST, field, `expected an array, got ${describe(value)}`);
  if (value.length > maxItems) fail(ErrorCodes.TOO_MANY, field, `${value.length} items, at most ${maxItems}`);
  return value;
}

/** A chunk address, lower-cased. */
export function chunkAddress(value: unknown, field: string, fail: Fail): Address {
  if (!isAddress(value)) fail(ErrorCodes.BAD_ADDRESS, field, 'not a chunk address (40 hex characters)');
  return value.toLowerCase();
}
