/**
 * The reference of the sync benchmark over atlasnet's storage primitives alone: the same stream as
 * reference-client.ts, each batch of 500 hashed in one call and compared with the sequence's
 * bytes at its positions, then appended to a chunk log (ChunkLog.storeChunks: records, one write,
 * fdatasync, the in-memory index) with the positions set in an inventory (Inventory.addMany); at
 * most 32 batches waiting, the ones waiting behind a write joined into the next (one write at a
 * time, as the store writes: the chunk log takes one call at a time). No store above them
 * (admission, outcomes), no protocol: beside the store reference (reference-store-client.ts) and
 * the durable one (a plain file), it says what the chunk log costs and what the store's layers add.
 * node --import tsx bench/sync/reference-log-client.ts <server> <chainFile> <dataDir>
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { hash160Digests, hashReady } from '../../src/hash/index.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { SerialQueue } from '../../src/runtime.js';
import { ChunkLog } from '../../src/store/chunk-log.js';
import { WriteGroup } from '../../src/store/write-group.js';
import { streamIntoWrites } from './frame-stream.js';
import { startWindow } from './window.js';

const [server, chainFile, dataDir] = process.argv.slice(2) as [string, string, string];
/** As the store reference: the downloader's request size and its bound on replies waiting to be stored. */
const BATCH = 500;
const MAX_PENDING_WRITES = 32;

await hashReady();
mkdirSync(dataDir, { recursive: true });
ChunkLog.prepareNew(dataDir, 'none');
const log = await ChunkLog.open(dataDir);
const sequence = readFileSync(chainFile);
const count = sequence.length / 20;
log.expectChunks(count);
const inventory = new Inventory(count);

const endWindow = startWindow();
let verified = 0;
let mismatched = 0;
/** A verified batch waiting for its write: its keys end to end, its bytes, its positions. */
interface Waiting {
  keys: Buffer;
  data: Uint8Array[];
  positions: number[];
  done: (error?: unknown) => void;
}
const queue = new SerialQueue();
const writes = new WriteGroup<Waiting>(
  (task) => queue.run(task),
  async (parts) => {
    const keys = Buffer.concat(parts.map((part) => part.keys));
    const data = parts.flatMap((part) => part.data);
    const positions = parts.flatMap((part) => part.positions);
    try {
      const added = await log.storeChunks({ count: data.length, keys, data });
      const bits: number[] = [];
      for (let i = 0; i < added.length; i++) if (added[i]) bits.push(positions[i] as number);
      inventory.addMany(bits);
    } catch (error) {
      for (const part of parts) part.done(error);
      return;
    }
    for (const part of parts) part.done();
  },
);

const bytes = await streamIntoWrites(server, { batchSize: BATCH, maxPending: MAX_PENDING_WRITES }, (batch, first) => {
  const hashes = hash160Digests(batch);
  const digests = Buffer.from(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  const keys = Buffer.allocUnsafe(hashes.byteLength);
  const data: Uint8Array[] = [];
  const positions: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    const at = first + i;
    if (digests.compare(sequence, at * 20, at * 20 + 20, i * 20, i * 20 + 20) !== 0) {
      mismatched++;
      continue;
    }
    verified++;
    digests.copy(keys, data.length * 20, i * 20, i * 20 + 20);
    data.push(batch[i] as Uint8Array);
    positions.push(at);
  }
  return new Promise<void>((resolve, reject) =>
    writes.join({ keys: keys.subarray(0, data.length * 20), data, positions, done: (error) => (error === undefined ? resolve() : reject(error)) }),
  );
});
const measured = endWindow();
await log.close();
process.stdout.write(JSON.stringify({ ...measured, verified, mismatched, stored: inventory.count, bytes }) + '\n');
