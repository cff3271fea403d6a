import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { addressFromBytes, addressKey, digestAtIs, digestIs, isAddress, parseAddress, writeAddressBytes } from '../src/address.js';
import { AtlasError, ErrorCodes } from '../src/errors.js';

const valid = '0123456789abcdefABCDEF0123456789abcdefAB';

describe('isAddress', () => {
  it('accepts 40 hex digits in either case', () => {
    expect(isAddress(valid)).toBe(true);
    expect(isAddress('f'.repeat(40))).toBe(true);
    expect(isAddress('0'.repeat(40))).toBe(true);
  });

  it('refuses any other length, and a non-hex character at any place', () => {
    expect(isAddress(valid.slice(1))).toBe(false);
    expect(isAddress(`${valid}0`)).toBe(false);
    expect(isAddress('')).toBe(false);
    // Neighbours of the hex ranges, whitespace, and characters past ASCII (an Arabic-Indic and a
    // full-width digit, a letter whose code ends like a hex one's).
    const strangers = ['/', ':', '@', 'G', '`', 'g', ' ', '\n', '\u0000', '\u0663', '\uff10', '\u0161', '\u0130'];
    for (let at = 0; at < 40; at++) {
      for (const stranger of strangers) expect(isAddress(valid.slice(0, at) + stranger + valid.slice(at + 1))).toBe(false);
    }
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 40, Buffer.from(valid, 'hex'), [valid], { toString: () => valid }]) expect(isAddress(value)).toBe(false);
  });
});

describe('addressKey and writeAddressBytes', () => {
  it('decode what Buffer.from(hex) decodes, for addresses in either case', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(20);
      const hex = bytes.toString('hex');
      expect(addressKey(hex)).toEqual(bytes);
      expect(addressKey(hex.toUpperCase())).toEqual(bytes);
      const into = Buffer.alloc(50);
      expect(writeAddressBytes(hex, into, 17)).toBe(true);
      expect(into.subarray(17, 37)).toEqual(bytes);
      expect(into.subarray(0, 17).every((b) => b === 0) && into.subarray(37).every((b) => b === 0)).toBe(true);
    }
    expect(addressKey(valid)).toEqual(Buffer.from(valid, 'hex'));
  });

  it('refuse exactly what isAddress refuses: a non-hex character in either digit of any byte, any other length, a non-string', () => {
    const strangers = ['/', ':', '@', 'G', '`', 'g', ' ', '\n', '\u0000', '\u0663', '\uff10', '\u0161', '\u0130'];
    for (let at = 0; at < 40; at++) {
      for (const stranger of strangers) {
        const value = valid.slice(0, at) + stranger + valid.slice(at + 1);
        expect(addressKey(value)).toBeUndefined();
        expect(writeAddressBytes(value, Buffer.alloc(20), 0)).toBe(false);
      }
    }
    for (const value of [valid.slice(1), `${valid}0`, '', undefined, null, 40, Buffer.from(valid, 'hex'), [valid]]) expect(addressKey(value)).toBeUndefined();
  });
});

describe('parseAddress', () => {
  it('returns the lower-case form, and throws BAD_ADDRESS for anything else', () => {
    expect(parseAddress(valid)).toBe(valid.toLowerCase());
    for (const value of [valid.slice(2), `${valid.slice(0, 39)}x`, 7]) {
      let error: unknown;
      try {
        parseAddress(value);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AtlasError);
      expect((error as AtlasError).code).toBe(ErrorCodes.BAD_ADDRESS);
    }
  });

  it('round-trips through bytes', () => {
    expect(addressFromBytes(Buffer.from(valid, 'hex'))).toBe(valid.toLowerCase());
  });
});

describe('digestIs', () => {
  it('is true only for the digest the canonical address spells, byte for byte', () => {
    for (let round = 0; round < 50; round++) {
      const digest = randomBytes(20);
      const address = digest.toString('hex');
      expect(digestIs(digest, address)).toBe(true);
      for (let i = 0; i < 20; i++) {
        const other = Buffer.from(digest);
        other[i] = (other[i] as number) ^ (1 << (round % 8));
        expect(digestIs(other, address)).toBe(false);
      }
    }
    const digest = Buffer.from('00ff10a0'.repeat(5), 'hex');
    expect(digestIs(digest, '00ff10a0'.repeat(5))).toBe(true);
    expect(digestIs(digest, '00FF10A0'.repeat(5))).toBe(false); // addresses here are canonical: lower case
    expect(digestIs(digest.subarray(1), '00ff10a0'.repeat(5))).toBe(false);
    expect(digestIs(digest, '00ff10a0'.repeat(5).slice(2))).toBe(false);
  });
});

describe('digestAtIs', () => {
  it('reads the digest at its offset among digests laid end to end, as digestIs reads one alone', () => {
    const digests = randomBytes(20 * 4);
    const addresses = [0, 1, 2, 3].map((i) => digests.toString('hex', 20 * i, 20 * i + 20));
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) expect(digestAtIs(digests, 20 * j, addresses[i] as string)).toBe(i === j);
      expect(digestAtIs(digests, 20 * i + 1, addresses[i] as string)).toBe(false);
    }
    expect(digestAtIs(digests, 20 * 3, (addresses[3] as string).toUpperCase())).toBe(false);
    // Past the end or before the start, nothing is read.
    expect(digestAtIs(digests, 20 * 4, addresses[0] as string)).toBe(false);
    expect(digestAtIs(digests.subarray(0, 79), 60, addresses[3] as string)).toBe(false);
    expect(digestAtIs(digests, -1, addresses[0] as string)).toBe(false);
  });
});
