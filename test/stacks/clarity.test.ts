import { describe, expect, it } from 'vitest';
import { c32address } from '../../src/chain/stacks/c32.js';
import { decodeClarity, encodeClarity, tuple, type ClarityValue } from '../../src/chain/stacks/clarity.js';
import { parseBnsPrint } from '../../src/chain/stacks/payloads.js';
import { isAtlasError } from '../../src/errors.js';
import { bnsPrintHex } from './fake-stacks-node.js';

const hex = (value: ClarityValue) => Buffer.from(encodeClarity(value)).toString('hex');
const refused = (input: string, limits = {}) => {
  try {
    decodeClarity(input, limits);
  } catch (error) {
    expect(isAtlasError(error, 'BAD_REQUEST')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('decoded');
};

describe('Clarity consensus serialization', () => {
  it('encodes the bytes the Clarity rules give, by hand', () => {
    expect(hex({ type: 'uint', value: 1n })).toBe(`01${'00'.repeat(15)}01`);
    expect(hex({ type: 'int', value: -1n })).toBe(`00${'ff'.repeat(16)}`);
    expect(hex({ type: 'buff', value: Uint8Array.of(0xab) })).toBe('0200000001ab');
    expect(hex({ type: 'string-ascii', value: 'hi' })).toBe('0d000000026869');
    expect(hex({ type: 'none' })).toBe('09');
    expect(hex({ type: 'some', value: { type: 'bool', value: true } })).toBe('0a03');
    expect(hex({ type: 'ok', value: { type: 'bool', value: false } })).toBe('0704');
    // tuple entries sorted by name, each a length-prefixed name then the value
    expect(hex(tuple({ b: { type: 'none' }, a: { type: 'bool', value: true } }))).toBe('0c00000002016103016209');
    expect(hex({ type: 'principal', version: 22, hash160: new Uint8Array(20), contractName: 'bns' })).toBe(`0616${'00'.repeat(20)}03626e73`);
  });

  it('decodes every type back to the same value', () => {
    const value = tuple({
      list: { type: 'list', items: [{ type: 'int', value: -(2n ** 127n) }, { type: 'int', value: 2n ** 127n - 1n }] },
      max: { type: 'uint', value: 2n ** 128n - 1n },
      text: { type: 'string-utf8', value: 'héllo ✓' },
      who: { type: 'principal', version: 26, hash160: new Uint8Array(20).fill(9) },
      res: { type: 'err', value: { type: 'some', value: { type: 'buff', value: new Uint8Array(3) } } },
    });
    expect(decodeClarity(`0x${hex(value)}`)).toEqual(value);
  });

  it('refuses malformed values with BAD_REQUEST and where it failed', () => {
    expect(refused('0x')).toMatch(/ends early/);
    expect(refused('0x0904')).toMatch(/trailing/);
    expect(refused('0x10')).toMatch(/unknown type prefix 0x10/);
    expect(refused('0x02000000050102')).toMatch(/ends early/);
    expect(refused('0x0c00000002016209016109')).toMatch(/out of order/);
    expect(refused('0x0c0000000201610901610a03')).toMatch(/out of order or repeated/);
    expect(refused('0x0d0000000100')).toMatch(/non-printable/);
    expect(refused('0x0e00000001ff')).toMatch(/UTF-8/);
    expect(refused('0xzz')).toMatch(/hex/);
    expect(refused(`0x${'0a'.repeat(40)}09`, { maxDepth: 16 })).toMatch(/deeper than 16/);
    expect(refused('0x02ffffffff')).toMatch(/exceeds/);
    expect(refused('0x0bffffffff')).toMatch(/items exceed/);
    expect(refused(`0x0520${'00'.repeat(20)}`)).toMatch(/principal version 32 is above 31 at byte 1/);
    expect(refused(`0x06ff${'00'.repeat(20)}03626e73`)).toMatch(/principal version 255/);
  });

  it('writes principals as c32check addresses (the boot addresses)', () => {
    expect(c32address(22, new Uint8Array(20))).toBe('SP000000000000000000002Q6VF78');
    expect(c32address(26, new Uint8Array(20))).toBe('ST000000000000000000002AMW42H');
  });

  it('reads a BNS print into a name event; an empty hash unbinds', () => {
    const zonefile = new Uint8Array(Buffer.from('$ORIGIN alice.id\n'));
    const event = parseBnsPrint(bnsPrintHex({ name: 'alice.id', op: 'name-update', zonefile, sender: new Uint8Array(20) }, 7), { txid: '0xab', height: 3 })!;
    expect(event).toMatchObject({ key: 'alice.id', op: 'name-update', owner: 'SP000000000000000000002Q6VF78', attachmentIndex: 7, height: 3, txid: '0xab' });
    expect(event.address).toMatch(/^[0-9a-f]{40}$/);
    const revoke = parseBnsPrint(bnsPrintHex({ name: 'alice.id', op: 'name-revoke' }, 8), { txid: '0xab', height: 4 });
    expect(revoke?.address).toBe('0'.repeat(40));
    expect(() => parseBnsPrint(`0x${hex(tuple({ attachment: { type: 'none' } }))}`, { txid: '0x', height: 1 })).toThrow(/a tuple holding "hash"/);
    expect(() => parseBnsPrint(`0x${hex({ type: 'uint', value: 1n })}`, { txid: '0x', height: 1 })).toThrow(/a tuple holding "attachment"/);
  });

  it('reads a print of the contract that is no name event (namespace-ready) as none, not as a malformed one', () => {
    const ready = tuple({ namespace: { type: 'buff', value: Buffer.from('id') }, status: { type: 'string-ascii', value: 'ready' }, properties: tuple({ 'launched-at': { type: 'some', value: { type: 'uint', value: 1n } } }) });
    expect(parseBnsPrint(`0x${hex(ready)}`, { txid: '0xab', height: 3 })).toBeUndefined();
  });
});
