/**
 * The storage ceiling of the sync benchmark: the same chunks written with raw lmdb-js (durable
 * commits of 1,000 puts, random 20-byte keys), no atlasnet code. A sync cannot store faster.
 * node --import tsx bench/sync/storage-ceiling.ts <sourceDir> <chainFile>
 */
import { open } from 'lmdb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbChunkStore } from '../../src/store/lmdb.js';

const [sourceDir, chainFile] = process.argv.slice(2) as [string, string];
const addresses = readFileSync(chainFile);
const source = await LmdbChunkStore.open({ path: sourceDir });
const keys: Buffer[] = [];
const values: Buffer[] = [];
for (let i = 0; i < addresses.length / 20; i++) {
  const key = addresses.subarray(i * 20, i * 20 + 20);
  keys.push(Buffer.from(key));
  values.push(Buffer.from(source.get(key.toString('hex'))!));
}
await source.close();

const dir = mkdtempSync(join(tmpdir(), 'atlasnet-ceiling-'));
const env = open({ path: dir, mapSize: 2 ** 36 });
const db = env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' });
const started = performance.now();
for (let s = 0; s < keys.length; s += 1_000) {
  await env.transaction(() => {
    for (let i = s; i < Math.min(keys.length, s + 1_000); i++) db.putSync(keys[i]!, values[i]!);
  });
}
const elapsedMs = performance.now() - started;
await env.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ elapsedMs, count: keys.length }) + '\n');
