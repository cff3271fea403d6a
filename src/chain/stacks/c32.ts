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

/**
 * Whether `text` is a contract id, "<address>.<name>": a c32check address whose checksum holds (a
 * mistyped character fails it), then a Clarity contract name (a letter, then letters, digits, `-`
 * or `_`, at most 128 characters).
 */
export function isContractId(text: string): boolean {
  const dot = text.indexOf('.');
  if (dot < 0 || !/^[a-zA-Z][a-zA-Z0-9_-]{0,127}$/.test(text.slice(dot + 1))) return false;
  const address = text.slice(0, dot);
  if (!/^S[0-9A-HJKMNP-TV-Z]{2,48}$/.test(address)) return false;
  const version = ALPHABET.indexOf(address[1] as string);
  // The rest is a base-32 number of the hash160 and its 4-byte checksum, big-endian.
  let value = 0n;
  for (const char of address.slice(2)) value = value * 32n + BigInt(ALPHABET.indexOf(char));
  const bytes = new Uint8Array(24);
  for (let i = 23; i >= 0; i--, value >>= 8n) bytes[i] = Number(value & 0xffn);
  return value === 0n && c32address(version, bytes.subarray(0, 20)) === address;
}
