/**
 * Builds (once, cached under the OS temp folder) a sync benchmark dataset: an address file for
 * AddressFileChain and a store holding every chunk, which serving peers copy. The store keeps its
 * chunks as a node's does by default (DEFAULT_CHUNK_STORAGE), and says so in its folder's name:
 * serving from the chunk log (one read call a chunk) and from LMDB (memory-mapped) cost a serving
 * peer different CPU, so two runs compare only when their sources match.
 */
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { AddressFileChain } from './file-chain.js';
import { DEFAULT_CHUNK_STORAGE, LmdbChunkStore, STORE_FORMAT_VERSION, type ChunkStorage } from '../../src/store/lmdb.js';

export interface Dataset {
  dir: string;
  chainFile: string;
  sourceDir: string;
  count: number;
  bytes: number;
  /** Where the source store keeps its chunks. */
  storage: ChunkStorage;
}

export const SCRATCH = join(tmpdir(), 'atlasnet-bench-sync');

/** `size` fixed (e.g. 170) or undefined for the corpus-like distribution. */
export async function buildDataset(count: number, size: number | undefined, seed = 7, storage: ChunkStorage = DEFAULT_CHUNK_STORAGE): Promise<Dataset> {
  const dir = join(SCRATCH, `set-${count}-${size ?? 'mixed'}-${seed}-${storage}`);
  const chainFile = join(dir, 'addresses.bin');
  const sourceDir = join(dir, 'source');
  const marker = join(dir, 'complete.json');
  if (existsSync(marker)) {
    const { bytes, format } = (await import(marker, { with: { type: 'json' } })).default as { bytes: number; format?: number };
    // A source written in an older store format would be rewritten by every serving peer's open.
    if (format === STORE_FORMAT_VERSION) return { dir, chainFile, sourceDir, count, bytes, storage };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const random = seededRandom(seed);
  const store = await LmdbChunkStore.open({ path: sourceDir, noSync: true, chunkStorage: storage });
  const addresses = Buffer.alloc(count * 20);
  let bytes = 0;
  const batch = 50_000;
  for (let start = 0; start < count; start += batch) {
    const chunks = generateChunks(Math.min(batch, count - start), random, { prefix: `n${start}-`, ...(size ? { size } : {}) });
    chunks.forEach((c, i) => addresses.write(c.address, (start + i) * 20, 'hex'));
    await store.append(chunks.map((c, i) => ({ position: start + i, address: c.address })));
    await store.putVerified(chunks);
    for (const c of chunks) bytes += c.data.byteLength;
  }
  await store.close();
  writeFileSync(chainFile, addresses);
  writeFileSync(marker, JSON.stringify({ count, size, seed, bytes, format: STORE_FORMAT_VERSION }));
  return { dir, chainFile, sourceDir, count, bytes, storage };
}

/** A private copy of the source store for one serving peer. */
export function copySource(dataset: Dataset, name: string): string {
  const target = join(SCRATCH, 'run', name);
  rmSync(target, { recursive: true, force: true });
  mkdirSync(join(SCRATCH, 'run'), { recursive: true });
  cpSync(dataset.sourceDir, target, { recursive: true });
  return target;
}

/**
 * Every chunk of the store in `dataDir`, in the order `chainFile` announces them, each a Buffer of
 * its own: what the references and the other libraries serve, read before any clock starts.
 */
export async function chunksInSequence(dataDir: string, chainFile: string): Promise<Buffer[]> {
  const chain = new AddressFileChain(chainFile);
  const store = await LmdbChunkStore.open({ path: dataDir });
  try {
    const chunks: Buffer[] = [];
    for (let from = 0; from < chain.size; from += 50_000) {
      for (const { address } of await chain.read(from, 50_000)) chunks.push(Buffer.from(store.get(address) as Uint8Array));
    }
    return chunks;
  } finally {
    await store.close();
  }
}
