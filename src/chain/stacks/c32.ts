/**
 * Stacks addresses: c32check text ("SP..." on mainnet, "ST..." on testnet) of a version byte and a
 * hash160, as principals appear to users. Only encoding is needed (events carry binary principals).
 */
import { createHash } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Crockford-style base32 of bytes, keeping one '0' per leading zero byte. */
function c32encode(bytes: Uint8Array): string {
  let out = '';
  let carry = 0;
  let carryBits = 0;
  for (let i = bytes.length - 1; i >= 0; i--) {
    carry |= (bytes[i] as number) << carryBits;
    carryBits += 8;
    while (carryBits >= 5) {
      out = ALPHABET[carry & 31] + out;
      carry >>>= 5;
      carryBits -= 5;
    }
  }
  if (carryBits > 0) out = ALPHABET[carry & 31] + out;
  out = out.replace(/^0+/, '');
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  return '0'.repeat(zeros) + out;
}

/** The c32check address of a principal's version and hash160, e.g. "SP000000000000000000002Q6VF78". */
export function c32address(version: number, hash160: Uint8Array): string {
  if (!Number.isInteger(version) || version < 0 || version > 31) throw new RangeError(`c32 version must be in [0, 31], got ${version}`);
  const payload = Buffer.concat([Uint8Array.of(version), hash160]);
  const checksum = createHash('sha256').update(createHash('sha256').update(payload).digest()).digest().subarray(0, 4);
  return `S${ALPHABET[version]}${c32encode(Buffer.concat([hash160, checksum]))}`;
}
