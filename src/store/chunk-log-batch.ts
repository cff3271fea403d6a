/**
 * A batch of chunks turned into chunk-log records (chunk-log.ts's write), in plain functions of
 * one loop each, outside the async write.
 *
 * Why: V8 compiles a function whole, and a loop that runs long before its function is optimised
 * is compiled again with an entry in that loop (on-stack replacement), once for each such loop.
 * The write's loops used to sit in the async function itself, with the index's keyed hash
 * inlined in them: V8 compiled that function three times in a 20,000-chunk catch-up, 60 ms of
 * compiler time. Here each loop is a small function compiled on its own, and the async write,
 * with no loop left, is cheap to compile.
 */
import { ADDRESS_BYTES, addressBytesAre, copyAddressBytes } from '../address.js';
import type { ChunkWrites } from './backend.js';
import type { ChunkLogIndex } from './chunk-log-index.js';
import { RECORD_ADDRESS_AT, RECORD_HEADER } from './chunk-log-format.js';

/** What one write appends: the records and where each chunk's record starts in them. */
export interface RecordBatch {
  /** Per chunk: its placement in the index (a keyed hash, up to 2^40: not a 32-bit integer), in the log's WriteSpace. */
  placements: Float64Array;
  /** Per chunk: whether this write adds it (false: stored before, or repeated in the batch). */
  added: boolean[];
  /** Per chunk added: where its record starts in `records`, in the log's WriteSpace. */
  offsets: Float64Array;
  /** The records, end to end, in the log's WriteSpace: valid until its next write (undefined when nothing is added). */
  records: Buffer | undefined;
  /** Chunks added. */
  adding: number;
}

/**
 * The memory one write is built in (its records, and the per-chunk placements, record offsets
 * and repeat table), kept from write to write up to MAX_KEPT_BYTES of records and
 * MAX_KEPT_CHUNKS chunks.
 *
 * Why: memory of its own for every write (about 100 KB of records for a reply of 500 small
 * chunks, and more than 128 KB of each table once replies are joined into one write, which the
 * C library then maps afresh each time) cost more than building the write in it: fresh memory is
 * faulted in page by page (8-15 µs a page on a small virtual machine), and each such allocation
 * counts as V8 external memory, which brings collections forward. Reused, the records of 100,000
 * chunks of 170 B were built 6x faster. The chunk log writes one batch at a time and holds no view
 * of this memory once the write has returned, so one space serves every write.
 */
export class WriteSpace {
  /** The largest records buffer kept between writes; a larger batch gets memory of its own, dropped after it. */
  static readonly MAX_KEPT_BYTES = 4 * 1024 * 1024;
  /** The most chunks the kept tables hold; a larger batch gets tables of its own. */
  static readonly MAX_KEPT_CHUNKS = 64 * 1024;
  readonly #records = new Kept((bytes) => Buffer.allocUnsafeSlow(bytes), WriteSpace.MAX_KEPT_BYTES, 64 * 1024);
  readonly #placements = new Kept((count) => new Float64Array(count), WriteSpace.MAX_KEPT_CHUNKS);
  readonly #offsets = new Kept((count) => new Float64Array(count), WriteSpace.MAX_KEPT_CHUNKS);
  readonly #slots = new Kept((size) => new Int32Array(size), 2 * WriteSpace.MAX_KEPT_CHUNKS);

  /** `bytes` of memory for one write's records, valid until the next write. */
  records(bytes: number): Buffer {
    return this.#records.take(bytes);
  }

  /** A table of `count` placements (contents undefined), valid until the next write. */
  placements(count: number): Float64Array {
    return this.#placements.take(count);
  }

  /** A table of `count` record offsets (contents undefined), valid until the next write. */
  offsets(count: number): Float64Array {
    return this.#offsets.take(count);
  }

  /** A table of `size` slots, each -1, valid until the next write. */
  slots(size: number): Int32Array {
    return this.#slots.take(size).fill(-1);
  }

  /** Lets the kept memory go (the log closes). */
  release(): void {
    for (const kept of [this.#records, this.#placements, this.#offsets, this.#slots]) kept.release();
  }
}

/** One array kept from write to write: grown in powers of two up to `maxLength`; a longer request gets one of its own. */
class Kept<T extends Uint8Array | Float64Array | Int32Array> {
  #array: T | undefined;

  constructor(
    private readonly make: (length: number) => T,
    private readonly maxLength: number,
    private readonly minLength = 1024,
  ) {}

  /** The first `length` entries (contents undefined), valid until the next call. */
  take(length: number): T {
    if (length > this.maxLength) return this.make(length);
    if (this.#array === undefined || this.#array.length < length) {
      let size = this.minLength;
      while (size < length) size *= 2;
      this.#array = this.make(Math.min(size, this.maxLength));
    }
    return this.#array.subarray(0, length) as T;
  }

  release(): void {
    this.#array = undefined;
  }
}

/**
 * The records of the chunks not stored yet, each key hashed once. A repeat within the batch is
 * written once. The per-chunk arrays are built by plain loops: those Array#map made came in more
 * than one elements kind while V8 warmed up, and each new kind deoptimised the loops reading them.
 */
export function recordBatch(writes: ChunkWrites, index: ChunkLogIndex, space: WriteSpace): RecordBatch {
  const count = writes.count;
  const placements = space.placements(count);
  const added = new Array<boolean>(count);
  placeAll(writes, index, placements, added);
  const bytes = dropRepeats(writes, placements, added, space);
  const offsets = space.offsets(count);
  if (bytes === 0) return { placements, added, offsets, records: undefined, adding: 0 };
  const records = space.records(bytes);
  const adding = writeRecords(writes, added, records, offsets);
  return { placements, added, offsets, records, adding };
}

/** Each key's placement, and whether the index lacks it. */
function placeAll(writes: ChunkWrites, index: ChunkLogIndex, placements: Float64Array, added: boolean[]): void {
  const { keys } = writes;
  for (let i = 0; i < writes.count; i++) {
    const at = i * ADDRESS_BYTES;
    const placed = index.placementOf(keys, at);
    placements[i] = placed;
    added[i] = !index.hasPlaced(keys, placed, at);
  }
}

/**
 * Marks a repeat within the batch as not added; answers the bytes of the records left. Keyed by
 * the placement in a table of the batch's own, open addressing over typed arrays: a Map keyed by
 * placements (doubles up to 2^40) boxed a number a chunk and was a tenth of a 1,000,000-chunk
 * write's CPU. Keys of the same placement (rare) are compared whole.
 */
function dropRepeats(writes: ChunkWrites, placements: Float64Array, added: boolean[], space: WriteSpace): number {
  const { keys, data } = writes;
  let size = 16;
  while (size < writes.count * 2) size *= 2;
  const mask = size - 1;
  const table = space.slots(size);
  let bytes = 0;
  for (let i = 0; i < writes.count; i++) {
    if (!added[i]) continue;
    const placed = placements[i] as number;
    // The placement is a keyed hash: its low bits spread as well as any.
    for (let slot = (placed >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const j = table[slot] as number;
      if (j === -1) {
        table[slot] = i;
        bytes += RECORD_HEADER + (data[i] as Uint8Array).length;
        break;
      }
      if (placements[j] === placed && addressBytesAre(keys, j * ADDRESS_BYTES, keys, i * ADDRESS_BYTES)) {
        added[i] = false;
        break;
      }
    }
  }
  return bytes;
}

/**
 * Writes the added chunks' records into `records`, with typed-array builtins only
 * (Buffer#writeUInt32LE and Buffer#copy are layers of JavaScript that cost a catch-up's first
 * thousands of chunks several times more); answers how many it wrote.
 */
function writeRecords(writes: ChunkWrites, added: readonly boolean[], records: Buffer, offsets: Float64Array): number {
  const { keys, data } = writes;
  let at = 0;
  let adding = 0;
  for (let i = 0; i < writes.count; i++) {
    if (!added[i]) continue;
    adding++;
    const bytes = data[i] as Uint8Array;
    const length = bytes.length;
    offsets[i] = at;
    records[at] = length;
    records[at + 1] = length >>> 8;
    records[at + 2] = length >>> 16;
    records[at + 3] = length >>> 24;
    copyAddressBytes(keys, i * ADDRESS_BYTES, records, at + RECORD_ADDRESS_AT);
    records.set(bytes, at + RECORD_HEADER);
    at += RECORD_HEADER + length;
  }
  return adding;
}

/** Indexes the batch's records, written from file offset `start` on (room reserved before the write). */
export function indexBatch(writes: ChunkWrites, batch: RecordBatch, index: ChunkLogIndex, start: number): void {
  const { added, placements, offsets } = batch;
  for (let i = 0; i < writes.count; i++) {
    if (added[i]) index.addPlaced(placements[i] as number, start + (offsets[i] as number), (writes.data[i] as Uint8Array).length);
  }
}
