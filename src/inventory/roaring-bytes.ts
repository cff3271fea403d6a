/**
 * Converts between a roaring bitmap and the SPEC §4 byte layout a container at a time, through
 * roaring's documented portable serialization, instead of one position at a time: a roaring
 * bitset container holds 65,536 positions as 8,192 little-endian bytes, bit k of byte j being
 * position 8j + k, so it becomes 8,192 vector bytes by reversing the bits of each byte.
 *
 * Portable format (https://github.com/RoaringBitmap/RoaringFormatSpec), all little-endian:
 *   cookie u32: 12346 then u32 container count; or 12347 | (count - 1) << 16 then a bitset
 *     (LSB first) of which containers are run containers;
 *   per container: key u16 (position >> 16), cardinality - 1 u16;
 *   per container: byte offset u32, present unless cookie 12347 with fewer than 4 containers;
 *   containers: run: u16 count, then (start u16, length - 1 u16) pairs; else bitset of 8,192
 *     bytes when cardinality > 4,096; else array of cardinality u16 values, ascending.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { bitmaps, type Bitmap, type ReadonlyBitmap } from './bitmap.js';
import { POPCOUNT } from './codec.js';

const COOKIE_NO_RUNS = 12346;
const COOKIE_RUNS = 12347;
const NO_OFFSET_THRESHOLD = 4;
const CONTAINER_BITS = 65_536;
const CONTAINER_BYTES = CONTAINER_BITS / 8;
const ARRAY_MAX_CARDINALITY = 4096;

/** REVERSE[b] is b with its bit order reversed: roaring's LSB-first bytes <-> SPEC §4's MSB-first. */
const REVERSE = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    let r = 0;
    for (let k = 0; k < 8; k++) if (b & (1 << k)) r |= 0x80 >>> k;
    table[b] = r;
  }
  return table;
})();

/**
 * ORs into `out` the vector bytes [byteOffset, byteOffset + out.length) of the positions of
 * `bitmap`; positions outside those bytes are ignored.
 */
export function bitmapToBytesInto(out: Uint8Array, bitmap: ReadonlyBitmap, byteOffset: number): Uint8Array {
  if (out.length === 0 || bitmap.isEmpty) return out;
  const data = bitmap.serialize('portable');
  const u16 = (at: number): number => (data[at] as number) | ((data[at + 1] as number) << 8);

  const cookie = (u16(0) | (u16(2) << 16)) >>> 0;
  let size: number;
  let runFlagsAt = -1;
  let at: number;
  let hasOffsets: boolean;
  if ((cookie & 0xffff) === COOKIE_RUNS) {
    size = (cookie >>> 16) + 1;
    runFlagsAt = 4;
    at = 4 + Math.ceil(size / 8);
    hasOffsets = size >= NO_OFFSET_THRESHOLD;
  } else if (cookie === COOKIE_NO_RUNS) {
    size = (u16(4) | (u16(6) << 16)) >>> 0;
    at = 8;
    hasOffsets = true;
  } else {
    throw new AtlasError(ErrorCodes.INTERNAL, `unexpected roaring serialization cookie ${cookie}`);
  }
  const headerAt = at;
  at += 4 * size + (hasOffsets ? 4 * size : 0);

  const outEnd = byteOffset + out.length;
  for (let c = 0; c < size; c++) {
    const key = u16(headerAt + 4 * c);
    const cardinality = u16(headerAt + 4 * c + 2) + 1;
    const isRun = runFlagsAt >= 0 && ((data[runFlagsAt + (c >>> 3)] as number) & (1 << (c & 7))) !== 0;
    const firstByte = key * CONTAINER_BYTES;
    if (isRun) {
      const runs = u16(at);
      for (let r = 0; r < runs; r++) {
        const start = key * CONTAINER_BITS + u16(at + 2 + 4 * r);
        setBitRange(out, byteOffset, start, start + u16(at + 4 + 4 * r) + 1);
      }
      at += 2 + 4 * runs;
    } else if (cardinality > ARRAY_MAX_CARDINALITY) {
      const from = Math.max(firstByte, byteOffset);
      const to = Math.min(firstByte + CONTAINER_BYTES, outEnd);
      for (let b = from; b < to; b++) out[b - byteOffset] = (out[b - byteOffset] as number) | (REVERSE[data[at + b - firstByte] as number] as number);
      at += CONTAINER_BYTES;
    } else {
      if (firstByte < outEnd && firstByte + CONTAINER_BYTES > byteOffset) {
        const base = key * CONTAINER_BITS;
        for (let k = 0; k < cardinality; k++) {
          const position = base + u16(at + 2 * k);
          const index = Math.floor(position / 8) - byteOffset;
          if (index >= 0 && index < out.length) out[index] = (out[index] as number) | (0x80 >>> (position & 7));
        }
      }
      at += 2 * cardinality;
    }
  }
  return out;
}

/** Sets positions [start, end) in `out`, whose byte 0 is vector byte `byteOffset`, clipped to `out`. */
function setBitRange(out: Uint8Array, byteOffset: number, start: number, end: number): void {
  const first = Math.max(start, byteOffset * 8);
  const last = Math.min(end, (byteOffset + out.length) * 8);
  if (last <= first) return;
  let position = first;
  while (position < last && (position & 7) !== 0) {
    const index = Math.floor(position / 8) - byteOffset;
    out[index] = (out[index] as number) | (0x80 >>> (position & 7));
    position++;
  }
  const wholeBytes = Math.floor((last - position) / 8);
  if (wholeBytes > 0) {
    const index = position / 8 - byteOffset;
    out.fill(0xff, index, index + wholeBytes);
    position += wholeBytes * 8;
  }
  while (position < last) {
    const index = Math.floor(position / 8) - byteOffset;
    out[index] = (out[index] as number) | (0x80 >>> (position & 7));
    position++;
  }
}

/**
 * The bitmap of the positions set in `bytes`, where `bytes[0]` is vector byte `byteOffset`;
 * bits at positions >= `bitLimit` are ignored.
 */
export function bitmapFromBytes(bytes: Uint8Array, byteOffset: number, bitLimit: number = Number.POSITIVE_INFINITY): Bitmap {
  const firstBit = byteOffset * 8;
  const endBit = Math.min(firstBit + bytes.length * 8, bitLimit);
  if (endBit <= firstBit) return bitmaps.create();
  // Bytes used, the last one masked when the limit cuts through it.
  const used = Math.ceil((endBit - firstBit) / 8);
  const tailBits = (endBit - firstBit) & 7;
  const lastMask = tailBits === 0 ? 0xff : (0xff << (8 - tailBits)) & 0xff;
  const byteAt = (i: number): number => (i === used - 1 ? (bytes[i] as number) & lastMask : (bytes[i] as number));

  // One container per 65,536 positions: its key, cardinality and the used bytes it covers.
  const keys: number[] = [];
  const cardinalities: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let payload = 0;
  for (let key = Math.floor(firstBit / CONTAINER_BITS); key * CONTAINER_BITS < endBit; key++) {
    const start = Math.max(0, key * CONTAINER_BYTES - byteOffset);
    const end = Math.min(used, (key + 1) * CONTAINER_BYTES - byteOffset);
    let cardinality = 0;
    for (let i = start; i < end; i++) cardinality += POPCOUNT[byteAt(i)] as number;
    if (cardinality === 0) continue;
    keys.push(key);
    cardinalities.push(cardinality);
    starts.push(start);
    ends.push(end);
    payload += cardinality > ARRAY_MAX_CARDINALITY ? CONTAINER_BYTES : 2 * cardinality;
  }
  const size = keys.length;
  if (size === 0) return bitmaps.create();

  const data = new Uint8Array(8 + 8 * size + payload);
  const view = new DataView(data.buffer);
  view.setUint32(0, COOKIE_NO_RUNS, true);
  view.setUint32(4, size, true);
  let at = 8 + 8 * size;
  for (let c = 0; c < size; c++) {
    const key = keys[c] as number;
    const cardinality = cardinalities[c] as number;
    const start = starts[c] as number;
    const end = ends[c] as number;
    view.setUint16(8 + 4 * c, key, true);
    view.setUint16(8 + 4 * c + 2, cardinality - 1, true);
    view.setUint32(8 + 4 * size + 4 * c, at, true);
    // Vector byte i of `bytes` is byte (byteOffset + i - key * 8192) of this container.
    const shift = byteOffset - key * CONTAINER_BYTES;
    if (cardinality > ARRAY_MAX_CARDINALITY) {
      for (let i = start; i < end; i++) data[at + i + shift] = REVERSE[byteAt(i)] as number;
      at += CONTAINER_BYTES;
    } else {
      for (let i = start; i < end; i++) {
        let byte = byteAt(i);
        while (byte !== 0) {
          const bit = Math.clz32(byte) - 24;
          view.setUint16(at, (i + shift) * 8 + bit, true);
          at += 2;
          byte &= ~(0x80 >>> bit);
        }
      }
    }
  }
  return bitmaps.deserializePortable(data);
}
