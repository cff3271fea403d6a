/**
 * MessagePack for a reply, written as pieces that leave large byte strings where they are.
 *
 * A getChunks reply is mostly chunk bytes the store already holds. Encoded into one buffer, they
 * are copied into memory the process touches for the first time: on a small virtual machine a
 * page fault costs 8-15 µs, so a 1 MiB reply cost 1.8-3 ms to encode against 0.1 ms into memory
 * already mapped, and a peer asking for 4 MiB replies in a loop held the event loop for tens of
 * milliseconds a reply. Here every byte string of at least SHARED_PIECE_BYTES is a piece of its
 * own (the caller's memory, sent as it is by one gathered write); the rest (headers, addresses,
 * small chunks) is copied into one buffer between them.
 *
 * The bytes are exactly msgpackr's for the same value (the codec's options: every object with
 * its 16-bit map header, the smallest header for each string, array and byte string), so a peer
 * cannot tell the two apart. Only a subset is written here: plain objects, arrays, strings of up
 * to 255 ASCII characters, byte strings and null, nested at most MAX_DEPTH deep; anything else is
 * undefined, left to msgpackr. The caller must not change a shared byte string until the reply
 * has been written (serving reads never do: VerifiedReader.serve).
 */
import { arrayHeaderBytes, binHeaderBytes, byteListPieces, isPlainBytes, writeArrayHeader, writeBinHeader } from './byte-list.js';

/** Byte strings of at least this many bytes are sent from their own memory, not copied. */
export const SHARED_PIECE_BYTES = 16 * 1024;

const MAX_DEPTH = 4;
const MAX_STRING = 255;

/**
 * The encoding of `value` as pieces to send end to end, or undefined when the value is not of
 * the subset written here (see the module comment).
 */
export function encodePieces(value: unknown): Uint8Array[] | undefined {
  // A getChunks reply in order, a node's busiest reply, has a writer of its own (byte-list.ts).
  const byteList = byteListPieces(value, SHARED_PIECE_BYTES);
  if (byteList !== undefined) return byteList;
  const copied = copiedSize(value, 0);
  if (copied < 0) return undefined;
  const writer = new PieceWriter(copied);
  write(writer, value, 0);
  // Read twice (a getter, a Proxy), the value could have changed between the passes: never send
  // bytes the second pass did not write.
  return writer.finish();
}

/** The bytes of `value` that are copied (all but its shared byte strings), or -1 outside the subset. */
function copiedSize(value: unknown, depth: number): number {
  if (value === null) return 1;
  if (typeof value === 'string') return isShortAscii(value) ? (value.length < 32 ? 1 : 2) + value.length : -1;
  if (isPlainBytes(value)) return binHeaderBytes(value.length) + (value.length >= SHARED_PIECE_BYTES ? 0 : value.length);
  if (depth >= MAX_DEPTH) return -1;
  if (isPlainArray(value)) {
    // Read once, so that the header measured counts the items measured.
    const count = value.length;
    let size = arrayHeaderBytes(count);
    for (let i = 0; i < count; i++) {
      const item = copiedSize(value[i], depth + 1);
      if (item < 0) return -1;
      size += item;
    }
    return size;
  }
  if (isPlainRecord(value)) {
    const keys = Object.keys(value);
    if (keys.length >= 0x10000) return -1;
    let size = 3;
    for (const key of keys) {
      const keySize = copiedSize(key, depth + 1);
      const entry = copiedSize(value[key], depth + 1);
      if (keySize < 0 || entry < 0) return -1;
      size += keySize + entry;
    }
    return size;
  }
  return -1;
}

function write(writer: PieceWriter, value: unknown, depth: number): void {
  if (value === null) writer.byte(0xc0);
  else if (typeof value === 'string') writer.string(value);
  else if (isPlainBytes(value)) writer.bytes(value);
  else if (depth >= MAX_DEPTH) writer.refuse();
  else if (isPlainArray(value)) {
    // Read once, so that the header written counts the items written.
    const count = value.length;
    writer.arrayHeader(count);
    for (let i = 0; i < count; i++) write(writer, value[i], depth + 1);
  } else if (isPlainRecord(value)) {
    const keys = Object.keys(value);
    // A map grown past a 16-bit count since the first pass: refused, as that pass would have.
    if (keys.length >= 0x10000) return writer.refuse();
    writer.byte(0xde);
    writer.uint16(keys.length);
    for (const key of keys) {
      writer.string(key);
      write(writer, value[key], depth + 1);
    }
  } else {
    // Changed between the passes (a getter, a Proxy) into what the first pass refuses: refuse.
    writer.refuse();
  }
}

function isPlainArray(value: unknown): value is unknown[] {
  return Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype;
}

/** An object msgpackr writes as a map of its own keys (others, a Date or a Map, have encodings of their own). */
function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function isShortAscii(text: string): boolean {
  if (text.length > MAX_STRING) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Writes the copied bytes into one buffer, cut where a shared byte string goes between them. */
class PieceWriter {
  readonly #out: Buffer;
  #at = 0;
  #cut = 0;
  readonly #pieces: Uint8Array[] = [];
  #fits = true;

  constructor(size: number) {
    this.#out = Buffer.allocUnsafe(size);
  }

  /** What was written is not to be sent. */
  refuse(): void {
    this.#fits = false;
  }

  #room(bytes: number): boolean {
    if (this.#at + bytes > this.#out.length) this.#fits = false;
    return this.#fits;
  }

  byte(value: number): void {
    if (this.#room(1)) this.#out[this.#at++] = value;
  }

  uint16(value: number): void {
    if (this.#room(2)) this.#at = this.#out.writeUInt16BE(value, this.#at);
  }

  arrayHeader(count: number): void {
    if (this.#room(arrayHeaderBytes(count))) this.#at = writeArrayHeader(this.#out, this.#at, count);
  }

  string(text: string): void {
    if (!isShortAscii(text)) this.#fits = false;
    else if (text.length < 32) this.byte(0xa0 | text.length);
    else {
      this.byte(0xd9);
      this.byte(text.length);
    }
    if (this.#room(text.length)) this.#at += this.#out.write(text, this.#at, 'latin1');
  }

  bytes(data: Uint8Array): void {
    if (this.#room(binHeaderBytes(data.length))) this.#at = writeBinHeader(this.#out, this.#at, data.length);
    if (data.length >= SHARED_PIECE_BYTES) {
      if (this.#at > this.#cut) this.#pieces.push(this.#out.subarray(this.#cut, this.#at));
      this.#pieces.push(data);
      this.#cut = this.#at;
    } else if (this.#room(data.length)) {
      this.#out.set(data, this.#at);
      this.#at += data.length;
    }
  }

  /** The pieces, or undefined when what was written is not what was measured. */
  finish(): Uint8Array[] | undefined {
    if (!this.#fits || this.#at !== this.#out.length) return undefined;
    if (this.#at > this.#cut) this.#pieces.push(this.#out.subarray(this.#cut, this.#at));
    return this.#pieces;
  }
}
