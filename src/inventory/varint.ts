/**
 * Delta-varint encoding of an ascending list of positions, for incremental inventory exchange:
 * the first position, then each gap to the previous one, every number as unsigned LEB128
 * (7 bits per byte, least significant group first, high bit set on every byte but the last).
 * Dense changes cost about one byte per position.
 */
import { AtlasError, ErrorCodes } from '../errors.js';

const MAX_POSITION = 0xffff_ffff;
/** A 32-bit value takes at most 5 LEB128 bytes; the 5th carries the top 4 bits. */
const MAX_VARINT_BYTES = 5;

/** The positions in delta-varint `bytes`, counted without decoding them: every number ends on a byte below 0x80. */
export function positionCount(bytes: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) < 0x80) count++;
  return count;
}

/** Encodes strictly ascending unsigned 32-bit positions; throws a RangeError otherwise. */
export function encodePositions(positions: Uint32Array | readonly number[]): Uint8Array {
  const out = new Uint8Array(positions.length * MAX_VARINT_BYTES);
  let at = 0;
  let previous = -1;
  for (let k = 0; k < positions.length; k++) {
    const position = positions[k] as number;
    if (!Number.isInteger(position) || position < 0 || position > MAX_POSITION) {
      throw new RangeError(`position ${position} is not an unsigned 32-bit integer`);
    }
    if (position <= previous) throw new RangeError(`positions must be strictly ascending: ${position} after ${previous}`);
    let value = previous < 0 ? position : position - previous;
    previous = position;
    while (value >= 0x80) {
      out[at++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 0x80);
    }
    out[at++] = value;
  }
  return out.slice(0, at);
}

/** Options of `decodePositions`. */
export interface DecodePositionsOptions {
  /** More positions than this is refused (BAD_REPLY) before anything is allocated for them. */
  maxCount: number;
}

/**
 * Decodes what encodePositions wrote. Throws AtlasError BAD_REPLY on a truncated or overlong
 * number, a position past 32 bits, a gap of zero (not strictly ascending) or more than
 * `maxCount` positions.
 */
export function decodePositions(bytes: Uint8Array, options: DecodePositionsOptions): Uint32Array {
  // Every number ends on a byte below 0x80, so counting those sizes the output exactly.
  let count = 0;
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) < 0x80) count++;
  if (count > options.maxCount) {
    throw badReply(`${count} positions, more than the limit of ${options.maxCount}`, { count, maxCount: options.maxCount });
  }
  if (bytes.length > 0 && (bytes[bytes.length - 1] as number) >= 0x80) throw badReply('truncated varint at the end');

  const positions = new Uint32Array(count);
  let at = 0;
  let previous = -1;
  for (let k = 0; k < count; k++) {
    let value = 0;
    let scale = 1;
    let length = 0;
    let byte: number;
    do {
      byte = bytes[at++] as number;
      length++;
      if (length > MAX_VARINT_BYTES) throw badReply(`varint longer than ${MAX_VARINT_BYTES} bytes at byte ${at - 1}`);
      value += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte >= 0x80);
    if (length > 1 && byte === 0) throw badReply(`overlong varint ending at byte ${at - 1}`);
    if (k > 0 && value === 0) throw badReply(`positions not strictly ascending at index ${k}`);
    const position = previous < 0 ? value : previous + value;
    if (position > MAX_POSITION) throw badReply(`position ${position} does not fit in 32 bits`);
    positions[k] = position;
    previous = position;
  }
  return positions;
}

function badReply(message: string, details?: Record<string, unknown>): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REPLY, `bad position list: ${message}`, details);
}
