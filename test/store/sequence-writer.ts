/**
 * Child process of the full-disk tests in lmdb.test.ts, run under a file size limit (ulimit -f)
 * with SIGXFSZ ignored, so that LMDB's writes past it fail, and under Node's default for unhandled
 * rejections (a stray one ends the process):
 *   sequence-writer.ts <path> <rounds> sequence: appends `rounds` batches of 2,000 announcements;
 *   sequence-writer.ts <path> <rounds> chunks: under chunkStorage 'lmdb', announces `rounds`
 *     batches of 20 chunks of 2,000 bytes at once, then puts them a batch at a time.
 * Prints one JSON line per batch, { length } / { chunks } or { error, errno }, then "closed" once
 * the store has closed.
 */
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { addressOf, announcementsFor } from './contract.js';

const [path, rounds, mode] = process.argv.slice(2) as [string, string, 'sequence' | 'chunks'];
const store = await LmdbChunkStore.open({ path, ...(mode === 'chunks' ? { chunkStorage: 'lmdb' as const } : {}) });

function chunksOf(round: number): Uint8Array[] {
  return Array.from({ length: 20 }, (_, i) => new Uint8Array(2_000).fill(round * 20 + i + 1));
}

async function writeBatch(round: number): Promise<string> {
  if (mode === 'sequence') {
    const addresses = Array.from({ length: 2_000 }, (_, i) => (round * 2_000 + i).toString(16).padStart(40, '0'));
    await store.append(announcementsFor(addresses, store.sequenceLength()));
    return JSON.stringify({ length: store.sequenceLength() });
  }
  const chunks = chunksOf(round);
  const outcomes = await Promise.allSettled(chunks.map((chunk) => store.put(chunk)));
  const refused = outcomes.find((outcome) => outcome.status === 'rejected');
  if (refused) throw refused.reason;
  return JSON.stringify({ chunks: store.chunkCount() });
}

if (mode === 'chunks') {
  const all = Array.from({ length: Number(rounds) }, (_, round) => chunksOf(round)).flat();
  await store.append(announcementsFor(all.map(addressOf), 0));
}
for (let round = 0; round < Number(rounds); round++) {
  try {
    process.stdout.write(`${await writeBatch(round)}\n`);
  } catch (error) {
    const { code, details } = error as { code?: string; details?: { errno?: unknown } };
    process.stdout.write(`${JSON.stringify({ error: code, errno: details?.errno })}\n`);
  }
}
await store.close();
process.stdout.write('closed\n');
