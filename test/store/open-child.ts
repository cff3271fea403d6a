/**
 * Child process of the kill-during-rewrite test in lmdb-sequence.test.ts: opens the store at
 * argv[2] (an older format is rewritten into runs as it opens), prints "opened", closes.
 */
import { LmdbChunkStore } from '../../src/store/lmdb.js';

const path = process.argv[2];
if (!path) throw new Error('usage: open-child <path>');
process.stdout.write('opening\n');
const store = await LmdbChunkStore.open({ path });
process.stdout.write('opened\n');
await store.close();
