/**
 * Linear-time parsing of what comes from the network: for each worst case we know of (long
 * numbers, references, base64 with a bad end, unclosed tags, many values, long JSON and
 * MessagePack bodies, long peer addresses), doubling the input twice (x4) must multiply the time
 * by about 4, not 16 as a quadratic parser would (the old <double> pattern: ~4.2 per doubling).
 * Against a busy machine: each timing repeats the parse until it is measurable, the best of
 * several timings counts (the least disturbed by garbage collection and other processes), the
 * bound is a generous 8, and a case gets three attempts (a quadratic one fails them all).
 */
import { describe, expect, it } from 'vitest';
import { parseMethodCall } from '../../../src/legacy/xmlrpc-decode.js';
import { decodeCharacterData } from '../../../src/legacy/xml-text.js';
import { decodeBinary, decodeJson, encodeBinary } from '../../../src/transport/codec.js';
import { parsePeerAddress } from '../../../src/peer-address.js';
import { parseDialAddress } from '../../../src/peers/address-policy.js';
import { remoteHost } from '../../../src/transport/rate-limit.js';
import { collectGarbage } from '../../support/heap.js';

const SIZE = 25_000;
const GROWTH = 4;
const MEASURABLE_MS = 25;
const MAX_REPEATS = 1_024;
const RUNS = 3;
const FACTOR = 10;
const ATTEMPTS = 5;

const wrap = (value: string) =>
  `<?xml version="1.0"?><methodCall><methodName>get_zonefiles</methodName><params><param><value>${value}</value></param></params></methodCall>`;

const xmlLimits = { maxBytes: 8 * 1024 * 1024, maxValues: 1_000_000, maxNumberLength: 1_000_000 };
/** Times parsing of a whole call whose one parameter is `make(n)`; refusals are fine, only time counts. */
const xml = (make: (n: number) => string, reachesValue = true) => (n: number) => {
  const doc = wrap(make(n));
  const parse = () => {
    try {
      parseMethodCall(doc, xmlLimits);
      return undefined;
    } catch (error) {
      return String(error);
    }
  };
  // A value case must get past the document's structure to the value's own parser, or the
  // pattern it names is never timed.
  if (reachesValue) expect(parse() ?? '').not.toMatch(/methodCall|methodName|<params>|<param>|<value>/);
  return () => void parse();
};

const cases: Record<string, (n: number) => () => void> = {
  // maxNumberLength raised so that the pattern itself is what is timed
  '<double> of n digits, then a bad character': xml((n) => `<double>${'9'.repeat(n)}x</double>`),
  '<double> of n digits and dots': xml((n) => `<double>${'9.'.repeat(n / 2)}</double>`),
  '<int> of n digits': xml((n) => `<int>${'9'.repeat(n)}</int>`),
  '<base64> of n characters, then a bad one': xml((n) => `<base64>${'A'.repeat(n)}!</base64>`),
  '<string> of n/5 references': xml((n) => `<string>${'&amp;'.repeat(n / 5)}</string>`),
  '<string> of unterminated references': xml((n) => `<string>${'&amp'.repeat(n / 4)}</string>`),
  'array of n/16 values': xml((n) => `<array><data>${'<value>a</value>'.repeat(n / 16)}</data></array>`),
  'n/3 unclosed tags': xml((n) => '<a>'.repeat(n / 3), false),
  'an unclosed attribute': xml((n) => `<a b="${'x'.repeat(n)}>`, false),
  'a declaration of repeated encodings': (n) => () => {
    try {
      parseMethodCall(`<?xml ${' encoding'.repeat(n / 9)}`, xmlLimits);
    } catch {
      // refused
    }
  },
  'character data of n/6 numeric references': (n) => {
    const text = '&#x41;'.repeat(n / 6);
    return () => decodeCharacterData(text);
  },
  'JSON body of n/4 nested-free numbers': (n) => {
    const bytes = new TextEncoder().encode(`{"addresses":[${Array.from({ length: n / 4 }, () => '1e9').join(',')}]}`);
    // The value count (maxValues) would refuse it first: the parse itself is what is timed here.
    return () => decodeJson(bytes, { maxBytes: 1 << 24, maxDepth: 32, maxValues: Infinity });
  },
  // n strings, not fewer: below ~100,000 items the decoded array leaves the CPU cache between the
  // two sizes, which alone multiplies the time by ~8 for a 4x input.
  'MessagePack body of n short strings': (n) => {
    const bytes = encodeBinary({ addresses: Array.from({ length: n }, () => 'ab') });
    return () => decodeBinary(bytes, { maxBytes: 1 << 24, maxDepth: 32, maxValues: Infinity });
  },
  'peer addresses and remote hosts of n characters': (n) => {
    const long = `${'1.'.repeat(n / 2)}1:80`;
    const bracket = `[${':'.repeat(n)}]:80`;
    return () => {
      parsePeerAddress(long, n + 10);
      parsePeerAddress(bracket, n + 10);
      parseDialAddress(long, n + 10);
      parseDialAddress(bracket, n + 10);
      remoteHost(long);
      remoteHost(bracket);
    };
  },
};

/** CPU time of this process in ms: unlike wall time, not stretched by other processes. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function bestMs(run: () => void, repeats: number, runs = RUNS): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    collectGarbage();
    const started = cpuMs();
    for (let r = 0; r < repeats; r++) run();
    best = Math.min(best, cpuMs() - started);
  }
  return Math.max(best, 0.001);
}

describe('parsers of network input run in linear time', () => {
  it.each(Object.entries(cases))('%s: time grows linearly with the input', (_name, make) => {
    const small = make(SIZE);
    const large = make(GROWTH * SIZE);
    let repeats = 1;
    while (repeats < MAX_REPEATS && bestMs(small, repeats, 2) < MEASURABLE_MS) repeats *= 2;
    const ratios: number[] = [];
    for (let attempt = 0; attempt < ATTEMPTS && !(ratios.at(-1)! < FACTOR); attempt++) {
      ratios.push(bestMs(large, repeats) / bestMs(small, repeats));
    }
    expect(Math.min(...ratios)).toBeLessThan(FACTOR);
  });

  it('a <double> longer than maxNumberLength is refused before any pattern sees it', () => {
    expect(() => parseMethodCall(wrap(`<double>${'9'.repeat(65)}</double>`))).toThrow(/longer than 64 characters/);
    expect(parseMethodCall(wrap(`<double>${'9'.repeat(30)}.5</double>`)).params[0]).toBe(Number(`${'9'.repeat(30)}.5`));
  });
});
