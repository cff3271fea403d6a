/**
 * The subdomain record rules of the Python resolver (stacks-network/stacks-core
 * blockstack/lib/subdomains.py at 4711f10f48af, decode_zonefile_subdomains) that we did not follow
 * before: `+` in a label, the reserved TXT names, and one record per subdomain and zone file.
 */
import { describe, expect, it } from 'vitest';
import { subdomainRecord, subdomainRecords } from '../../src/bns/subdomains.js';
import type { ZoneFile } from '../../src/bns/zonefile.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const strings = (owner: string, seqn: number, zone = '$ORIGIN x\n') => [`owner=${owner}`, `seqn=${seqn}`, 'parts=1', `zf0=${b64(zone)}`];

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
});
