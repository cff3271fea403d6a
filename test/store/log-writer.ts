/**
 * Child process of the failed-write test in chunk-log.test.ts, run under a file size limit
 * (ulimit -f) with SIGXFSZ ignored, so that a write past it fails with EFBIG: puts the chunks
 * named on the command line one at a time into the store in argv[2] and prints one JSON line per
 * put, { ok } or { error }.
 */
import { LmdbChunkStore } from '../../src/store/lmdb.js';

const [path, ...texts] = process.argv.slice(2) as [string, ...string[]];
const store = await LmdbChunkStore.open({ path });
for (const text of texts) {
  try {
    const [outcome] = await store.putMany([Buffer.from(text)]);
    process.stdout.write(`${JSON.stringify({ ok: outcome?.ok === true && outcome.added })}\n`);
  } catch (error) {
    const { code, details } = error as { code?: string; details?: { errno?: string } };
    process.stdout.write(`${JSON.stringify({ error: code ?? String(error), errno: details?.errno })}\n`);
  }
}
await store.close();
