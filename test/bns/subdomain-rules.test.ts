/**
 * The subdomain record rules of the Python resolver (stacks-network/stacks-core
 * blockstack/lib/subdomains.py at 4711f10f48af, decode_zonefile_subdomains) that we did not follow
 * before: `+` in a label, the reserved TXT names, and one record per subdomain and zone file.
 */
import { describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import { SubdomainIndex } from '../../src/bns/subdomain-index.js';
import { subdomainHistories, subdomainRecord, subdomainRecords } from '../../src/bns/subdomains.js';
import { parseZoneFile, type ZoneFile } from '../../src/bns/zonefile.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { ErrorCodes } from '../../src/errors.js';
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

  it('reads one record a subdomain from one zone file: the lowest seqn, the first of equals, in the order of the records kept', () => {
    expect(read(txt('bob', '1Zero', 0), txt('bob', '1One', 1))).toEqual([['bob.dmails.id', '1Zero', 0]]);
    expect(read(txt('bob', '1One', 1), txt('alice', '1Alice', 0), txt('bob', '1Zero', 0))).toEqual([
      ['alice.dmails.id', '1Alice', 0],
      ['bob.dmails.id', '1Zero', 0],
    ]);
    expect(read(txt('bob', '1First', 0), txt('BOB', '1Second', 0))).toEqual([['bob.dmails.id', '1First', 0]]);
    // A malformed record is no candidate: it hides nothing.
    expect(read('bob IN TXT "owner=1Bad" "seqn=0" "parts=1"', txt('bob', '1One', 1))).toEqual([['bob.dmails.id', '1One', 1]]);
    // Over zone files in chain order, subdomainHistories sees one change a zone file.
    const records = [[txt('bob', '1Zero', 0), txt('bob', '1One', 1)], [txt('bob', '1Two', 1)]].flatMap((file) => subdomainRecords(parseZoneFile(parent(...file)), 'dmails.id'));
    expect(subdomainHistories(records).get('bob.dmails.id')?.map((r) => [r.owner, r.seqn])).toEqual([
      ['1Zero', 0],
      ['1Two', 1],
    ]);
  });

  it('resolves a subdomain changed at most once a zone file: a record with seqn 0 then 1 in one file is a creation only, and a stale record hides a later one', async () => {
    const created = parent(txt('bob', '1Zero', 0), txt('bob', '1One', 1));
    expect((await resolver([created]).resolve('bob.dmails.id')).owner).toBe('1Zero');
    // The lowest seqn of the second zone file is 0, which does not follow 0: no change, as in Python.
    const stale = parent(txt('bob', '1Again', 0), txt('bob', '1Next', 1));
    expect((await resolver([parent(txt('bob', '1Zero', 0)), stale]).resolve('bob.dmails.id')).owner).toBe('1Zero');
    const next = parent(txt('bob', '1Next', 1), txt('bob', '1Later', 2));
    expect((await resolver([parent(txt('bob', '1Zero', 0)), next]).resolve('bob.dmails.id')).owner).toBe('1Next');
  });

  it('reads again a zone file whose replay every lookup left part way through, rather than lose the rest of its records', async () => {
    // More than one slice of work: the replay yields right after reading this zone file, before its records.
    let text = '$ORIGIN dmails.id\n';
    for (let i = 0; text.length < 36_000; i++) text += `f${i.toString(36)} TXT "owner=a" "seqn=0" "parts=1" "zf0="\n`;
    const file = new Uint8Array(Buffer.from(`${text}${txt('bob', '1Bob', 0)}\n`));
    const entries = [{ zonefileHash: hash160Hex(file) }];
    const index = new SubdomainIndex((address) => (address === hash160Hex(file) ? file : undefined));
    const leaving = new AbortController();
    const left = index.lookup('bob.dmails.id', 'dmails.id', () => entries, leaving.signal);
    await new Promise((resolve) => setImmediate(resolve)); // the replay has begun and yielded
    leaving.abort();
    await expect(left).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect((await index.lookup('bob.dmails.id', 'dmails.id', () => entries))?.owner).toBe('1Bob');
  });
});
