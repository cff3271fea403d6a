/**
 * Bounded reading of an HTTP request or reply body, for every HTTP listener we run (the peer
 * transport and the Stacks event observer): TOO_LARGE past the bound without reading further,
 * ABORTED when the sender leaves mid-body, and every listener removed on every path.
 */
import type { IncomingMessage } from 'node:http';
import { AtlasError, ErrorCodes } from './errors.js';

export interface ReadBodyOptions {
  /** Stops reading and rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
  /** Told the size of every piece as it arrives (deadline checks). */
  onProgress?: (bytes: number) => void;
  /**
   * Past its first FREE_BODY_PIECES pieces, a body must average this many bytes a piece at
   * least, or it is refused (BAD_REQUEST) and no longer read (default
   * DEFAULT_MIN_BODY_PIECE_BYTES; 0: no bound).
   */
  minPieceBytes?: number;
}

/** Pieces a body may come in whatever their size (see ReadBodyOptions.minPieceBytes). */
export const FREE_BODY_PIECES = 64;

/**
 * The default of ReadBodyOptions.minPieceBytes. Every piece costs node:http's parser and streams
 * a few microseconds whatever its size: 1 MiB in 1-byte chunks took 1.8-2 s of CPU to read,
 * against 10-36 ms in one piece. A network delivers segments of hundreds of bytes at least, and
 * our own senders write each body whole.
 */
export const DEFAULT_MIN_BODY_PIECE_BYTES = 64;

/** A body as it arrived: its pieces in order, each in memory nothing else holds, and their bytes in all. */
export interface BodyParts {
  parts: Buffer[];
  total: number;
}

/**
 * A piece at least this large (or the first), in memory of its own, is kept as it came; a smaller
 * one, or one sharing its memory with anything else, is copied into memory of ours (PieceCollector). A sender
 * that split its body into tiny pieces (chunked encoding of 1-byte chunks) otherwise made us hold
 * about 200 bytes of bookkeeping per body byte: gigabytes for one 8 MiB reply.
 */
export const SMALL_PIECE_BYTES = 16 * 1024;
/** The first block small pieces are copied into; each next one twice the size, up to MAX_COPY_BLOCK_BYTES. */
const FIRST_COPY_BLOCK_BYTES = 4 * 1024;
const MAX_COPY_BLOCK_BYTES = 64 * 1024;

/** Collects a body's pieces in order (see SMALL_PIECE_BYTES). */
class PieceCollector {
  readonly #parts: Buffer[] = [];
  #block: Buffer | undefined;
  #filled = 0;
  #nextBlockBytes = FIRST_COPY_BLOCK_BYTES;

  /** The declared length of a body to be joined that fits one block (see the constructor). */
  #whole: number | undefined;

  /**
   * `whole`: the body's declared length, when it is to be joined: a body of up to one block that
   * does not come in one piece is then copied straight into one buffer of that length, each byte
   * once, instead of into blocks that are joined afterwards (most bytes twice).
   */
  constructor(whole?: number) {
    if (whole !== undefined && whole > 0 && whole <= MAX_COPY_BLOCK_BYTES) this.#whole = whole;
  }

  add(part: Buffer): void {
    const ownsItsMemory = part.byteOffset === 0 && part.buffer.byteLength === part.length;
    const whole = this.#whole;
    if (whole !== undefined) {
      // A body that comes in one piece is kept as it is.
      if (this.#block === undefined && part.length === whole && ownsItsMemory) {
        this.#parts.push(part);
        return;
      }
      if (this.#filled + part.length <= whole) {
        this.#block ??= Buffer.allocUnsafeSlow(whole);
        this.#block.set(part, this.#filled);
        this.#filled += part.length;
        return;
      }
      // More than declared (not from Node's parser, which holds a body to its length): collected
      // as any other body from here on.
      this.#whole = undefined;
    }
    // The first piece is kept whatever its size: a body that comes whole (most requests, small replies) is not copied.
    const first = this.#parts.length === 0 && this.#block === undefined;
    if (ownsItsMemory && (part.length >= SMALL_PIECE_BYTES || first)) {
      this.#closeBlock();
      this.#parts.push(part);
      return;
    }
    if (this.#block === undefined || this.#filled + part.length > this.#block.length) {
      this.#closeBlock();
      this.#block = Buffer.allocUnsafeSlow(Math.max(this.#nextBlockBytes, part.length));
      this.#nextBlockBytes = Math.min(2 * this.#nextBlockBytes, MAX_COPY_BLOCK_BYTES);
    }
    this.#block.set(part, this.#filled);
    this.#filled += part.length;
  }

  /** Every piece, in order. */
  parts(): Buffer[] {
    this.#closeBlock();
    return this.#parts;
  }

  #closeBlock(): void {
    if (this.#block !== undefined && this.#filled > 0) this.#parts.push(this.#block.subarray(0, this.#filled));
    this.#block = undefined;
    this.#filled = 0;
  }
}

/** Reads a whole stream, rejecting with TOO_LARGE (and no longer reading) past `maxBytes`. */
export async function readBody(stream: IncomingMessage, maxBytes: number, options: ReadBodyOptions = {}): Promise<Uint8Array> {
  return joinedBody(await collectBody(stream, maxBytes, options, true));
}

/** The pieces of `body` in one run of bytes (the only piece itself, without a copy). */
export function joinedBody({ parts, total }: BodyParts): Uint8Array {
  const whole = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, total);
  return new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength);
}

/**
 * readBody(), without joining the pieces the body arrived in: a reader that can take it piece by
 * piece (byte-list.ts) is spared a copy of the whole body into new memory. Small pieces are copied
 * together (SMALL_PIECE_BYTES), so there are at most about total / 16 KiB of them, and every piece
 * is memory nothing else holds or writes: views of it can be handed over (Transport.handsOverReplies).
 */
export function readBodyParts(stream: IncomingMessage, maxBytes: number, options: ReadBodyOptions = {}): Promise<BodyParts> {
  return collectBody(stream, maxBytes, options, false);
}

/** readBodyParts(); with `toJoin`, a body of a declared length within one block is collected whole (PieceCollector). */
function collectBody(stream: IncomingMessage, maxBytes: number, options: ReadBodyOptions, toJoin: boolean): Promise<BodyParts> {
  return new Promise((resolve, reject) => {
    const { signal, onProgress } = options;
    const minPieceBytes = options.minPieceBytes ?? DEFAULT_MIN_BODY_PIECE_BYTES;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const declared = Number(stream.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(tooLarge(maxBytes));
      return;
    }
    const pieces = new PieceCollector(toJoin && Number.isFinite(declared) ? declared : undefined);
    let total = 0;
    let count = 0;
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      stream.pause();
      reject(signal?.reason);
    };
    const onData = (part: Buffer) => {
      total += part.byteLength;
      onProgress?.(part.byteLength);
      if (total > maxBytes) {
        cleanup();
        stream.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      if (++count > FREE_BODY_PIECES && total < count * minPieceBytes) {
        cleanup();
        stream.pause();
        reject(tooFragmented(count, total, minPieceBytes));
        return;
      }
      pieces.add(part);
    };
    const onEnd = () => {
      cleanup();
      resolve({ parts: pieces.parts(), total });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new AtlasError(ErrorCodes.ABORTED, 'connection closed before the body was complete', undefined, { cause: error }));
    };
    const onClose = () => {
      if (stream.complete) return;
      cleanup();
      reject(new AtlasError(ErrorCodes.ABORTED, 'connection closed before the body was complete'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** BAD_REQUEST for a body of too many pieces for its bytes (ReadBodyOptions.minPieceBytes). */
function tooFragmented(pieces: number, bytes: number, minPieceBytes: number): AtlasError {
  return new AtlasError(ErrorCodes.BAD_REQUEST, `body sent in ${pieces} pieces of ${bytes} bytes in all: fewer than ${minPieceBytes} bytes a piece`, { limit: minPieceBytes });
}

/** TOO_LARGE naming the bound. */
export function tooLarge(maxBytes: number): AtlasError {
  return new AtlasError(ErrorCodes.TOO_LARGE, `body larger than ${maxBytes} bytes`, { limit: maxBytes });
}
