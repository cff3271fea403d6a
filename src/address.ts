import { AtlasError, ErrorCodes } from './errors.js';

/** A chunk address: hash160 of the chunk, 40 lower-case hex characters. */
export type Address = string;

export const ADDRESS_BYTES = 20;
export const ADDRESS_HEX_LENGTH = 40;
/**
 * An address no chunk has (no data hashes to twenty zero bytes): a chain announces it for a
 * position that binds nothing, as BNS does for a name revoked or transferred without a zone file.
 * Such a position is never fetched, and counts neither as held nor as missing.
 */
export const NO_CHUNK_ADDRESS: Address = '0'.repeat(ADDRESS_HEX_LENGTH);
/** 1 at the char code of each hex digit (either case). */
const HEX_DIGIT = new Uint8Array(128);
for (const digit of '0123456789abcdefABCDEF') HEX_DIGIT[digit.charCodeAt(0)] = 1;

/**
 * True when `value` is an address: 40 hexadecimal characters (either case). A table lookup per
 * character: V8's regular expression took twice as long (about 250 ns an address), and every
 * chunk a node fetches or serves is checked at least twice.
 */
export function isAddress(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== ADDRESS_HEX_LENGTH) return false;
  for (let i = 0; i < ADDRESS_HEX_LENGTH; i++) {
    const code = value.charCodeAt(i);
    if (code > 127 || HEX_DIGIT[code] === 0) return false;
  }
  return true;
}

/** Accepts upper or lower case hex; returns the canonical lower-case form or throws BAD_ADDRESS. */
export function parseAddress(value: unknown): Address {
  if (!isAddress(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw new AtlasError(ErrorCodes.BAD_ADDRESS, `not a chunk address (40 hex characters): ${shown}`);
  }
  return value.toLowerCase();
}

/** Per char code below 128, the value of that hex digit (either case); 255 for any other character. */
const HEX_VALUE = new Uint8Array(128).fill(255);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}

/**
 * Writes the 20 bytes of `address` (40 hex digits, either case) at `offset` of `into`, checking
 * it in the same pass. False when it is not an address, with `into` partly written: the caller
 * drops it. About 65 ns where isAddress and Buffer#write(hex) together took about 190: every
 * announcement appended, and every chunk stored or read, turns an address into bytes once.
 */
export function writeAddressBytes(address: unknown, into: Uint8Array, offset: number): boolean {
  if (typeof address !== 'string' || address.length !== ADDRESS_HEX_LENGTH) return false;
  for (let i = 0; i < ADDRESS_BYTES; i++) {
    const highCode = address.charCodeAt(2 * i);
    const lowCode = address.charCodeAt(2 * i + 1);
    const high = highCode < 128 ? (HEX_VALUE[highCode] as number) : 255;
    const low = lowCode < 128 ? (HEX_VALUE[lowCode] as number) : 255;
    if ((high | low) > 15) return false;
    into[offset + i] = (high << 4) | low;
  }
  return true;
}

/** The 20 bytes of `address` (40 hex digits, either case) in a Buffer of their own, or undefined when it is not an address. */
export function addressKey(address: unknown): Buffer | undefined {
  const key = Buffer.allocUnsafe(ADDRESS_BYTES);
  return writeAddressBytes(address, key, 0) ? key : undefined;
}

/** Whether the 20 bytes of `bytes` at `offset` are the 20 of `key` at `keyAt`, compared in place (no view made). */
export function addressBytesAre(bytes: Uint8Array, offset: number, key: Uint8Array, keyAt = 0): boolean {
  for (let i = 0; i < ADDRESS_BYTES; i++) if (bytes[offset + i] !== key[keyAt + i]) return false;
  return true;
}

/**
 * Copies the 20 bytes of `from` at `fromOffset` to `into` at `intoOffset`, byte by byte: for 20
 * bytes, Buffer#copy's and TypedArray#set's call costs more than the copy.
 */
export function copyAddressBytes(from: Uint8Array, fromOffset: number, into: Uint8Array, intoOffset: number): void {
  for (let i = 0; i < ADDRESS_BYTES; i++) into[intoOffset + i] = from[fromOffset + i] as number;
}

/** Per byte value, its two lower-case hex digits' char codes (high digit << 8 | low digit). */
const HEX_PAIR = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) {
  const text = byte.toString(16).padStart(2, '0');
  HEX_PAIR[byte] = (text.charCodeAt(0) << 8) | text.charCodeAt(1);
}

/**
 * Whether `digest` (20 bytes) is the address `address` (canonical lower-case hex), compared in
 * place: a received chunk's hash is checked against the address it was asked under without
 * making a string of the hash.
 */
export function digestIs(digest: Uint8Array, address: Address): boolean {
  return digest.length === ADDRESS_BYTES && digestAtIs(digest, 0, address);
}

/** digestIs for the digest at `offset` of `digests` (digests laid end to end): no view made of it. */
export function digestAtIs(digests: Uint8Array, offset: number, address: Address): boolean {
  if (offset < 0 || offset + ADDRESS_BYTES > digests.length || address.length !== ADDRESS_HEX_LENGTH) return false;
  for (let i = 0; i < ADDRESS_BYTES; i++) {
    const pair = HEX_PAIR[digests[offset + i] as number] as number;
    if (address.charCodeAt(2 * i) !== pair >> 8 || address.charCodeAt(2 * i + 1) !== (pair & 0xff)) return false;
  }
  return true;
}

/** The hex of the address in `bytes` (its first 20 bytes), or undefined for none: a store's reads, which never throw. */
export function hexOfAddress(bytes: Uint8Array | undefined): Address | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes.buffer, bytes.byteOffset, ADDRESS_BYTES).toString('hex');
}

export function addressFromBytes(bytes: Uint8Array): Address {
  if (bytes.length !== ADDRESS_BYTES) {
    throw new AtlasError(ErrorCodes.BAD_ADDRESS, `an address is ${ADDRESS_BYTES} bytes, got ${bytes.length}`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
