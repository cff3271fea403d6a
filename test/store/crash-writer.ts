/**
 * Child process of the kill test in lmdb.test.ts: writes to a store in rounds (appends with
 * repeated addresses, puts, truncations) and prints "round" after each, until it is killed.
 * argv: <path> [lmdb|log] (where a new store keeps its chunks).
 */
import { hash160Hex } from '../../src/hash/index.js';
import { LmdbChunkStore } from '../../src/store/lmdb.js';

const path = process.argv[2];
if (!path) throw new Error('usage: crash-writer <path>');
const store = await LmdbChunkStore.open({ path, chunkStorage: process.argv[3] === 'log' ? 'log' : 'lmdb' });
const chunk = (i: number) => new TextEncoder().encode(`crash chunk ${i % 700} ${'z'.repeat(i % 50)}`);
let next = 0;
for (let round = 0; round < 10_000; round++) {
  const start = store.sequenceLength();
  const chunks = Array.from({ length: 200 }, () => chunk(next++));
  await store.append(chunks.map((data, i) => ({ position: start + i, address: hash160Hex(data) })));
  // Not awaited one by one: puts, truncations and appends are in flight together when killed.
  const pending: Promise<unknown>[] = [store.putMany(chunks.filter((_, i) => i % 3 !== 0))];
  if (round % 4 === 3) pending.push(store.truncate(Math.max(0, store.sequenceLength() - 150)));
  pending.push(store.putVerified(chunks.filter((_, i) => i % 3 === 0).map((data) => ({ address: hash160Hex(data), data }))));
  await Promise.all(pending);
  process.stdout.write('round\n');
}
await store.close();
