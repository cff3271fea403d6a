/**
 * The chunk log's records last read at random places, kept in memory, so that a record read again
 * (a popular name's zone file, asked for over and over) costs no read call. On a virtual machine
 * a `pread` costs 2-7 µs, several times what the rest of serving a small chunk costs: a node
 * answering getChunks of 10 random addresses spent most of its time in them.
 *
 * Bounded by `maxBytes` in all: each record's bytes plus ENTRY_OVERHEAD_BYTES for its bookkeeping,
 * the least recently used dropped first. Records larger than MAX_KEPT_RECORD_BYTES are not kept
 * (one would push out dozens of zone files). Records are never rewritten in place (chunk-log.ts),
 * so a kept record cannot go stale; one the store suspects is forgotten (`forget`).
 *
 * What a peer can make it do: ask for chunks at random, so that it holds those instead of the
 * ones others ask for. It stays within its bound, and the others' records are read from the file
 * again, as every record was without it.
 */

/** The most memory kept by default (LmdbChunkStoreOptions.chunkCacheBytes). */
export const DEFAULT_CHUNK_CACHE_BYTES = 8 * 1024 * 1024;
/** Records (header included) larger than this are read from the file every time. */
export const MAX_KEPT_RECORD_BYTES = 4 * 1024;
/**
 * What a kept record costs in resident memory beyond its bytes, counted against the bound: its
 * Buffer, the allocation of memory of its own and its map entry (measured on Node 20: 360-610
 * bytes a record of 24 to 4,000 bytes).
 */
export const ENTRY_OVERHEAD_BYTES = 512;

export class RecentRecords {
  readonly maxBytes: number;
  /** Offset -> a copy of the record's bytes; iteration order is least recently used first. */
  readonly #records = new Map<number, Buffer>();
  #bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Memory counted against the bound now. */
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

  /** Keeps a copy of `record`, read at `offset`, unless it is too large for the bound or MAX_KEPT_RECORD_BYTES. */
  keep(offset: number, record: Uint8Array): void {
    const cost = record.length + ENTRY_OVERHEAD_BYTES;
    if (record.length > MAX_KEPT_RECORD_BYTES || cost > this.maxBytes) return;
    this.forget(offset);
    // Memory of its own, not a slice of Buffer's shared pool: a kept record must not hold 8 KiB of pool alive.
    const copy = Buffer.allocUnsafeSlow(record.length);
    copy.set(record);
    this.#records.set(offset, copy);
    this.#bytes += cost;
    for (const [oldest, kept] of this.#records) {
      if (this.#bytes <= this.maxBytes) break;
      this.#records.delete(oldest);
      this.#bytes -= kept.length + ENTRY_OVERHEAD_BYTES;
    }
  }

  /** Drops what is kept at `offset`, if anything. */
  forget(offset: number): void {
    const kept = this.#records.get(offset);
    if (kept === undefined) return;
    this.#records.delete(offset);
    this.#bytes -= kept.length + ENTRY_OVERHEAD_BYTES;
  }
}
