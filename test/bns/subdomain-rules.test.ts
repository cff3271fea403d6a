/**
 * The subdomain record rules of the Python resolver (stacks-network/stacks-core
 * blockstack/lib/subdomains.py at 4711f10f48af, decode_zonefile_subdomains) that we did not follow
 * before: `+` in a label, the reserved TXT names, and one record per subdomain and zone file.
 */
import { describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import { subdomainRecord, subdomainRecords } from '../../src/bns/subdomains.js';
import { parseZoneFile, type ZoneFile } from '../../src/bns/zonefile.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const strings = (owner: string, seqn: number, zone = '$ORIGIN x\n') => [`owner=${owner}`, `seqn=${seqn}`, 'parts=1', `zf0=${b64(zone)}`];
const txt = (label: string, owner: string, seqn: number) => `${label} IN TXT ${strings(owner, seqn).map((s) => `"${s}"`).join(' ')}`;
const parent = (...records: string[]) => new Uint8Array(Buffer.from(`$ORIGIN dmails.id\n$TTL 3600\n${records.join('\n')}\n`));
const read = (...records: string[]) => subdomainRecords(parseZoneFile(parent(...records)), 'dmails.id').map((r) => [r.name, r.owner, r.seqn]);

/** A resolver over `files`, the parent's zone files in chain order, all held. */
function resolver(files: Uint8Array[]): NameResolver {
  const chain = new MemoryChain();
  chain.announce(files.map((file) => ({ address: hash160Hex(file), key: 'dmails.id' })));
  const chunks = new Map(files.map((file) => [hash160Hex(file), file]));
  return new NameResolver({ chain, chunk: (address) => chunks.get(address) });
}

describe('subdomain record rules of the Python resolver', () => {
  it('takes + in a label, as the Python resolver and the registrar do; still 37 characters at most', () => {
    const zone: ZoneFile = {
      records: [
        { name: 'a+b', type: 'TXT', strings: strings('1Owner', 0) },
        { name: 'C+D', type: 'TXT', strings: strings('1Other', 0) },
        { name: `${'+'.repeat(37)}`, type: 'TXT', strings: strings('1Long', 0) },
        { name: `${'+'.repeat(38)}`, type: 'TXT', strings: strings('1TooLong', 0) },
      ],
    };
    expect(subdomainRecord(zone.records[0]!, 'dmails.id')?.name).toBe('a+b.dmails.id');
    expect(subdomainRecords(zone, 'dmails.id').map((r) => [r.name, r.owner])).toEqual([
      ['a+b.dmails.id', '1Owner'],
      ['c+d.dmails.id', '1Other'],
      [`${'+'.repeat(37)}.dmails.id`, '1Long'],
    ]);
  });

  it('reads no subdomain from the reserved TXT names _missing, _resolver and _registrar, whatever their case', async () => {
    const file = parent(txt('_missing', '1Missing', 0), txt('_Resolver', '1Resolver', 0), txt('_REGISTRAR', '1Registrar', 0), txt('_other', '1Other', 0), txt('bob', '1Bob', 0));
    expect(read(...new TextDecoder().decode(file).split('\n').slice(2))).toEqual([
      ['_other.dmails.id', '1Other', 0],
      ['bob.dmails.id', '1Bob', 0],
    ]);
    const names = resolver([file]);
    expect((await names.resolve('_registrar.dmails.id')).status).toBe('name-not-found');
    expect((await names.resolve('_missing.dmails.id')).status).toBe('name-not-found');
    expect((await names.resolve('_other.dmails.id')).owner).toBe('1Other');
  });
});
