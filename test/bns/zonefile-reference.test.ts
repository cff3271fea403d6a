/**
 * The zone-file parser against the `zone-file` package (the parser stacks-blockchain-api and
 * blockstack.js read BNS zone files with) where that package's reading is the reference: which
 * characters separate fields (any JavaScript `\s` but the line break), and which lines starting
 * with `$` are directives (`$ORIGIN` and `$TTL` only; any other `$word` is an owner name).
 */
import zoneFile from 'zone-file';
import { describe, expect, it } from 'vitest';
import { subdomainRecords } from '../../src/bns/subdomains.js';
import { parseZoneFile, ZoneFileError, type ZoneFile } from '../../src/bns/zonefile.js';

interface Theirs {
  $origin?: string;
  $ttl?: number;
  uri?: { name: string; ttl?: number; target: string; priority: number; weight: number }[];
  txt?: { name: string; ttl?: number; txt: string | string[] }[];
}

const theirs = (text: string): Theirs => zoneFile.parseZoneFile(text) as Theirs;

/** Origin, TTL, URI and TXT records as the package gives them, read from ours. */
function asTheirs(zone: ZoneFile): Theirs {
  const out: Theirs = {};
  if (zone.origin !== undefined) out.$origin = zone.origin;
  if (zone.ttl !== undefined) out.$ttl = zone.ttl;
  const ttl = (r: { ttl?: number }) => (r.ttl === undefined ? {} : { ttl: r.ttl });
  const uri = zone.records.flatMap((r) => (r.type === 'URI' ? [{ name: r.name, ...ttl(r), target: r.target, priority: r.priority, weight: r.weight }] : []));
  const txt = zone.records.flatMap((r) => (r.type === 'TXT' ? [{ name: r.name, ...ttl(r), txt: r.strings.length === 1 ? (r.strings[0] as string) : r.strings }] : []));
  if (uri.length > 0) out.uri = uri;
  if (txt.length > 0) out.txt = txt;
  return out;
}

const refusal = (text: string): ZoneFileError => {
  try {
    parseZoneFile(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ZoneFileError);
    expect((error as ZoneFileError).code).toBe('BAD_REQUEST');
    return error as ZoneFileError;
  }
  throw new Error('parsed');
};

const OWNER = '1J3PUxY5uDShUnHRrMyU6yKtoHEUPhKULs';
const PROFILE = `https://gaia.blockstack.org/hub/${OWNER}/profile.json`;
/** bob.alice.id's own zone file, as a subdomain registrar packs it into zf0=. */
const BOB_ZONEFILE = `$ORIGIN bob.alice.id\n$TTL 3600\n_https._tcp URI 10 1 "${PROFILE}"\n`;
const BOB_ZF0 = Buffer.from(BOB_ZONEFILE).toString('base64');

/** A parent zone file as BNS names carry them, its fields separated by `sep` (`sep2` where given) instead of spaces. */
function aliceZoneFile(sep: string, sep2 = sep): string {
  return [
    `$ORIGIN${sep}alice.id`,
    `$TTL${sep2}3600`,
    `_http._tcp${sep}IN${sep2}URI${sep}10${sep2}1${sep}"${PROFILE}"`,
    `_resolver${sep2}IN${sep}URI 10 1 "https://registrar.example/"`,
    `bob${sep}IN${sep2}TXT${sep}"owner=${OWNER}"${sep2}"seqn=0"${sep}"parts=1"${sep2}"zf0=${BOB_ZF0}"`,
    '',
  ].join('\n');
}

describe('zone-file field separators, as the zone-file package splits fields', () => {
  const separators: [string, string][] = [
    ['vertical tab', '\v'],
    ['form feed', '\f'],
    ['no-break space', '\u00a0'],
    ['em space', '\u2003'],
    ['ideographic space', '\u3000'],
    ['narrow no-break space', '\u202f'],
  ];

  it.each(separators)('reads a %s between fields as a space', (_what, sep) => {
    const spaced = parseZoneFile(aliceZoneFile(' '));
    const text = aliceZoneFile(sep, `\t${sep} `);
    expect(parseZoneFile(text)).toEqual(spaced);
    expect(asTheirs(parseZoneFile(text))).toEqual(theirs(text));
    // The subdomain record in it is found as in the spaced file.
    expect(subdomainRecords(parseZoneFile(text), 'alice.id').map((r) => [r.name, r.owner, r.seqn])).toEqual([['bob.alice.id', OWNER, 0]]);
    expect(Buffer.from(subdomainRecords(parseZoneFile(text), 'alice.id')[0]?.zonefile ?? []).toString()).toBe(BOB_ZONEFILE);
  });

  it('keeps such characters inside quoted strings as text, and splits bare TXT words at them', () => {
    const text = '$ORIGIN alice.id\nnote IN TXT "a\vb\u00a0c" d\u00a0e\n';
    expect(parseZoneFile(text).records).toEqual([{ name: 'note', type: 'TXT', strings: ['a\vb\u00a0c', 'd', 'e'] }]);
    expect(theirs(text).txt).toEqual([{ name: 'note', txt: ['a\vb\u00a0c', 'd', 'e'] }]);
  });

  it('continues the previous owner name on a line starting with any separator, as with a blank', () => {
    const zone = parseZoneFile('$ORIGIN alice.id\nwww IN A 192.0.2.1\n\vIN A 192.0.2.2\n\u00a0IN A 192.0.2.3\n');
    expect(zone.records.map((r) => r.name)).toEqual(['www', 'www', 'www']);
    expect(refusal('\u00a0IN TXT "no owner"').message).toMatch(/without an owner/);
  });

  it('still counts bytes, not characters, against maxBytes', () => {
    const text = `$ORIGIN\u00a0alice.id\n${'x\u00a0IN\u00a0TXT\u00a0"y"\n'.repeat(10)}`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(text.length);
    expect(() => parseZoneFile(text, { maxBytes: text.length })).toThrow(/larger than/);
    expect(parseZoneFile(text, { maxBytes: Buffer.byteLength(text) }).records).toHaveLength(10);
  });
});

describe('lines starting with $, as the zone-file package reads them', () => {
  it('reads $ORIGIN and $TTL, in any case, as directives', () => {
    const text = '$origin alice.id\n$Ttl 600\n_http._tcp IN URI 10 1 "https://example.org/p.json"\n';
    expect(parseZoneFile(text)).toMatchObject({ origin: 'alice.id', ttl: 600 });
    expect(asTheirs(parseZoneFile(text))).toEqual(theirs(text));
  });

  it('reads another $word at the start of a line as an owner name', () => {
    const text = '$ORIGIN alice.id\n$TTL 3600\n$foo IN TXT "x"\n$bar 60 IN TXT "owner=a" "seqn=0"\n';
    const zone = parseZoneFile(text);
    expect(zone.records).toEqual([
      { name: '$foo', type: 'TXT', strings: ['x'] },
      { name: '$bar', ttl: 60, type: 'TXT', strings: ['owner=a', 'seqn=0'] },
    ]);
    expect(asTheirs(zone)).toEqual(theirs(text));
    // Such a record names no subdomain: "$foo" is no subdomain label.
    expect(subdomainRecords(zone, 'alice.id')).toEqual([]);
  });

  it('reads an owner name with + (a subdomain label may hold it), and the subdomain in it', () => {
    const text = '$ORIGIN alice.id\n$TTL 3600\na+b IN TXT "owner=1Alice" "seqn=0" "parts=1" "zf0=JE9SSUdJTiBhK2I="\nc IN TXT "x"\n';
    const zone = parseZoneFile(text);
    expect(asTheirs(zone)).toEqual(theirs(text));
    expect(subdomainRecords(zone, 'alice.id').map((r) => r.name)).toEqual(['a+b.alice.id']);
    expect(refusal('a/b IN TXT "x"\n').message).toMatch(/owner name is not a domain name/);
  });

  it('reads an escaped \\$ORIGIN as an owner name, not a directive', () => {
    expect(parseZoneFile('\\$ORIGIN IN TXT "x"').records).toEqual([{ name: '$ORIGIN', type: 'TXT', strings: ['x'] }]);
    expect(parseZoneFile('\\$ORIGIN IN TXT "x"').origin).toBeUndefined();
  });

  it('refuses a $word line that is no supported record, naming the line and the word', () => {
    const include = refusal('$ORIGIN alice.id\n$INCLUDE other.zone\n');
    expect(include.line).toBe(2);
    expect(include.message).toMatch(/\$INCLUDE/);
    expect(refusal('$GENERATE 1-9 host$ A 192.0.2.$').message).toMatch(/\$GENERATE/);
    expect(refusal('$foo').message).toMatch(/\$foo/);
    expect(refusal('$foo IN A 300.1.1.1').message).toMatch(/IPv4/);
  });

  it('keeps $ORIGIN and $TTL strict: one field each', () => {
    expect(refusal('$ORIGIN test-personal.id $TTL 3600').line).toBe(1);
    expect(refusal('$TTL\v3600\v60').message).toMatch(/\$TTL takes 1 fields/);
  });

  it('counts $word records against maxRecords', () => {
    expect(() => parseZoneFile('$a IN TXT "1"\n$b IN TXT "2"\n', { maxRecords: 1 })).toThrow(/more than 1 records/);
  });
});
