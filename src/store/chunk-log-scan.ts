/**
 * Reading a chunk log at open (chunk-log.ts says what each kind of damage does): every record read
 * once and hashed again, the intact ones indexed, a damaged length field passed over when intact
 * records follow it (whether it makes no sense or is plausible but wrong), a torn end measured.
 */
import { constants as bufferConstants } from 'node:buffer';
import { fstatSync, readSync } from 'node:fs';
import { ADDRESS_BYTES } from '../address.js';
import { AtlasError, ErrorCodes } from '../errors.js';
import { hash160Batch } from '../hash/index.js';
import type { ChunkLogIndex } from './chunk-log-index.js';
import { LOG_HEADER, MAX_RECORD_DATA, RECORD_HEADER } from './chunk-log-format.js';
import { IntactRecordFinder } from './chunk-log-resync.js';

/** Bytes read at a time while rebuilding the index. */
const SCAN_BLOCK = 4 * 1024 * 1024;

/** What reading the log found, and the keys and sizes of its intact records in file order. */
export interface ScanResult {
  end: number;
  damaged: number;
  cut: number;
  keys: Buffer;
  sizes: Uint32Array;
}

/** Reads every record once, checking each hash, and indexes the intact ones (see the file comment). */
export function scanLog(fd: number, path: string, index: ChunkLogIndex, maxChunkSize?: number): ScanResult {
  let size = fstatSync(fd).size;
  const header = Buffer.alloc(LOG_HEADER.length);
  readSync(fd, header, 0, LOG_HEADER.length, 0);
  if (size < LOG_HEADER.length || !header.equals(LOG_HEADER)) {
    throw new AtlasError(ErrorCodes.STORE_CORRUPT, `${path} is not an atlasnet chunk log (bad header)`, { path });
  }
  const found = new ScanCollector(index);
  const intact = new IntactRecordFinder(fd, maxChunkSize);
  let block = Buffer.allocUnsafe(SCAN_BLOCK);
  let offset = LOG_HEADER.length;
  let torn = false;
  while (offset < size && !torn) {
    const want = Math.min(block.length, size - offset);
    const got = readSync(fd, block, 0, want, offset);
    if (got < want) size = offset + got; // the file shrank under us: its end is here
    const views: Uint8Array[] = [];
    let at = 0;
    let broken = false;
    for (;;) {
      if (at + RECORD_HEADER > got) {
        torn = offset + at + RECORD_HEADER > size && offset + at < size; // a header cut by the end
        break;
      }
      const length = block.readUInt32LE(at);
      if (length === 0 || length > MAX_RECORD_DATA || offset + at + RECORD_HEADER + length > size) {
        broken = true;
        break;
      }
      if (at + RECORD_HEADER + length > got) {
        if (at === 0) block = Buffer.allocUnsafe(RECORD_HEADER + length); // one record larger than a block
        break;
      }
      views.push(block.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
      at += RECORD_HEADER + length;
    }
    const digests = hash160Batch(views);
    let resumeAt: number | undefined;
    for (let i = 0; i < views.length; i++) {
      const data = views[i] as Uint8Array;
      const start = data.byteOffset - block.byteOffset - RECORD_HEADER;
      const key = block.subarray(start + 4, start + RECORD_HEADER);
      if (key.equals(digests[i] as Uint8Array)) {
        found.add(key, offset + start, data.length);
        continue;
      }
      found.damaged++;
      resumeAt = resumeAfterDamage(intact.after(offset + start, size), offset + start + RECORD_HEADER + data.length, i + 1 < views.length);
      if (resumeAt !== undefined) break;
    }
    if (resumeAt !== undefined) {
      offset = resumeAt;
      continue;
    }
    offset += at;
    if (broken) {
      // A tear ends the file; a damaged length field has whole records after it, however far:
      // what follows it is cut only when nothing intact does.
      const next = intact.beforeEnd(offset, size);
      if (next === 'none') torn = true;
      else {
        found.damaged++;
        offset = next;
      }
    }
  }
  return found.finish(offset, size - offset);
}

/**
 * Where the scan goes on after a record failed its hash, or undefined to go on as its length field
 * says (at `claimedEnd`). The length field is as likely to be the damaged part as the data, and a
 * plausible wrong length would take the scan into the middle of the records after it, losing
 * them; so `next`, the first intact record after the damaged one's start, decides:
 * - at `claimedEnd`: the length was right (the data was damaged); go on as parsed;
 * - before it: the length was wrong; go on from that record;
 * - after it: the record at `claimedEnd` is damaged too; when it parsed as a record
 *   (`claimedIsRecord`), it is checked (and counted) on its own, else the scan goes on from the
 *   intact one;
 * - none within reach: as parsed (what follows is checked as before: a tear or more damage).
 */
function resumeAfterDamage(next: number | undefined, claimedEnd: number, claimedIsRecord: boolean): number | undefined {
  if (next === undefined || next === claimedEnd || (next > claimedEnd && claimedIsRecord)) return undefined;
  return next;
}

/** Keys and sizes of intact records, in growing packed arrays, indexed as read; the first copy of an address wins. */
class ScanCollector {
  count = 0;
  damaged = 0;
  #keys = Buffer.allocUnsafe(ADDRESS_BYTES * 1024);
  #sizes = new Uint32Array(1024);
  constructor(private readonly index: ChunkLogIndex) {}

  add(key: Buffer, offset: number, size: number): void {
    if (this.index.find(key) !== undefined) return;
    this.index.add(key, offset, size);
    if (this.count === this.#sizes.length) this.#grow();
    key.copy(this.#keys, this.count * ADDRESS_BYTES);
    this.#sizes[this.count] = size;
    this.count++;
  }

  finish(end: number, cut: number): ScanResult {
    const n = this.count;
    return { end, damaged: this.damaged, cut, keys: this.#keys.subarray(0, n * ADDRESS_BYTES), sizes: this.#sizes.subarray(0, n) };
  }

  #grow(): void {
    // Doubling, up to the largest Buffer this Node.js makes (4 GiB on Node 20: 214 million keys).
    const capacity = Math.min(this.#sizes.length * 2, Math.floor(bufferConstants.MAX_LENGTH / ADDRESS_BYTES));
    if (capacity === this.#sizes.length) {
      throw new AtlasError(ErrorCodes.INTERNAL, `a chunk log of more than ${capacity} records cannot be opened by this Node.js`, { records: capacity });
    }
    const keys = Buffer.allocUnsafe(ADDRESS_BYTES * capacity);
    this.#keys.copy(keys);
    this.#keys = keys;
    const sizes = new Uint32Array(capacity);
    sizes.set(this.#sizes);
    this.#sizes = sizes;
  }
}
