import { AtlasError, ErrorCodes } from './errors.js';

/** A chunk address: hash160 of the chunk, 40 lower-case hex characters. */
export type Address = string;

export const ADDRESS_BYTES = 20;
export const ADDRESS_HEX_LENGTH = 40;
const HEX_ADDRESS = /^[0-9a-fA-F]{40}$/;

/** True when `value` is an address: 40 hexadecimal characters (either case). */
export function isAddress(value: unknown): value is string {
  return typeof value === 'string' && HEX_ADDRESS.test(value);
}

/** Accepts upper or lower case hex; returns the canonical lower-case form or throws BAD_ADDRESS. */
export function parseAddress(value: unknown): Address {
  if (!isAddress(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw new AtlasError(ErrorCodes.BAD_ADDRESS, `not a chunk address (40 hex characters): ${shown}`);
  }
  return value.toLowerCase();
}

export function addressToBytes(address: Address): Uint8Array {
  return Buffer.from(address, 'hex');
}

export function addressFromBytes(bytes: Uint8Array): Address {
  if (bytes.length !== ADDRESS_BYTES) {
    throw new AtlasError(ErrorCodes.BAD_ADDRESS, `an address is ${ADDRESS_BYTES} bytes, got ${bytes.length}`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
