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
import type { ChunkLogIndex } from './chunk-log-index.js';
import { RECORD_HEADER } from './chunk-log-format.js';

/** What one write appends: the records and where each chunk's record starts in them. */
export interface RecordBatch {
  /** Per chunk: its placement in the index (a keyed hash, up to 2^40: not a 32-bit integer). */
  placements: Float64Array;
  /** Per chunk: whether this write adds it (false: stored before, or repeated in the batch). */
  added: boolean[];
  /** Per chunk added: where its record starts in `records`. */
  offsets: Float64Array;
  /** The records, end to end (undefined when nothing is added). */
  records: Buffer | undefined;
  /** Chunks added. */
  adding: number;
}

type Chunk = { key: Buffer; data: Uint8Array };

/**
 * The records of the chunks not stored yet, each key hashed once. A repeat within the batch is
 * written once. The per-chunk arrays are built by plain loops: those Array#map made came in more
 * than one elements kind while V8 warmed up, and each new kind deoptimised the loops reading them.
 */
export function recordBatch(chunks: readonly Chunk[], index: ChunkLogIndex): RecordBatch {
  const count = chunks.length;
  const placements = new Float64Array(count);
  const added = new Array<boolean>(count);
  placeAll(chunks, index, placements, added);
  const bytes = dropRepeats(chunks, placements, added);
  const offsets = new Float64Array(count);
  if (bytes === 0) return { placements, added, offsets, records: undefined, adding: 0 };
  const records = Buffer.allocUnsafe(bytes);
  const adding = writeRecords(chunks, added, records, offsets);
  return { placements, added, offsets, records, adding };
}

/** Each key's placement, and whether the index lacks it. */
function placeAll(chunks: readonly Chunk[], index: ChunkLogIndex, placements: Float64Array, added: boolean[]): void {
  for (let i = 0; i < chunks.length; i++) {
    const { key } = chunks[i] as Chunk;
    const placed = index.placementOf(key);
    placements[i] = placed;
    added[i] = !index.hasPlaced(key, placed);
  }
}

/**
 * Marks a repeat within the batch as not added; answers the bytes of the records left. Keyed by
 * the placement in a table of the batch's own, open addressing over typed arrays: a Map keyed by
 * placements (doubles up to 2^40) boxed a number a chunk and was a tenth of a 1,000,000-chunk
 * write's CPU. Keys of the same placement (rare) are compared whole.
 */
function dropRepeats(chunks: readonly Chunk[], placements: Float64Array, added: boolean[]): number {
  let size = 16;
  while (size < chunks.length * 2) size *= 2;
  const mask = size - 1;
  const table = new Int32Array(size).fill(-1);
  let bytes = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (!added[i]) continue;
    const placed = placements[i] as number;
    const { key, data } = chunks[i] as Chunk;
    // The placement is a keyed hash: its low bits spread as well as any.
    for (let slot = (placed >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const j = table[slot] as number;
      if (j === -1) {
        table[slot] = i;
        bytes += RECORD_HEADER + data.length;
        break;
      }
      if (placements[j] === placed && (chunks[j] as Chunk).key.equals(key)) {
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
function writeRecords(chunks: readonly Chunk[], added: readonly boolean[], records: Buffer, offsets: Float64Array): number {
  let at = 0;
  let adding = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (!added[i]) continue;
    adding++;
    const { key, data } = chunks[i] as Chunk;
    const length = data.length;
    offsets[i] = at;
    records[at] = length;
    records[at + 1] = length >>> 8;
    records[at + 2] = length >>> 16;
    records[at + 3] = length >>> 24;
    records.set(key, at + 4);
    records.set(data, at + RECORD_HEADER);
    at += RECORD_HEADER + length;
  }
  return adding;
}

/** Indexes the batch's records, written from file offset `start` on (room reserved before the write). */
export function indexBatch(chunks: readonly Chunk[], batch: RecordBatch, index: ChunkLogIndex, start: number): void {
  const { added, placements, offsets } = batch;
  for (let i = 0; i < chunks.length; i++) {
    if (added[i]) index.addPlaced(placements[i] as number, start + (offsets[i] as number), (chunks[i] as Chunk).data.length);
  }
}
