/**
 * The chunk log's records read again and again at random places, kept in memory, so that such a
 * record (a popular name's zone file) costs no read call. On a virtual machine a `pread` costs
 * 2-7 µs, several times what the rest of serving a small chunk costs: a node answering getChunks
 * of 10 random addresses spent most of its time in them.
 *
 * A record is kept the second time it is read while its first read is remembered: a table of
 * offsets (one slot an offset's hash, the newest read taking the slot) holds first reads. Keeping
 * every record read once cost more than the read saved when reads spread over far more records
 * than the bound holds (a random get 12.8-13.5 µs against 8.0-9.8 with none kept, 200,000 records,
 * 1 MiB): each kept record is memory of its own, soon dropped again.
 *
 * Bounded by `maxBytes` in all: that table, and each kept record's bytes plus
 * ENTRY_OVERHEAD_BYTES for its bookkeeping, the least recently used dropped first. Records larger
 * than MAX_KEPT_RECORD_BYTES are not kept (one would push out dozens of zone files). Records are
 * never rewritten in place (chunk-log.ts), so a kept record cannot go stale; one the store
 * suspects is forgotten (`forget`).
 *
 * What a peer can make it do: ask for chunks at random, twice each, so that it holds those instead
 * of the ones others ask for. It stays within its bound, and the others' records are read from the
 * file again, as every record was without it.
 */

/** The most memory kept by default (LmdbChunkStoreOptions.chunkCacheBytes). */
export const DEFAULT_CHUNK_CACHE_BYTES = 8 * 1024 * 1024;
/** Records (header included) larger than this are read from the file every time. */
export const MAX_KEPT_RECORD_BYTES = 4 * 1024;
/**
 * What a kept record costs in resident memory beyond its bytes, counted against the bound: its
 * Buffer, the allocation of memory of its own, its map entry and key (measured on Node 20: 360-610
 * bytes a record of 24 to 4,000 bytes; counted at the top of that, with room for a key past 2 GiB).
 */
export const ENTRY_OVERHEAD_BYTES = 640;
/** One slot of the first-reads table for each this many bytes of the bound (a power of two of slots, at least 16). */
const BYTES_PER_FIRST_READ_SLOT = 1024;

/** The slots of the first-reads table of a bound of `maxBytes`: 8 bytes each, counted against the bound. */
export function firstReadSlots(maxBytes: number): number {
  let slots = 16;
  while (slots * 2 <= maxBytes / BYTES_PER_FIRST_READ_SLOT) slots *= 2;
  return slots;
}

export class RecentRecords {
  readonly maxBytes: number;
  /** Offset -> a copy of the record's bytes; iteration order is least recently used first. */
  readonly #records = new Map<number, Buffer>();
  /** Offsets read once (offset + 1; 0: free), by their hash. */
  readonly #firstReads: Float64Array;
  /** 32 - log2(slots): a 32-bit hash's top bits pick the slot. */
  readonly #slotShift: number;
  #bytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    // A bound smaller than the table could keep no record beside it (each costs more): no table then.
    const fitting = firstReadSlots(maxBytes);
    const slots = fitting * 8 <= maxBytes ? fitting : 0;
    this.#firstReads = new Float64Array(slots);
    this.#slotShift = 32 - Math.log2(Math.max(1, slots));
    this.#bytes = this.#firstReads.byteLength;
  }

  /** Memory counted against the bound now: the first-reads table and the records kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Records kept. */
  get size(): number {
    return this.#records.size;
  }

  /** The record of `size` bytes kept at `offset`, now the most recently used; undefined when not kept. */
  get(offset: number, size: number): Buffer | undefined {
    const record = this.#records.get(offset);
    if (record === undefined || record.length !== size) return undefined;
    this.#records.delete(offset);
    this.#records.set(offset, record);
    return record;
  }

  /**
   * `record`, read at `offset`, was read from the file: a copy is kept if its first read is
   * remembered (else that read is, now), unless it is larger than MAX_KEPT_RECORD_BYTES or than
   * what the bound leaves beside the first-reads table.
   */
  keep(offset: number, record: Uint8Array): void {
    const cost = record.length + ENTRY_OVERHEAD_BYTES;
    if (record.length > MAX_KEPT_RECORD_BYTES || cost + this.#firstReads.byteLength > this.maxBytes) return;
    const slot = this.#slotOf(offset);
    if (this.#firstReads[slot] !== offset + 1) {
      this.#firstReads[slot] = offset + 1;
      return;
    }
    this.#firstReads[slot] = 0;
    this.forget(offset);
    // Memory of its own, not a slice of Buffer's shared pool: a kept record must not hold 8 KiB of pool alive.
    const copy = Buffer.allocUnsafeSlow(record.length);
    copy.set(record);
    this.#records.set(offset, copy);
    this.#bytes += cost;
    while (this.#bytes > this.maxBytes) {
      const oldest = this.#records.keys().next().value as number;
      this.forget(oldest);
    }
  }

  /** Drops everything (the log is closed). */
  clear(): void {
    this.#records.clear();
    this.#firstReads.fill(0);
    this.#bytes = this.#firstReads.byteLength;
  }

  /** Drops what is kept at `offset`, if anything. */
  forget(offset: number): void {
    const kept = this.#records.get(offset);
    if (kept === undefined) return;
    this.#records.delete(offset);
    this.#bytes -= kept.length + ENTRY_OVERHEAD_BYTES;
  }

  /** The first-reads slot of `offset` (up to 2^53): its low and high 32 bits mixed. */
  #slotOf(offset: number): number {
    const low = offset >>> 0;
    const high = Math.floor(offset / 0x1_0000_0000);
    return Math.imul(low ^ Math.imul(high, 0x85eb_ca6b), 0x9e37_79b1) >>> this.#slotShift;
  }
}
