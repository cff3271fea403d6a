/**
 * The memory an open store holds, measured in a process of its own, so that nothing else of a
 * benchmark is freed or kept in the same heap meanwhile: bench/store.ts bundles this script and
 * runs node --expose-gc open-memory.mjs <path> <positions>. It opens the store at <path>, which
 * holds <positions> announcements, and prints as one JSON line the JS heap and array buffers the
 * open store added and the time the open took (a process opening its store cold, as a node
 * starting does).
 */
import { LmdbChunkStore } from '../../src/store/lmdb.js';

const [path, positionsArg] = process.argv.slice(2) as [string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('open-memory needs --expose-gc');

/** Three full collections, each followed by an event-loop turn, so that finalisers free what is outside the heap. */
async function settle(collect: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    collect();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const held = () => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

await settle(gc);
const before = held();
const openedAt = performance.now();
const store = await LmdbChunkStore.open({ path });
const openMs = performance.now() - openedAt;
if (store.sequenceLength() !== Number(positionsArg)) throw new Error(`open-memory: the store holds ${store.sequenceLength()} positions, not ${positionsArg}`);
await settle(gc);
const heldBytes = held() - before;
await store.close();
process.stdout.write(JSON.stringify({ openMs, heldBytes }) + '\n');
