/**
 * Wire encodings for transports. Values are plain data: null, booleans, numbers, strings,
 * Uint8Array, arrays and string-keyed objects. Binary (MessagePack, via msgpackr) is the default
 * between peers; JSON, with bytes as {"$bytes":"<base64>"}, is for humans and curl.
 *
 * Decoding untrusted input is bounded before anything is built: by size, and by a pre-scan that
 * counts the message's values (`maxValues`) and its nesting (`maxDepth`), and, for MessagePack,
 * rejects any container declaring more items than the input has bytes left, non-string map keys
 * and every extension type except `undefined`. Without the pre-scan a few kilobytes of nested
 * array32 headers make the decoder allocate gigabytes (measured: 10 KB of input exhausted a 4 GB
 * heap); without the count, a body within its byte bound made of empty maps or byte strings, a
 * value every byte or two, cost hundreds of times the CPU and memory of any message the protocol
 * accepts.
 */
import { Packr } from 'msgpackr';
import { joinedBody, type BodyParts } from '../http-body.js';
import { decodeByteList, encodeByteList } from './byte-list.js';
import { encodePieces } from './reply-pieces.js';
import { AtlasError, ErrorCodes, errorFromWire, isAtlasError, retryAfterOf, type ErrorCode } from '../errors.js';

/** How protocol messages are encoded on the wire: MessagePack or JSON. */
export type WireFormat = 'msgpack' | 'json';

export const MSGPACK_CONTENT_TYPE = 'application/msgpack';
export const JSON_CONTENT_TYPE = 'application/json';

export interface DecodeLimits {
  /** Largest encoded input accepted, in bytes (TOO_LARGE beyond). */
  maxBytes: number;
  /** Deepest nesting of arrays and objects accepted (BAD_REQUEST beyond). */
  maxDepth: number;
  /**
   * Most values one message may hold, every array, object, map key, string, number and byte
   * string counted (JSON: its brackets, braces, commas and colons; TOO_LARGE beyond), counted
   * before anything is built.
   */
  maxValues: number;
}

/**
 * The default of DecodeLimits.maxValues. The largest message of the protocol under its default
 * limits is a getChunks reply to 1,000 addresses: about 3,000 values as atlasnet answers it (each
 * chunk a byte string, the missing and the put-off lists), 7,000 in the older form of one object a
 * chunk. 8 MiB of empty maps, a value a byte, took 3 s and 512 MiB of heap to decode.
 */
export const DEFAULT_MAX_VALUES = 16_384;

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  maxDepth: 32,
  maxValues: DEFAULT_MAX_VALUES,
});

export interface Codec {
  readonly format: WireFormat;
  readonly contentType: string;
  encode(value: unknown): Uint8Array;
  /**
   * encode(), as pieces to send end to end: large byte strings stay in their own memory
   * (reply-pieces.ts), which must not change until the pieces are written.
   */
  encodePieces(value: unknown): readonly Uint8Array[];
  /** Throws AtlasError: TOO_LARGE over `maxBytes`, BAD_REQUEST when malformed. */
  decode(bytes: Uint8Array, limits?: Partial<DecodeLimits>): unknown;
}

// ---------------------------------------------------------------------------------------------
// MessagePack

// One packer for every message. Its output may share a buffer with earlier output, but never
// writes over bytes it has returned (no RESET_BUFFER_MODE or REUSE_BUFFER_MODE): MemoryTransport
// hands the replies it decodes from that output over to its callers (Transport.handsOverReplies).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function encodeBinary(value: unknown): Uint8Array {
  return encodeByteList(value) ?? packr.pack(value);
}

export function decodeBinary(bytes: Uint8Array, limits?: Partial<DecodeLimits>): unknown {
  const maxBytes = limits?.maxBytes ?? DEFAULT_DECODE_LIMITS.maxBytes;
  const maxDepth = limits?.maxDepth ?? DEFAULT_DECODE_LIMITS.maxDepth;
  checkSize(bytes.byteLength, maxBytes);
  checkMsgpackStructure(bytes, maxDepth, limits?.maxValues ?? DEFAULT_MAX_VALUES);
  // A plain Uint8Array view (not a Buffer) so that bin fields decode as plain Uint8Array
  // sub-views of the input, without copying.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return packr.unpack(view);
  } catch (error) {
    throw malformed(`malformed MessagePack: ${messageOf(error)}`, error);
  }
}

let scanRemaining = new Float64Array(0);
let scanIsMap = new Uint8Array(0);

/**
 * Walks the MessagePack items without building anything. Every container must declare no more
 * items than bytes remain (each item is at least one byte), so what msgpackr later allocates is
 * linear in the input, and the message holds at most `maxValues` items.
 */
function checkMsgpackStructure(bytes: Uint8Array, maxDepth: number, maxValues: number): void {
  const end = bytes.length;
  let pos = 0;
  let values = 0;
  // Items still to read in each open container; level 0 holds the single root value. The scan
  // calls nothing that could re-enter it, so one pair of arrays, as deep as the deepest limit
  // asked for so far, serves every scan.
  if (scanRemaining.length <= maxDepth) {
    scanRemaining = new Float64Array(maxDepth + 1);
    scanIsMap = new Uint8Array(maxDepth + 1);
  }
  const remaining = scanRemaining;
  const isMap = scanIsMap;
  isMap[0] = 0;
  let level = 0;
  remaining[0] = 1;

  for (;;) {
    while (remaining[level] === 0) {
      if (level === 0) {
        if (pos !== end) throw malformed('trailing bytes after MessagePack value');
        return;
      }
      level--;
    }
    const left = remaining[level] as number;
    if (pos >= end) throw malformed('truncated MessagePack');
    if (++values > maxValues) throw tooManyValues(maxValues);
    const token = bytes[pos++] as number;
    let payload = 0;
    let children = 0;
    let childIsMap = 0;
    let isString = false;

    if (token <= 0x7f || token >= 0xe0) {
      // fixint
    } else if (token <= 0x8f) {
      children = 2 * (token & 0x0f);
      childIsMap = 1;
    } else if (token <= 0x9f) {
      children = token & 0x0f;
    } else if (token <= 0xbf) {
      payload = token & 0x1f;
      isString = true;
    } else {
      // Sized types: a 1, 2 or 4 byte big-endian length follows the token.
      let lengthBytes = 0;
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xc4: lengthBytes = 1; break; // bin 8
        case 0xc5: lengthBytes = 2; break; // bin 16
        case 0xc6: lengthBytes = 4; break; // bin 32
        case 0xca: payload = 4; break; // float 32
        case 0xcb: payload = 8; break; // float 64
        case 0xcc: case 0xd0: payload = 1; break;
        case 0xcd: case 0xd1: payload = 2; break;
        case 0xce: case 0xd2: payload = 4; break;
        case 0xcf: case 0xd3: payload = 8; break;
        case 0xd4: // fixext 1: only type 0, msgpackr's `undefined`
          if (bytes[pos] !== 0) throw malformed('unsupported MessagePack extension');
          payload = 2;
          break;
        case 0xd9: lengthBytes = 1; isString = true; break;
        case 0xda: lengthBytes = 2; isString = true; break;
        case 0xdb: lengthBytes = 4; isString = true; break;
        case 0xdc: lengthBytes = 2; break; // array 16
        case 0xdd: lengthBytes = 4; break; // array 32
        case 0xde: lengthBytes = 2; childIsMap = 1; break; // map 16
        case 0xdf: lengthBytes = 4; childIsMap = 1; break; // map 32
        default: // 0xc1 (never used), ext 8/16/32, fixext 2..16
          throw malformed('unsupported MessagePack type');
      }
      if (lengthBytes > 0) {
        if (end - pos < lengthBytes) throw malformed('truncated MessagePack');
        let n = 0;
        for (let i = 0; i < lengthBytes; i++) n = n * 256 + (bytes[pos++] as number);
        if (token >= 0xdc) children = childIsMap ? 2 * n : n;
        else payload = n;
      }
    }
    if (isMap[level] === 1 && left % 2 === 0 && !isString) throw malformed('MessagePack map keys must be strings');
    if (payload > end - pos) throw malformed('truncated MessagePack');
    pos += payload;
    remaining[level] = left - 1;
    if (children > 0) {
      if (children > end - pos) throw malformed('MessagePack container declares more items than the input holds');
      if (level >= maxDepth) throw malformed(`MessagePack nested deeper than ${maxDepth}`);
      level++;
      remaining[level] = children;
      isMap[level] = childIsMap;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

const BYTES_KEY = '$bytes';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

export function encodeJsonText(value: unknown): string {
  const text = JSON.stringify(value, function replacer(this: Record<string, unknown>, key, replaced) {
    // `this[key]` is the value before toJSON: a Buffer's toJSON would hide that it is bytes.
    const original = this[key];
    if (original instanceof Uint8Array) return { [BYTES_KEY]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
    return replaced as unknown;
  });
  return text ?? 'null';
}

export function encodeJson(value: unknown): Uint8Array {
  return textEncoder.encode(encodeJsonText(value));
}

export function decodeJson(bytes: Uint8Array, limits?: Partial<DecodeLimits>): unknown {
  const { maxBytes, maxDepth, maxValues } = { ...DEFAULT_DECODE_LIMITS, ...limits };
  checkSize(bytes.byteLength, maxBytes);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (error) {
    throw malformed('JSON body is not valid UTF-8', error);
  }
  checkJsonStructure(text, maxDepth, maxValues);
  try {
    return JSON.parse(text, reviveBytes);
  } catch (error) {
    if (isAtlasError(error)) throw error;
    throw malformed(`malformed JSON: ${messageOf(error)}`, error);
  }
}

function reviveBytes(_key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const encoded = record[BYTES_KEY];
  if (typeof encoded !== 'string' || Object.keys(record).length !== 1) return value;
  if (!BASE64.test(encoded)) throw malformed('"$bytes" is not standard padded base64');
  const decoded = Buffer.from(encoded, 'base64');
  return new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength);
}

/**
 * Bracket depth outside strings (JSON.parse itself has no depth limit), and the values: one, and
 * one more for each bracket, brace, comma and colon outside strings (a key and its value are two,
 * as in MessagePack).
 */
function checkJsonStructure(text: string, maxDepth: number, maxValues: number): void {
  let depth = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw malformed(`JSON nested deeper than ${maxDepth}`);
      if (++values > maxValues) throw tooManyValues(maxValues);
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    } else if (c === 0x2c || c === 0x3a) {
      if (++values > maxValues) throw tooManyValues(maxValues);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Codec objects and content negotiation

export const binaryCodec: Codec = Object.freeze({
  format: 'msgpack',
  contentType: MSGPACK_CONTENT_TYPE,
  encode: encodeBinary,
  // Not a shape reply-pieces.ts writes, the byte list included: msgpackr's.
  encodePieces: (value: unknown) => encodePieces(value) ?? [packr.pack(value)],
  decode: decodeBinary,
});

export const jsonCodec: Codec = Object.freeze({
  format: 'json',
  contentType: JSON_CONTENT_TYPE,
  encode: encodeJson,
  encodePieces: (value: unknown) => [encodeJson(value)],
  decode: decodeJson,
});

/**
 * codec.decode() of a body read as the pieces it came in (readBodyParts), joined only when it must
 * be: a MessagePack list of byte strings under one key (a getChunks reply in order) is read from
 * the pieces themselves (byte-list.ts), each item a view of its piece, within a nesting bound that
 * allows its two levels. Anything else, or any input that reader does not take exactly, is joined
 * and decoded by `codec.decode`, which accepts and refuses what it always did.
 */
export function decodePieces(codec: Codec, body: BodyParts, limits?: Partial<DecodeLimits>): unknown {
  if (codec === binaryCodec) {
    const { maxBytes, maxDepth, maxValues } = { ...DEFAULT_DECODE_LIMITS, ...limits };
    checkSize(body.total, maxBytes);
    // The map, its key and its list are three values; a longer list is the general decoder's to refuse.
    const list = maxDepth >= 2 ? decodeByteList(body.parts, maxValues - 3) : undefined;
    if (list !== undefined) return list;
  }
  return codec.decode(joinedBody(body), limits);
}

export function codecFor(format: WireFormat): Codec {
  return format === 'msgpack' ? binaryCodec : jsonCodec;
}

/** The codec for a Content-Type header value (parameters ignored), or undefined if unsupported. */
export function codecForContentType(header: string | undefined): Codec | undefined {
  if (header === undefined) return undefined;
  const media = (header.split(';')[0] ?? '').trim().toLowerCase();
  if (media === 'application/msgpack' || media === 'application/x-msgpack' || media === 'application/vnd.msgpack') return binaryCodec;
  if (media === 'application/json') return jsonCodec;
  return undefined;
}

/** The codec an Accept header asks for, when it names one we speak; undefined otherwise. */
export function codecForAccept(header: string | undefined): Codec | undefined {
  if (header === undefined) return undefined;
  const lower = header.toLowerCase();
  const msgpack = lower.search(/application\/(?:x-|vnd\.)?msgpack/);
  const json = lower.indexOf('application/json');
  if (msgpack < 0 && json < 0) return undefined;
  if (msgpack < 0) return jsonCodec;
  if (json < 0) return binaryCodec;
  return msgpack < json ? binaryCodec : jsonCodec;
}

// ---------------------------------------------------------------------------------------------
// Error replies

export interface ErrorReply {
  /** `retryAfterMs`: with BUSY, how long the caller should wait before asking again. */
  error: { code: string; message: string; retryAfterMs?: number };
}

const GENERIC_INTERNAL_MESSAGE = 'internal error';
/**
 * Codes whose message may carry internal detail (paths, store state, a chain adapter's own error:
 * a URL with a token, a file name): sent with a generic text. The code still tells the caller
 * what kind of failure it met.
 */
const PRIVATE_CODES = new Set<ErrorCode>([ErrorCodes.INTERNAL, ErrorCodes.STORE_CORRUPT, ErrorCodes.STORE_IO, ErrorCodes.STORE_PERMISSION, ErrorCodes.CHAIN_FAILED]);

/** The envelope sent for a failed call. Only AtlasError codes cross the wire; anything else is INTERNAL. */
export function errorReply(error: unknown): ErrorReply {
  return { error: errorFields(error) };
}

/** What a failed call's reply says: its code, and its message unless that is private (PRIVATE_CODES); `retryAfterMs` with BUSY. */
export function errorFields(error: unknown): ErrorReply['error'] {
  if (isAtlasError(error) && !PRIVATE_CODES.has(error.code)) {
    const pause = error.code === ErrorCodes.BUSY ? retryAfterOf((error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs) : undefined;
    return { code: error.code, message: error.message.slice(0, 500), ...(pause === undefined ? {} : { retryAfterMs: pause }) };
  }
  const code = isAtlasError(error) ? error.code : ErrorCodes.INTERNAL;
  return { code, message: GENERIC_INTERNAL_MESSAGE };
}

export function isErrorReply(value: unknown): value is ErrorReply {
  return typeof value === 'object' && value !== null && typeof (value as { error?: unknown }).error === 'object' && (value as { error?: unknown }).error !== null;
}

/** Rebuilds the AtlasError of a decoded error envelope (BAD_REPLY when it is not one). */
export function errorFromReply(value: unknown): AtlasError {
  return errorFromWire(isErrorReply(value) ? value.error : undefined);
}

// ---------------------------------------------------------------------------------------------

function checkSize(size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new AtlasError(ErrorCodes.TOO_LARGE, `encoded message of ${size} bytes exceeds the limit of ${maxBytes}`, { size, limit: maxBytes });
  }
}

function tooManyValues(maxValues: number): AtlasError {
  return new AtlasError(ErrorCodes.TOO_LARGE, `encoded message holds more than ${maxValues} values`, { limit: maxValues });
}

function malformed(message: string, cause?: unknown): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, message, undefined, cause === undefined ? undefined : { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
}
