/**
 * MessagePack for one shape of message, written in one pass and read from the pieces it arrived
 * in: a map of one field holding a list of byte strings and nulls. That is a getChunks reply in
 * order ({ inOrder: [chunk | null, ...] }), hundreds of chunks a reply on a node's busiest path,
 * where msgpackr's general encoder, which looks at every value's type, cost 165-251 ns a chunk
 * against 45-87 here (500 × 170 B).
 *
 * The bytes written are exactly msgpackr's for the same value (its 16-bit map header, then the
 * smallest string, array and bin headers), so a peer cannot tell the two apart; anything of
 * another shape is left to msgpackr. Reading, each byte string is a view of the piece of the body
 * that holds it (a copy only when it straddles two pieces), so a reply is never joined into new
 * memory: that copy, into memory touched for the first time, was the largest single cost of a
 * transport's client side (a page fault costs 13-15 µs on a small virtual machine). The pieces
 * are memory nothing else holds (readBodyParts), so views of them can be handed over. Anything the
 * reader does not take exactly (another shape, trailing bytes, a cut) is left to the general
 * decoder, which then accepts or refuses it as it always did.
 */

/** The encoding of `value` when it has the shape above, else undefined. */
export function encodeByteList(value: unknown): Uint8Array | undefined {
  return byteListPieces(value, Infinity)?.[0];
}

/**
 * encodeByteList(), as pieces to send end to end: each item of at least `shareFrom` bytes is a
 * piece of its own (its own memory, not copied), the rest is written into one buffer between them
 * (reply-pieces.ts says why). With `shareFrom` Infinity, one piece.
 */
export function byteListPieces(value: unknown, shareFrom: number): Uint8Array[] | undefined {
  // Plain objects only: msgpackr gives others (a Date, a Map, a class with toJSON) encodings of their own.
  if (value === null || typeof value !== 'object') return undefined;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0] as string;
  // A key of up to 31 characters, each one byte (fixstr): the shape this is for, nothing more.
  if (key.length > 31 || !/^[\x20-\x7e]*$/.test(key)) return undefined;
  const list = (value as Record<string, unknown>)[key];
  if (!Array.isArray(list) || Object.getPrototypeOf(list) !== Array.prototype) return undefined;
  // Each pass reads the length once, so that the header it writes counts the items it writes.
  const count = list.length;
  const items = itemsSize(list, count, shareFrom);
  if (items < 0) return undefined;
  const size = 3 + 1 + key.length + arrayHeaderBytes(count) + items;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  // A map of one entry, with the 16-bit count msgpackr gives every object.
  out[at++] = 0xde;
  out[at++] = 0;
  out[at++] = 1;
  out[at++] = 0xa0 | key.length; // fixstr
  at += out.write(key, at, 'latin1');
  if (list.length !== count) return undefined;
  at = writeArrayHeader(out, at, count);
  const pieces: Uint8Array[] = [];
  return writeItems(list, count, shareFrom, out, at, pieces) ? pieces : undefined;
}

// The two passes over the items are functions of their own, one loop each, so that V8 compiles
// each small loop, not the whole encoder once more for each loop that runs long before it is
// optimised (43 ms of a serving node's compiler time in a 20,000-chunk catch-up, traced).

/** The bytes the items take in the encoding (a shared one, its header only); -1 when one is neither null nor plain bytes. */
function itemsSize(list: readonly unknown[], count: number, shareFrom: number): number {
  let size = 0;
  for (let i = 0; i < count; i++) {
    const item: unknown = list[i];
    if (item === null) size += 1;
    else if (isPlainBytes(item)) size += binHeaderBytes(item.length) + (item.length >= shareFrom ? 0 : item.length);
    else return -1;
  }
  return size;
}

/**
 * Writes the items into `out` from `at` to its end, and the pieces to send into `pieces`; false
 * when they do not fill `out` exactly. The list read twice (a getter, a Proxy) could have changed
 * between the passes: never send bytes this pass did not write, nor an item the first would have refused.
 */
function writeItems(list: readonly unknown[], count: number, shareFrom: number, out: Buffer, at: number, pieces: Uint8Array[]): boolean {
  const size = out.length;
  let cut = 0;
  for (let i = 0; i < count; i++) {
    const item: unknown = list[i];
    if (item === null) {
      if (at >= size) return false;
      out[at++] = 0xc0;
      continue;
    }
    if (!isPlainBytes(item)) return false;
    const length = item.length;
    const shared = length >= shareFrom;
    if (at + binHeaderBytes(length) + (shared ? 0 : length) > size) return false;
    at = writeBinHeader(out, at, length);
    if (shared) {
      pieces.push(out.subarray(cut, at), item);
      cut = at;
    } else {
      out.set(item, at);
      at += length;
    }
  }
  if (at !== size) return false;
  if (at > cut || pieces.length === 0) pieces.push(out.subarray(cut, at));
  return true;
}

/** A Uint8Array or Buffer: what msgpackr writes as a byte string (other views it writes its own way). */
export function isPlainBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && (value.constructor === Uint8Array || Buffer.isBuffer(value));
}

/** The bytes of a list's MessagePack header (fixarray, array 16 or 32). */
export function arrayHeaderBytes(length: number): number {
  return length < 16 ? 1 : length < 0x10000 ? 3 : 5;
}

/** Writes a list's header at `at`; answers where it ends. */
export function writeArrayHeader(out: Buffer, at: number, length: number): number {
  if (length >= 16) return writeLongHeader(out, at, length, 0xdc, 0xdd);
  out[at] = 0x90 | length;
  return at + 1;
}

/** The bytes of a byte string's MessagePack header (bin 8, 16 or 32). */
export function binHeaderBytes(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
}

/** Writes a byte string's header at `at`; answers where it ends. */
export function writeBinHeader(out: Buffer, at: number, length: number): number {
  if (length >= 0x100) return writeLongHeader(out, at, length, 0xc5, 0xc6);
  out[at] = 0xc4;
  out[at + 1] = length;
  return at + 2;
}

/** A header with a 16-bit length (`code16`) or, past 65,535, a 32-bit one (`code32`). */
function writeLongHeader(out: Buffer, at: number, length: number, code16: number, code32: number): number {
  if (length < 0x10000) {
    out[at] = code16;
    out.writeUInt16BE(length, at + 1);
    return at + 3;
  }
  out[at] = code32;
  out.writeUInt32BE(length, at + 1);
  return at + 5;
}

/**
 * The message of the shape above held by `pieces` (in order, end to end), decoded as the general
 * decoder would (a plain object of one field, its list of plain Uint8Array and null), or
 * undefined when the bytes are anything else, or a list of more than `maxItems`.
 */
export function decodeByteList(pieces: readonly Uint8Array[], maxItems = Infinity): Record<string, (Uint8Array | null)[]> | undefined {
  const reader = new PieceReader(pieces);
  const map = reader.byte();
  if (map === 0xde) {
    if (reader.uint(2) !== 1) return undefined;
  } else if (map !== 0x81) return undefined;
  const keyHeader = reader.byte();
  if (keyHeader === undefined || (keyHeader & 0xe0) !== 0xa0) return undefined; // a fixstr key
  const keyBytes = reader.bytes(keyHeader & 0x1f);
  if (keyBytes === undefined) return undefined;
  let key = '';
  for (const byte of keyBytes) {
    if (byte < 0x20 || byte > 0x7e) return undefined;
    key += String.fromCharCode(byte);
  }
  if (key === '__proto__') return undefined;
  const count = listLength(reader);
  // Every entry takes a byte at least: a count past the bytes left, or past `maxItems`, is the general decoder's to refuse.
  if (count === undefined || count > reader.left || count > maxItems) return undefined;
  const list = readItems(reader, count);
  if (list === undefined || reader.left !== 0) return undefined;
  return { [key]: list };
}

/** `count` byte strings or nulls (a loop of its own, as the encoder's passes); undefined at anything else. */
function readItems(reader: PieceReader, count: number): (Uint8Array | null)[] | undefined {
  const list: (Uint8Array | null)[] = [];
  for (let i = 0; i < count; i++) {
    const header = reader.byte();
    if (header === 0xc0) {
      list.push(null);
      continue;
    }
    const length = header === 0xc4 ? reader.uint(1) : header === 0xc5 ? reader.uint(2) : header === 0xc6 ? reader.uint(4) : undefined;
    if (length === undefined) return undefined;
    const bytes = reader.bytes(length);
    if (bytes === undefined) return undefined;
    list.push(bytes);
  }
  return list;
}

function listLength(reader: PieceReader): number | undefined {
  const header = reader.byte();
  if (header === undefined) return undefined;
  if ((header & 0xf0) === 0x90) return header & 0x0f;
  return header === 0xdc ? reader.uint(2) : header === 0xdd ? reader.uint(4) : undefined;
}

/** Reads bytes in order across pieces, without joining them. */
class PieceReader {
  readonly #pieces: readonly Uint8Array[];
  #piece = 0;
  #at = 0;
  /** Bytes not read yet. */
  left: number;

  constructor(pieces: readonly Uint8Array[]) {
    this.#pieces = pieces;
    let total = 0;
    for (const piece of pieces) total += piece.length;
    this.left = total;
  }

  /**
   * The piece that holds the next byte, once the pieces read to their end are passed (a byte must
   * be left). One method for byte() and bytes(): a reply's pieces mostly end inside a chunk or
   * between a header's bytes, rarely right before a chunk's bytes, and bytes() inlining this loop
   * would then run it with no type feedback of its own and have its optimised code thrown away.
   */
  #current(): Uint8Array {
    let piece = this.#pieces[this.#piece] as Uint8Array;
    while (this.#at >= piece.length) {
      piece = this.#pieces[++this.#piece] as Uint8Array;
      this.#at = 0;
    }
    return piece;
  }

  /** The next byte, or undefined past the end. */
  byte(): number | undefined {
    if (this.left === 0) return undefined;
    const piece = this.#current();
    this.left--;
    return piece[this.#at++] as number;
  }

  /** The next `size` bytes as a big-endian unsigned number (size 1, 2 or 4), or undefined past the end. */
  uint(size: number): number | undefined {
    if (size > this.left) return undefined;
    let value = 0;
    for (let i = 0; i < size; i++) value = value * 256 + (this.byte() as number);
    return value;
  }

  /** The next `size` bytes: a view of the piece that holds them, or a copy when they span pieces; undefined past the end. */
  bytes(size: number): Uint8Array | undefined {
    if (size > this.left) return undefined;
    if (size === 0) return new Uint8Array(0);
    let piece = this.#current();
    this.left -= size;
    if (this.#at + size <= piece.length) {
      const view = new Uint8Array(piece.buffer, piece.byteOffset + this.#at, size);
      this.#at += size;
      return view;
    }
    const copy = new Uint8Array(size);
    for (let filled = 0; filled < size; ) {
      if (this.#at >= piece.length) {
        piece = this.#pieces[++this.#piece] as Uint8Array;
        this.#at = 0;
      }
      const take = Math.min(size - filled, piece.length - this.#at);
      copy.set(piece.subarray(this.#at, this.#at + take), filled);
      filled += take;
      this.#at += take;
    }
    return copy;
  }
}
