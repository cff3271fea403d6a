/**
 * Child process of the failed-append test in lmdb.test.ts, run under a file size limit (ulimit -f)
 * with SIGXFSZ ignored, so that LMDB's writes past it fail: appends `rounds` batches of 2,000
 * announcements to the store in argv[2] and prints one JSON line per append, { length } or
 * { error, errno }, then "closed" once the store has closed.
 */
import { LmdbChunkStore } from '../../src/store/lmdb.js';
import { announcementsFor } from './contract.js';

const [path, rounds] = process.argv.slice(2) as [string, string];
const store = await LmdbChunkStore.open({ path });
for (let round = 0; round < Number(rounds); round++) {
  const addresses = Array.from({ length: 2_000 }, (_, i) => (round * 2_000 + i).toString(16).padStart(40, '0'));
  try {
    await store.append(announcementsFor(addresses, store.sequenceLength()));
    process.stdout.write(`${JSON.stringify({ length: store.sequenceLength() })}\n`);
  } catch (error) {
    const { code, details } = error as { code?: string; details?: { errno?: unknown } };
    process.stdout.write(`${JSON.stringify({ error: code, errno: details?.errno })}\n`);
  }
}
await store.close();
process.stdout.write('closed\n');
