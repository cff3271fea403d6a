/**
 * A strict parser of the RFC 1035 subset BNS zone files use: `$ORIGIN`, `$TTL`, and URI, TXT, A,
 * AAAA, CNAME, MX, NS and SRV records, with quoted strings (escapes `\"`, `\\`, `\DDD`; `;` inside
 * quotes is text, outside it starts a comment). Anything else is refused with a ZoneFileError
 * naming the line: a resolver must not guess. Sizes and counts are bounded.
 *
 * Where the `zone-file` package (what stacks-blockchain-api and blockstack.js read BNS zone files
 * with) accepts more than RFC 1035, we follow it: fields are separated by any character of
 * JavaScript's `\s` (space, tab, CR, vertical tab, form feed, no-break space and the other Unicode
 * spaces), as it splits them; and only `$ORIGIN` and `$TTL`, at the very start of a line, are
 * directives: any other `$word` there is an owner name (`$foo IN TXT "x"` is a record of `$foo`).
 */
import { AtlasError, ErrorCodes } from '../errors.js';

/** A zone-file record's type and its type-specific data (URI, TXT, A, AAAA, CNAME, NS, MX, SRV). */
export type RecordData =
  | { type: 'URI'; priority: number; weight: number; target: string }
  | { type: 'TXT'; strings: string[] }
  | { type: 'A'; address: string }
  | { type: 'AAAA'; address: string }
  | { type: 'CNAME' | 'NS'; host: string }
  | { type: 'MX'; preference: number; host: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string };

/** One parsed zone-file record: its owner name, optional TTL and type-specific data. */
export type ZoneRecord = { name: string; ttl?: number } & RecordData;

/** A parsed zone file, as `parseZoneFile` returns it: `$ORIGIN`, `$TTL` and the records in file order. */
export interface ZoneFile {
  origin?: string;
  ttl?: number;
  records: ZoneRecord[];
}

/** Bounds of parseZoneFile (DEFAULT_ZONEFILE_LIMITS): the most bytes and records a zone file is read with. */
export interface ZoneFileLimits {
  /** Largest zone file parsed, bytes (default 40,960: the chunk limit). */
  maxBytes: number;
  /** Most records (default 4,096). */
  maxRecords: number;
}

/** Defaults of ZoneFileLimits, used for every limit not given to `parseZoneFile`. */
export const DEFAULT_ZONEFILE_LIMITS: Readonly<ZoneFileLimits> = Object.freeze({ maxBytes: 40_960, maxRecords: 4_096 });

/** The error `parseZoneFile` throws for a zone file it refuses (code BAD_REQUEST), naming the offending `line`. */
export class ZoneFileError extends AtlasError {
  readonly line: number;
  constructor(line: number, message: string) {
    super(ErrorCodes.BAD_REQUEST, `zone file line ${line}: ${message}`, { line });
    this.name = 'ZoneFileError';
    this.line = line;
  }
}

interface Token {
  text: string;
  quoted: boolean;
}

const U16 = 65_535;
const TTL_MAX = 2_147_483_647;
const DOMAIN = /^(?:@|\*|[A-Za-z0-9_*](?:[A-Za-z0-9_.*-]{0,252})?\.?|\.)$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/**
 * An owner name: what DOMAIN allows, and `+`, which BNS subdomain labels may hold (the
 * subdomain registrar's and the Python reference's label rules); a zone file naming `a+b` was
 * refused whole, with every other subdomain in it.
 */
const OWNER = /^(?:@|\*|[A-Za-z0-9_*+](?:[A-Za-z0-9_.*+-]{0,252})?\.?|\.)$/;
/** An owner name starting with `$` (any `$word` but a directive: see the header): `$`, then the characters OWNER allows. */
const DOLLAR_OWNER = /^\$[A-Za-z0-9_.*+-]{0,253}$/;
const CLASSES = new Set(['IN', 'CH', 'HS']);
/** The directives: a line whose first field is one of these, `$` in its first column, sets the zone's origin or TTL. */
const DIRECTIVES = new Set(['$ORIGIN', '$TTL']);
/** Field separators: JavaScript's `\s` (the line break aside, which ends the line), as the zone-file package splits fields. */
const SEPARATOR = /\s/;

function isSeparator(c: string | undefined): boolean {
  return c !== undefined && SEPARATOR.test(c);
}

/** Splits one line into tokens at separators (see SEPARATOR); `;` outside quotes ends it. */
function tokenize(line: string, lineNo: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (isSeparator(c)) {
      i++;
    } else if (c === ';') {
      break;
    } else if (c === '(' || c === ')') {
      throw new ZoneFileError(lineNo, 'parenthesised (multi-line) records are not supported');
    } else if (c === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new ZoneFileError(lineNo, 'unterminated quoted string');
        const d = line[i] as string;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const [value, used] = escape(line, i, lineNo);
          text += value;
          i += used;
        } else {
          text += d;
          i++;
        }
      }
      tokens.push({ text, quoted: true });
    } else {
      let text = '';
      while (i < line.length && !isSeparator(line[i]) && !';"()'.includes(line[i] as string)) {
        if (line[i] === '\\') {
          const [value, used] = escape(line, i, lineNo);
          text += value;
          i += used;
        } else text += line[i++];
      }
      tokens.push({ text, quoted: false });
    }
  }
  return tokens;
}

/** `\X` is X; `\DDD` is the character with that decimal code (<= 255). */
function escape(line: string, at: number, lineNo: number): [string, number] {
  const digits = /^\d{3}/.exec(line.slice(at + 1, at + 4));
  if (digits) {
    const code = Number(digits[0]);
    if (code > 255) throw new ZoneFileError(lineNo, `escape \\${digits[0]} is above 255`);
    return [String.fromCharCode(code), 4];
  }
  if (at + 1 >= line.length) throw new ZoneFileError(lineNo, 'a backslash ends the line');
  return [line[at + 1] as string, 2];
}

function int(token: Token | undefined, max: number, what: string, lineNo: number): number {
  if (token === undefined || token.quoted || !/^\d{1,10}$/.test(token.text) || Number(token.text) > max) throw new ZoneFileError(lineNo, `${what} must be an integer in [0, ${max}]`);
  return Number(token.text);
}

function ownerName(token: Token, lineNo: number): string {
  if (token.quoted || !(OWNER.test(token.text) || DOLLAR_OWNER.test(token.text))) throw new ZoneFileError(lineNo, 'the owner name is not a domain name');
  return token.text;
}

function domain(token: Token | undefined, what: string, lineNo: number): string {
  if (token === undefined || token.quoted || !DOMAIN.test(token.text)) throw new ZoneFileError(lineNo, `${what} is not a domain name`);
  return token.text;
}

function exactly(tokens: Token[], count: number, type: string, lineNo: number): void {
  if (tokens.length !== count) throw new ZoneFileError(lineNo, `${type} takes ${count} fields, got ${tokens.length}`);
}

function isIpv6(text: string): boolean {
  if (text.length > 45) return false;
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!IPV4.test(tail)) return false;
    hex = `${text.slice(0, lastColon + 1)}0:0`; // an embedded IPv4 address fills two groups
  }
  const halves = hex.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const all = [...groups(halves[0] as string), ...(halves.length === 2 ? groups(halves[1] as string) : [])];
  if (!all.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  return halves.length === 2 ? all.length < 8 : all.length === 8;
}

function rdata(type: string, rest: Token[], lineNo: number): RecordData {
  switch (type) {
    case 'URI': {
      exactly(rest, 3, 'URI', lineNo);
      const target = (rest[2] as Token).text;
      if (target.length === 0) throw new ZoneFileError(lineNo, 'URI target is empty');
      return { type, priority: int(rest[0], U16, 'URI priority', lineNo), weight: int(rest[1], U16, 'URI weight', lineNo), target };
    }
    case 'TXT':
      if (rest.length === 0) throw new ZoneFileError(lineNo, 'TXT needs at least one string');
      return { type, strings: rest.map((t) => t.text) };
    case 'A':
      exactly(rest, 1, 'A', lineNo);
      if (!IPV4.test((rest[0] as Token).text)) throw new ZoneFileError(lineNo, 'A needs an IPv4 address');
      return { type, address: (rest[0] as Token).text };
    case 'AAAA':
      exactly(rest, 1, 'AAAA', lineNo);
      if (!isIpv6((rest[0] as Token).text)) throw new ZoneFileError(lineNo, 'AAAA needs an IPv6 address');
      return { type, address: (rest[0] as Token).text };
    case 'CNAME':
    case 'NS':
      exactly(rest, 1, type, lineNo);
      return { type, host: domain(rest[0], `${type} target`, lineNo) };
    case 'MX':
      exactly(rest, 2, 'MX', lineNo);
      return { type, preference: int(rest[0], U16, 'MX preference', lineNo), host: domain(rest[1], 'MX host', lineNo) };
    case 'SRV':
      exactly(rest, 4, 'SRV', lineNo);
      return { type, priority: int(rest[0], U16, 'SRV priority', lineNo), weight: int(rest[1], U16, 'SRV weight', lineNo), port: int(rest[2], U16, 'SRV port', lineNo), target: domain(rest[3], 'SRV target', lineNo) };
    default:
      throw new ZoneFileError(lineNo, `record type ${JSON.stringify(type.slice(0, 20))} is not supported`);
  }
}

const TYPES = new Set(['URI', 'TXT', 'A', 'AAAA', 'CNAME', 'NS', 'MX', 'SRV']);

/** Parses zone file text (or UTF-8 bytes). Throws ZoneFileError (code BAD_REQUEST). */
export function parseZoneFile(input: string | Uint8Array, limits: Partial<ZoneFileLimits> = {}): ZoneFile {
  const { maxBytes, maxRecords } = { ...DEFAULT_ZONEFILE_LIMITS, ...limits };
  let text: string;
  // A leading byte order mark is dropped from text as TextDecoder drops it from bytes: the same file parses alike either way.
  if (typeof input === 'string') text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  else {
    if (input.length > maxBytes) throw new ZoneFileError(0, `larger than ${maxBytes} bytes`);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new ZoneFileError(0, 'not UTF-8');
    }
  }
  if (Buffer.byteLength(text) > maxBytes) throw new ZoneFileError(0, `larger than ${maxBytes} bytes`);
  const zone: ZoneFile = { records: [] };
  let previousName: string | undefined;
  text.split('\n').forEach((line, index) => {
    const lineNo = index + 1;
    const tokens = tokenize(line, lineNo);
    if (tokens.length === 0) return;
    const first = tokens[0] as Token;
    // `$` in the first column (not `\$`, an escaped one) and a known name: a directive.
    const directive = line[0] === '$' ? first.text.toUpperCase() : '';
    if (DIRECTIVES.has(directive)) {
      exactly(tokens.slice(1), 1, directive, lineNo);
      if (directive === '$ORIGIN') zone.origin = domain(tokens[1], '$ORIGIN', lineNo);
      else zone.ttl = int(tokens[1], TTL_MAX, '$TTL', lineNo);
      return;
    }
    // A line starting with a blank (any separator) continues the previous owner name.
    let rest = tokens;
    let name: string;
    // An owner `$word` in the first column: when its line is no record, it is not a directive either.
    let notDirective: string | undefined;
    if (isSeparator(line[0])) {
      if (previousName === undefined) throw new ZoneFileError(lineNo, 'a record without an owner name');
      name = previousName;
    } else {
      name = ownerName(first, lineNo);
      rest = tokens.slice(1);
      if (line[0] === '$') notDirective = `directive ${name.slice(0, 20)} is not supported (only $ORIGIN and $TTL are), nor is its line a supported record`;
    }
    let ttl: number | undefined;
    for (let k = 0; k < 2; k++) {
      const head = rest[0];
      if (head === undefined || head.quoted) break;
      if (/^\d+$/.test(head.text) && ttl === undefined) {
        ttl = int(head, TTL_MAX, 'TTL', lineNo);
        rest = rest.slice(1);
      } else if (CLASSES.has(head.text.toUpperCase())) {
        rest = rest.slice(1);
      }
    }
    const typeToken = rest[0];
    if (typeToken === undefined || typeToken.quoted) throw new ZoneFileError(lineNo, notDirective ?? 'no record type');
    const type = typeToken.text.toUpperCase();
    if (!TYPES.has(type)) throw new ZoneFileError(lineNo, notDirective ?? `record type ${JSON.stringify(typeToken.text.slice(0, 20))} is not supported`);
    if (zone.records.length >= maxRecords) throw new ZoneFileError(lineNo, `more than ${maxRecords} records`);
    const record = { name, ...rdata(type, rest.slice(1), lineNo) } as ZoneRecord;
    if (ttl !== undefined) record.ttl = ttl;
    zone.records.push(record);
    previousName = name;
  });
  return zone;
}
