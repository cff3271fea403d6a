/**
 * A small, strict decoder (and encoder) of Clarity values in their consensus serialization, the
 * `raw_value` a Stacks node puts in contract events. Only what BNS prints need is accepted; every
 * length is bounded and every byte must be consumed, so a hostile payload costs bounded CPU and
 * memory and fails with BAD_REQUEST.
 */
import { AtlasError, ErrorCodes } from '../../errors.js';
import { overlayChecked, POSITIVE_INTEGER } from '../../options-overlay.js';

/** One strict decoder, reused (it keeps no state between whole-buffer decodes). */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A Clarity value as `decodeClarity` returns it and `encodeClarity` takes it: ints, buffers, booleans, principals, responses, optionals, lists, tuples and strings. */
export type ClarityValue =
  | { type: 'int'; value: bigint }
  | { type: 'uint'; value: bigint }
  | { type: 'buff'; value: Uint8Array }
  | { type: 'bool'; value: boolean }
  | { type: 'principal'; version: number; hash160: Uint8Array; contractName?: string }
  | { type: 'ok' | 'err' | 'some'; value: ClarityValue }
  | { type: 'none' }
  | { type: 'list'; items: ClarityValue[] }
  | { type: 'tuple'; entries: Map<string, ClarityValue> }
  | { type: 'string-ascii' | 'string-utf8'; value: string };

/** Bounds of `decodeClarity`, so a hostile payload costs bounded CPU and memory. */
export interface ClarityLimits {
  /** Deepest nesting of lists, tuples, optionals and responses (default 16). */
  maxDepth: number;
  /** Longest buffer or string, in bytes (default 65,536). */
  maxBytes: number;
  /** Most list items or tuple entries in one value (default 1,024). */
  maxItems: number;
}

/** Defaults of ClarityLimits, used for every limit not given to `decodeClarity`. */
export const DEFAULT_CLARITY_LIMITS: Readonly<ClarityLimits> = Object.freeze({ maxDepth: 16, maxBytes: 65_536, maxItems: 1_024 });

const TYPE = {
  int: 0x00,
  uint: 0x01,
  buff: 0x02,
  true: 0x03,
  false: 0x04,
  standard: 0x05,
  contract: 0x06,
  ok: 0x07,
  err: 0x08,
  none: 0x09,
  some: 0x0a,
  list: 0x0b,
  tuple: 0x0c,
  ascii: 0x0d,
  utf8: 0x0e,
} as const;

/** Highest principal version: one c32 character (5 bits) of an address. */
const MAX_PRINCIPAL_VERSION = 31;

const CLARITY_NAME = /^[a-zA-Z]([a-zA-Z0-9]|[-_!?+<>=/*])*$/;

/** Printable ASCII, tab, line feed and carriage return: what Clarity's string-ascii admits. */
function isAsciiText(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function bad(message: string, offset: number): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, `clarity value: ${message} at byte ${offset}`, { offset });
}

/** Decodes one whole value from bytes, or "0x"-prefixed hex. Throws BAD_REQUEST; INVALID_OPTION (`limits.<name>`) for a limit that is not a positive integer. */
export function decodeClarity(input: Uint8Array | string, limits?: Partial<ClarityLimits>): ClarityValue {
  const bytes = typeof input === 'string' ? hexToBytes(input) : input;
  const reader = new Reader(bytes, overlayChecked('limits', DEFAULT_CLARITY_LIMITS, limits, POSITIVE_INTEGER));
  const value = reader.value(0);
  if (reader.offset !== bytes.length) throw bad(`${bytes.length - reader.offset} trailing bytes`, reader.offset);
  return value;
}

/** "0x"-prefixed (or bare) even-length hex to bytes; BAD_REQUEST otherwise. */
export function hexToBytes(hex: string): Uint8Array {
  const body = hex.startsWith('0x') ? hex.slice(2) : hex;
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) throw new AtlasError(ErrorCodes.BAD_REQUEST, 'not an even-length hex string');
  return new Uint8Array(Buffer.from(body, 'hex'));
}

class Reader {
  offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: ClarityLimits,
  ) {}

  value(depth: number): ClarityValue {
    if (depth > this.limits.maxDepth) throw bad(`nested deeper than ${this.limits.maxDepth}`, this.offset);
    const at = this.offset;
    const type = this.u8();
    switch (type) {
      case TYPE.int:
        return { type: 'int', value: BigInt.asIntN(128, this.u128()) };
      case TYPE.uint:
        return { type: 'uint', value: this.u128() };
      case TYPE.buff:
        return { type: 'buff', value: this.take(this.length()) };
      case TYPE.true:
        return { type: 'bool', value: true };
      case TYPE.false:
        return { type: 'bool', value: false };
      case TYPE.standard:
        return { type: 'principal', version: this.principalVersion(), hash160: this.take(20) };
      case TYPE.contract: {
        const version = this.principalVersion();
        const hash160 = this.take(20);
        return { type: 'principal', version, hash160, contractName: this.name() };
      }
      case TYPE.ok:
      case TYPE.err:
      case TYPE.some:
        return { type: type === TYPE.ok ? 'ok' : type === TYPE.err ? 'err' : 'some', value: this.value(depth + 1) };
      case TYPE.none:
        return { type: 'none' };
      case TYPE.list: {
        const count = this.count();
        const items: ClarityValue[] = [];
        for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
        return { type: 'list', items };
      }
      case TYPE.tuple: {
        const count = this.count();
        const entries = new Map<string, ClarityValue>();
        let previous = '';
        for (let i = 0; i < count; i++) {
          const nameAt = this.offset;
          const name = this.name();
          // Consensus serialization sorts tuple entries by name: anything else is not canonical.
          if (i > 0 && !(name > previous)) throw bad(`tuple entry "${name}" out of order or repeated`, nameAt);
          previous = name;
          entries.set(name, this.value(depth + 1));
        }
        return { type: 'tuple', entries };
      }
      case TYPE.ascii: {
        const data = this.take(this.length());
        for (const byte of data) if (!isAsciiText(byte)) throw bad('string-ascii holds a non-printable byte', at);
        return { type: 'string-ascii', value: Buffer.from(data).toString('latin1') };
      }
      case TYPE.utf8: {
        const data = this.take(this.length());
        let text: string;
        try {
          text = UTF8.decode(data);
        } catch {
          throw bad('string-utf8 is not valid UTF-8', at);
        }
        return { type: 'string-utf8', value: text };
      }
      default:
        throw bad(`unknown type prefix 0x${type.toString(16).padStart(2, '0')}`, at);
    }
  }

  private u8(): number {
    if (this.offset >= this.bytes.length) throw bad('value ends early', this.offset);
    return this.bytes[this.offset++] as number;
  }

  /** A principal's version byte: c32check addresses carry 5 bits, so a version above 31 has no address. */
  private principalVersion(): number {
    const at = this.offset;
    const version = this.u8();
    if (version > MAX_PRINCIPAL_VERSION) throw bad(`principal version ${version} is above ${MAX_PRINCIPAL_VERSION}`, at);
    return version;
  }

  private u32(): number {
    const b = this.take(4);
    return ((b[0] as number) * 2 ** 24 + ((b[1] as number) << 16) + ((b[2] as number) << 8) + (b[3] as number)) >>> 0;
  }

  private u128(): bigint {
    return BigInt(`0x${Buffer.from(this.take(16)).toString('hex')}`);
  }

  private length(): number {
    const at = this.offset;
    const n = this.u32();
    if (n > this.limits.maxBytes) throw bad(`length ${n} exceeds ${this.limits.maxBytes}`, at);
    return n;
  }

  private count(): number {
    const at = this.offset;
    const n = this.u32();
    if (n > this.limits.maxItems) throw bad(`${n} items exceed ${this.limits.maxItems}`, at);
    return n;
  }

  private name(): string {
    const at = this.offset;
    const length = this.u8();
    if (length === 0 || length > 128) throw bad(`name length ${length}`, at);
    const name = Buffer.from(this.take(length)).toString('latin1');
    if (!CLARITY_NAME.test(name)) throw bad(`invalid name ${JSON.stringify(name)}`, at);
    return name;
  }

  private take(n: number): Uint8Array {
    if (this.offset + n > this.bytes.length) throw bad(`value ends early (wanted ${n} bytes)`, this.offset);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
}

/** Serializes a value the way Clarity does (tuple entries sorted by name). */
export function encodeClarity(value: ClarityValue): Uint8Array {
  const parts: Uint8Array[] = [];
  write(value, parts);
  return new Uint8Array(Buffer.concat(parts));
}

function u32(n: number): Uint8Array {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return out;
}

function u128(n: bigint): Uint8Array {
  return Buffer.from(BigInt.asUintN(128, n).toString(16).padStart(32, '0'), 'hex');
}

function write(value: ClarityValue, parts: Uint8Array[]): void {
  switch (value.type) {
    case 'int':
    case 'uint':
      parts.push(Uint8Array.of(value.type === 'int' ? TYPE.int : TYPE.uint), u128(value.value));
      return;
    case 'buff':
      parts.push(Uint8Array.of(TYPE.buff), u32(value.value.length), value.value);
      return;
    case 'bool':
      parts.push(Uint8Array.of(value.value ? TYPE.true : TYPE.false));
      return;
    case 'principal':
      parts.push(Uint8Array.of(value.contractName === undefined ? TYPE.standard : TYPE.contract, value.version), value.hash160);
      if (value.contractName !== undefined) parts.push(Uint8Array.of(value.contractName.length), Buffer.from(value.contractName, 'latin1'));
      return;
    case 'ok':
    case 'err':
    case 'some':
      parts.push(Uint8Array.of(TYPE[value.type]));
      write(value.value, parts);
      return;
    case 'none':
      parts.push(Uint8Array.of(TYPE.none));
      return;
    case 'list':
      parts.push(Uint8Array.of(TYPE.list), u32(value.items.length));
      for (const item of value.items) write(item, parts);
      return;
    case 'tuple': {
      const names = [...value.entries.keys()].sort();
      parts.push(Uint8Array.of(TYPE.tuple), u32(names.length));
      for (const name of names) {
        parts.push(Uint8Array.of(name.length), Buffer.from(name, 'latin1'));
        write(value.entries.get(name) as ClarityValue, parts);
      }
      return;
    }
    case 'string-ascii':
    case 'string-utf8': {
      const bytes = Buffer.from(value.value, value.type === 'string-ascii' ? 'latin1' : 'utf8');
      parts.push(Uint8Array.of(value.type === 'string-ascii' ? TYPE.ascii : TYPE.utf8), u32(bytes.length), bytes);
      return;
    }
  }
}

/** Builds a tuple from a plain record (a convenience for encodeClarity). */
export function tuple(entries: Record<string, ClarityValue>): ClarityValue {
  return { type: 'tuple', entries: new Map(Object.entries(entries)) };
}
