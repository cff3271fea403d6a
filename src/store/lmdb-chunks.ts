/**
 * Chunk records in the store's LMDB environment (the `chunks` sub-database, store format 2): every
 * put is a B-tree insert under the chunk's hash, in the same environment as the sequence.
 */
import { storeWrite } from './file-error.js';
import type { Database, RootDatabase } from 'lmdb';
import { AtlasError, ErrorCodes } from '../errors.js';
import { ADDRESS_BYTES } from '../address.js';
import type { ChunkRecords, ChunkWrites } from './backend.js';

const NO_OVERWRITE = { noOverwrite: true } as const;

export class LmdbChunkRecords implements ChunkRecords {
  constructor(
    private readonly env: RootDatabase,
    private readonly db: Database<Buffer, Buffer>,
    private readonly path: string,
  ) {}

  chunk(key: Buffer): Uint8Array | undefined {
    const data = this.db.getBinary(key);
    return data === undefined ? undefined : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  /** LMDB's own pages are the medium: there is no cache of ours to read past. */
  rereadChunk(key: Buffer): Uint8Array | undefined {
    return this.chunk(key);
  }

  hasChunk(key: Buffer): boolean {
    return this.db.doesExist(key);
  }

  chunkSize(key: Buffer): number | undefined {
    return this.db.getBinaryFast(key)?.length;
  }

  /**
   * Damaged pages can hide records from a cursor without an error: the count LMDB keeps for the
   * database must match what the walk read.
   */
  *chunkSizes(): Iterable<{ key: Buffer; size: number }> {
    const expected = entryCount(this.db);
    let read = 0;
    for (const { key, value } of this.db.getRange({})) {
      read++;
      yield { key, size: value.length };
    }
    if (read !== expected) throw damagedRecords('chunk', read, expected, this.path);
  }

  /** MDB_NOOVERWRITE decides "already stored" (a repeat within the batch too) inside the transaction. */
  async storeChunks(writes: ChunkWrites): Promise<boolean[]> {
    const added: boolean[] = new Array(writes.count).fill(false);
    const keys = Buffer.from(writes.keys.buffer, writes.keys.byteOffset, writes.count * ADDRESS_BYTES);
    await storeWrite(this.path, `cannot write chunks in ${this.path}`, () =>
      this.env.transaction(() => {
        for (let i = 0; i < writes.count; i++) {
          const key = keys.subarray(i * ADDRESS_BYTES, (i + 1) * ADDRESS_BYTES);
          added[i] = this.db.putSync(key, writes.data[i] as Buffer, NO_OVERWRITE) as unknown as boolean;
        }
      }),
    );
    return added;
  }

  /** A removal LMDB fails (an I/O error at its commit) is STORE_IO naming the errno; the record is then still there. */
  async removeChunk(key: Buffer): Promise<void> {
    await storeWrite(this.path, `cannot remove the chunk ${key.toString('hex')} from ${this.path}`, () => this.db.remove(key));
  }

  /** The environment is the backend's to close. */
  async close(): Promise<void> {}
}

export function entryCount(db: { getStats(): unknown }): number {
  return (db.getStats() as { entryCount: number }).entryCount;
}

export function damagedRecords(kind: string, read: number, expected: number, path: string): AtlasError {
  return new AtlasError(ErrorCodes.STORE_CORRUPT, `the ${kind} records in ${path} are damaged: ${read} readable of the ${expected} LMDB counts`, { path, read, expected });
}
