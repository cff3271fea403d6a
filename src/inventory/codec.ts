/**
 * The inventory byte layout of SPEC §4, as pure functions: bit `i` lives in byte `i >> 3` under
 * mask `0x80 >> (i & 7)` (big-endian within a byte), no header, padded with zero bits.
 */

/** Largest number of positions a vector can describe: positions are unsigned 32-bit integers. */
export const MAX_INVENTORY_LENGTH = 0xffff_ffff;

/** Bytes of a vector over `bitLength` positions: ceil(bitLength / 8). */
export function byteLengthOf(bitLength: number): number {
  return Math.ceil(bitLength / 8);
}

/** Index of the byte that holds `position`. */
export function byteIndexOf(position: number): number {
  return Math.floor(position / 8);
}

/** Mask of `position` inside its byte. */
export function bitMaskOf(position: number): number {
  return 0x80 >>> (position & 7);
}

/** POPCOUNT[b] is the number of bits set in the byte b. */
export const POPCOUNT: Readonly<Uint8Array> = (() => {
  const table = new Uint8Array(256);
  for (let i = 1; i < 256; i++) table[i] = (i & 1) + (table[i >>> 1] ?? 0);
  return table;
})();

/**
 * ORs the bits of `positions` into `out`, where `out[0]` is byte `byteOffset` of the vector.
 * Positions outside the bytes `out` covers are ignored. Returns `out`.
 */
export function encodeRangeInto(out: Uint8Array, positions: ArrayLike<number>, byteOffset: number): Uint8Array {
  const size = out.length;
  for (let k = 0; k < positions.length; k++) {
    const position = positions[k] as number;
    const index = (position >>> 3) - byteOffset;
    if (index >= 0 && index < size) out[index] = (out[index] as number) | (0x80 >>> (position & 7));
  }
  return out;
}

/** The `byteLength` bytes of the vector from byte `byteOffset` on, for the set `positions`. */
export function encodeRange(positions: ArrayLike<number>, byteOffset: number, byteLength: number): Uint8Array {
  return encodeRangeInto(new Uint8Array(byteLength), positions, byteOffset);
}

/**
 * The positions, ascending, of the bits set in `bytes`, where `bytes[0]` is byte `byteOffset` of
 * the vector. Bits at positions >= `bitLimit` (the sequence length) are ignored.
 */
export function decodeRange(bytes: Uint8Array, byteOffset: number, bitLimit: number = Number.POSITIVE_INFINITY): Uint32Array {
  const firstBit = byteOffset * 8;
  const endBit = Math.min(firstBit + bytes.length * 8, bitLimit);
  if (endBit <= firstBit) return new Uint32Array(0);
  const fullBytes = Math.floor((endBit - firstBit) / 8);
  const tailBits = (endBit - firstBit) & 7;
  const tail = tailBits === 0 ? 0 : (bytes[fullBytes] as number) & ((0xff << (8 - tailBits)) & 0xff);

  let count = POPCOUNT[tail] as number;
  for (let i = 0; i < fullBytes; i++) count += POPCOUNT[bytes[i] as number] as number;
  const positions = new Uint32Array(count);
  if (count === 0) return positions;

  let k = 0;
  const emit = (byte: number, base: number): void => {
    while (byte !== 0) {
      const bit = Math.clz32(byte) - 24;
      positions[k++] = base + bit;
      byte &= ~(0x80 >>> bit);
    }
  };
  for (let i = 0; i < fullBytes; i++) {
    const byte = bytes[i] as number;
    if (byte !== 0) emit(byte, firstBit + i * 8);
  }
  if (tail !== 0) emit(tail, firstBit + fullBytes * 8);
  return positions;
}
