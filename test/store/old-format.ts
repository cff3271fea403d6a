/**
 * Stores in the layout older atlasnet versions wrote, made from a format-4 store by hand: what an
 * upgrade test opens.
 */
import { open as openLmdb } from 'lmdb';
import { SEQUENCE_RUNS_DB } from '../../src/store/lmdb-sequence.js';
import type { ChunkStorage } from '../../src/store/lmdb.js';

/** Turns a closed format-4 store back into the layout formats 2 and 3 wrote: one `sequence` entry a position. */
export async function downgrade(path: string, storage: ChunkStorage): Promise<void> {
  const env = openLmdb({ path, maxDbs: 8 });
  const runs = env.openDB<Buffer, number>(SEQUENCE_RUNS_DB, { keyEncoding: 'uint32', encoding: 'binary' });
  const positions = env.openDB<Buffer, number>('sequence', { keyEncoding: 'uint32', encoding: 'binary' });
  env.transactionSync(() => {
    let position = 0;
    for (const { value } of runs.getRange({ start: 0 })) {
      for (let offset = 0; offset < value.length; offset += 20) positions.putSync(position++, Buffer.from(value.subarray(offset, offset + 20)));
    }
    runs.dropSync();
    env.openDB('meta', { encoding: 'msgpack' }).putSync('format', storage === 'log' ? { magic: 'atlasnet-store', version: 3, chunks: 'log' } : { magic: 'atlasnet-store', version: 2 });
  });
  await env.close();
}

