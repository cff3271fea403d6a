import zoneFile from 'zone-file';
import { describe, expect, it } from 'vitest';
import { parseZoneFile, ZoneFileError } from '../../src/bns/zonefile.js';
import { corpus, CORPUS_SKIP_MESSAGE } from '../support/data.js';

/** The one genesis zone file that is not RFC 1035: "$ORIGIN test-personal.id $TTL 3600" on one line. */
const MALFORMED = '51aa6292140ffa361d9d811242e84e7da00220d8';

const refusal = (text: string, limits = {}): ZoneFileError => {
  try {
    parseZoneFile(text, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(ZoneFileError);
    expect((error as ZoneFileError).code).toBe('BAD_REQUEST');
    return error as ZoneFileError;
  }
  throw new Error('parsed');
};

describe('zone file parser', () => {
  it('drops a leading byte order mark from text as from bytes', () => {
    const file = '\uFEFF$ORIGIN alice.id\n$TTL 3600\n_http._tcp IN URI 10 1 "https://example.org/p.json"\n';
    expect(parseZoneFile(file)).toEqual(parseZoneFile(new Uint8Array(Buffer.from(file))));
    expect(parseZoneFile(file).origin).toBe('alice.id');
  });

  it('reads the records BNS uses', () => {
    const zone = parseZoneFile(
      [
        '$ORIGIN alice.id',
        '$TTL 3600',
        '_http._tcp IN URI 10 1 "https://gaia.example/hub/x/profile.json" ; comment',
        'www 600 IN A 192.0.2.1',
        '    IN AAAA 2001:db8::1',
        'v6 AAAA ::ffff:192.0.2.1',
        'mail IN MX 10 mx.example.com.',
        '@ IN NS ns1.example.com.',
        'alias IN CNAME www',
        '_sip._tcp IN SRV 10 60 5060 sip.example.com.',
        'note IN TXT "a;b" "say \\"hi\\"" "back\\\\slash" "semi\\059colon" bare',
      ].join('\n'),
    );
    expect(zone.origin).toBe('alice.id');
    expect(zone.ttl).toBe(3600);
    expect(zone.records).toEqual([
      { name: '_http._tcp', type: 'URI', priority: 10, weight: 1, target: 'https://gaia.example/hub/x/profile.json' },
      { name: 'www', ttl: 600, type: 'A', address: '192.0.2.1' },
      { name: 'www', type: 'AAAA', address: '2001:db8::1' },
      { name: 'v6', type: 'AAAA', address: '::ffff:192.0.2.1' },
      { name: 'mail', type: 'MX', preference: 10, host: 'mx.example.com.' },
      { name: '@', type: 'NS', host: 'ns1.example.com.' },
      { name: 'alias', type: 'CNAME', host: 'www' },
      { name: '_sip._tcp', type: 'SRV', priority: 10, weight: 60, port: 5060, target: 'sip.example.com.' },
      { name: 'note', type: 'TXT', strings: ['a;b', 'say "hi"', 'back\\slash', 'semi;colon', 'bare'] },
    ]);
  });

  it('refuses what it does not understand, naming the line', () => {
    expect(refusal('$ORIGIN a.id\nx IN TXT "open').line).toBe(2);
    expect(refusal('x IN HINFO "a" "b"').message).toMatch(/HINFO.*not supported/);
    expect(refusal('x IN TXT ( "a"\n "b" )').message).toMatch(/parenthesised/);
    expect(refusal('$INCLUDE other').message).toMatch(/\$INCLUDE/);
    expect(refusal('x IN A 256.0.0.1').message).toMatch(/IPv4/);
    expect(refusal('x IN AAAA 1::2::3').message).toMatch(/IPv6/);
    expect(refusal('x IN URI 70000 1 "u"').message).toMatch(/priority/);
    expect(refusal('x IN MX 10').message).toMatch(/MX takes 2 fields/);
    expect(refusal('  IN TXT "no owner"').message).toMatch(/without an owner/);
    expect(refusal('x IN TXT "\\300"').message).toMatch(/above 255/);
    expect(refusal('a IN TXT "1"\nb IN TXT "2"', { maxRecords: 1 }).line).toBe(2);
    expect(refusal('x'.repeat(100), { maxBytes: 50 }).message).toMatch(/larger than 50/);
    expect(() => parseZoneFile(Uint8Array.of(0x24, 0xff))).toThrow(/not UTF-8/);
  });

  it('reads ";" inside quotes as text, where the zone-file package cuts the record', () => {
    const text = '$ORIGIN a.id\n_http._tcp IN URI 10 1 "https://example.com/?a=1;b=2"\n';
    expect(parseZoneFile(text).records[0]).toMatchObject({ target: 'https://example.com/?a=1;b=2' });
    expect((zoneFile.parseZoneFile(text) as { uri?: { target: string }[] }).uri?.[0]?.target).not.toBe('https://example.com/?a=1;b=2');
  });

  describe.skipIf(!corpus)('the 1,631 real genesis zone files', () => {
    if (!corpus) console.warn(CORPUS_SKIP_MESSAGE);
    const entries = corpus ?? [];

    it('parses all but the one malformed file, which it refuses at line 1', () => {
      let parsed = 0;
      for (const entry of entries) {
        const text = Buffer.from(entry.data).toString('utf8');
        if (entry.address === MALFORMED) {
          expect(refusal(text).line).toBe(1);
          continue;
        }
        const zone = parseZoneFile(entry.data);
        expect(zone.origin).toBe(/^\$ORIGIN\s+(\S+)/m.exec(text)?.[1]);
        const recordLines = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('$'));
        expect(zone.records).toHaveLength(recordLines.length);
        parsed++;
      }
      expect(parsed).toBe(1_630);
    });

    it('agrees with the zone-file package on every URI and TXT record of the corpus', () => {
      for (const entry of entries) {
        if (entry.address === MALFORMED) continue;
        const mine = parseZoneFile(entry.data);
        const theirs = zoneFile.parseZoneFile(Buffer.from(entry.data).toString('utf8')) as { $origin?: string; uri?: { name: string; target: string; priority: number; weight: number }[]; txt?: { name: string; txt: string | string[] }[] };
        expect(mine.origin).toBe(theirs.$origin);
        expect(mine.records.flatMap((r) => (r.type === 'URI' ? [[r.name, r.priority, r.weight, r.target]] : []))).toEqual((theirs.uri ?? []).map((r) => [r.name, r.priority, r.weight, r.target]));
        expect(mine.records.flatMap((r) => (r.type === 'TXT' ? [[r.name, r.strings]] : []))).toEqual((theirs.txt ?? []).map((r) => [r.name, Array.isArray(r.txt) ? r.txt : [r.txt]]));
      }
    });
  });
});
