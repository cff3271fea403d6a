/**
 * The storage ceiling of the sync benchmark: the same chunks written with raw lmdb-js (commits of
 * 1,000 puts, each acknowledged once on disk, as the store opens LMDB), no atlasnet code.
 *
 * The chunks are written twice, each time into a new environment: under their own 20-byte keys
 * (hashes, so each put lands on a random page of the tree: what any hash-addressed store does),
 * then under sequential 20-byte keys (each commit touches the tree's last pages only). The gap
 * between the two is LMDB's write amplification for random keys, which no code above it removes.
 * node --import tsx bench/sync/storage-ceiling.ts <sourceDir> <chainFile>
 */
import { open } from 'lmdb';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbChunkStore, environmentOptions } from '../../src/store/lmdb.js';

const COMMIT_PUTS = 1_000;

export interface StoragePass {
  elapsedMs: number;
  /** CPU time of the process (user + system) over the puts and their commits. */
  cpuMs: number;
}

export interface StorageCeiling extends StoragePass {
  count: number;
  sequential: StoragePass;
}

async function putAll(keys: readonly Buffer[], values: readonly Buffer[]): Promise<StoragePass> {
  const dir = mkdtempSync(join(tmpdir(), 'atlasnet-ceiling-'));
  try {
    const env = open(environmentOptions(dir, {}));
    const db = env.openDB<Buffer, Buffer>('chunks', { keyEncoding: 'binary', encoding: 'binary' });
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let s = 0; s < keys.length; s += COMMIT_PUTS) {
      await env.transaction(() => {
        for (let i = s; i < Math.min(keys.length, s + COMMIT_PUTS); i++) db.putSync(keys[i]!, values[i]!);
      });
    }
    const elapsedMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    await env.close();
    return { elapsedMs, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

const sequentialKeys = keys.map((_, i) => {
  const key = Buffer.alloc(20);
  key.writeUInt32BE(i, 16);
  return key;
});
// Neither measured pass is the process's first: one untimed pass of a few commits, under both
// kinds of key, warms the compiler and lmdb-js first.
const warmUp = Math.min(keys.length, 5 * COMMIT_PUTS);
await putAll(keys.slice(0, warmUp), values.slice(0, warmUp));
await putAll(sequentialKeys.slice(0, warmUp), values.slice(0, warmUp));
const hashed = await putAll(keys, values);
const sequential = await putAll(sequentialKeys, values);
const result: StorageCeiling = { ...hashed, count: keys.length, sequential };
process.stdout.write(JSON.stringify(result) + '\n');
