/**
 * hash160 throughput per backend and per path, each figure beside the same run's per-item
 * node:crypto (the reference: what a JS caller gets from OpenSSL without this library's addon).
 *
 * A task hashes one workload of many chunks, so one sample is long enough to time well:
 * "per item" calls hash160 once per chunk, "batch" calls hash160Batch once for all of them,
 * "packed" calls hash160Packed once on the chunks already laid end to end (no per-item
 * marshalling; the cost of packing is not counted).
 */
import { createHash } from 'node:crypto';
import { Bench } from 'tinybench';
import { hashBackendInfo, hashBackends, type Hash160Impl } from '../src/hash/index.js';
import { seededRandom } from '../src/runtime.js';
import { corpus } from '../test/support/data.js';
import type { BenchOptions, BenchRow, BenchSuite } from './report.js';

interface Workload {
  /** e.g. "170 B" or "corpus". */
  name: string;
  chunks: Uint8Array[];
}

interface PathResult {
  hashesPerSecond: number;
  bytesPerSecond: number;
}

const REFERENCE = 'node:crypto per item';

function randomChunks(size: number, count: number, seed: number): Uint8Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const chunk = new Uint8Array(size);
    for (let i = 0; i < size; i++) chunk[i] = Math.floor(random() * 256);
    return chunk;
  });
}

function pack(chunks: readonly Uint8Array[]): { data: Uint8Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(chunks.length + 1);
  chunks.forEach((chunk, i) => (offsets[i + 1] = (offsets[i] as number) + chunk.length));
  return { data: new Uint8Array(Buffer.concat(chunks)), offsets };
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** A benchmark of a wrong result is worthless: every path must agree before it is timed. */
function checkAgreement(impls: Hash160Impl[], workload: Workload): void {
  const expected = workload.chunks.map((chunk) => hex(createHash('ripemd160').update(createHash('sha256').update(chunk).digest()).digest()));
  const { data, offsets } = pack(workload.chunks);
  for (const impl of impls) {
    const batch = impl.hash160Batch(workload.chunks).map(hex);
    const packed = hex(impl.hash160Packed(data, offsets));
    if (batch.join('') !== expected.join('') || packed !== expected.join('')) {
      throw new Error(`hash bench: ${impl.name} disagrees with node:crypto on ${workload.name}`);
    }
  }
}

/** Times every path on one workload; hashes/s and bytes/s per task name. */
async function measure(workload: Workload, impls: Record<string, Hash160Impl>, options: BenchOptions): Promise<Map<string, PathResult>> {
  const { chunks } = workload;
  const { data, offsets } = pack(chunks);
  const totalBytes = data.length;
  const perItem = (impl: Hash160Impl) => () => {
    for (let i = 0; i < chunks.length; i++) impl.hash160(chunks[i] as Uint8Array);
  };
  const tasks: [string, () => unknown][] = [[REFERENCE, perItem(impls.node!)]];
  if (workload.name === '170 B') {
    tasks.push([
      'node:crypto createHash per item',
      () => {
        for (let i = 0; i < chunks.length; i++) {
          createHash('ripemd160').update(createHash('sha256').update(chunks[i] as Uint8Array).digest()).digest();
        }
      },
    ]);
  }
  for (const [name, impl] of Object.entries(impls)) {
    if (name !== 'node') tasks.push([`${name} per item`, perItem(impl)]);
    tasks.push([`${name} batch`, () => impl.hash160Batch(chunks)]);
    if (name === 'native') tasks.push([`${name} packed`, () => impl.hash160Packed(data, offsets)]);
  }

  // Many short rounds, the task order rotated each round, each task's median round kept: on a
  // shared machine a burst of other work then lands on every task alike instead of on whichever
  // ran at the wrong moment.
  const rates = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
  const rounds = options.quick ? 9 : 15;
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({
      name: `hash ${workload.name}, round ${round + 1}`,
      time: options.quick ? 20 : 60,
      iterations: 3,
      warmup: round === 0,
      warmupTime: 30,
      throws: true,
    });
    for (let i = 0; i < tasks.length; i++) {
      const [name, fn] = tasks[(i + round) % tasks.length]!;
      bench.add(name, fn);
    }
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      if (result.state !== 'completed') throw new Error(`hash bench: task ${task.name} ended ${result.state}`);
      rates.get(task.name)!.push(1000 / result.period);
    }
  }
  const results = new Map<string, PathResult>();
  for (const [name, callRates] of rates) {
    const callsPerSecond = median(callRates);
    results.set(name, { hashesPerSecond: callsPerSecond * chunks.length, bytesPerSecond: callsPerSecond * totalBytes });
  }
  return results;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function rowsFor(workload: Workload, results: Map<string, PathResult>): BenchRow[] {
  const reference = results.get(REFERENCE)!;
  const mbs = (r: PathResult) => `${(r.bytesPerSecond / 1e6).toFixed(r.bytesPerSecond >= 1e8 ? 0 : 1)} MB/s`;
  const rows: BenchRow[] = [];
  for (const [name, result] of results) {
    const row: BenchRow = {
      label: `${name}, ${workload.name} [${mbs(result)}]`,
      value: result.hashesPerSecond,
      unit: 'hash/s',
      reference: { label: `${REFERENCE} [${mbs(reference)}]`, value: reference.hashesPerSecond },
    };
    if (name === 'native batch' && workload.name === '170 B') row.target = { min: 2.5, of: 'ratio' };
    if (name === 'native batch' && workload.name === '40 KiB') row.target = { min: 0.95, of: 'ratio' };
    rows.push(row);
  }
  return rows;
}

const suite: BenchSuite = async (options) => {
  const all = await hashBackends();
  const impls: Record<string, Hash160Impl> = {};
  for (const [name, impl] of Object.entries(all)) if (impl) impls[name] = impl;
  if (!impls.node) throw new Error('hash bench: node:crypto has no ripemd160 here; no reference to measure against');

  const workloads: Workload[] = [
    { name: '170 B', chunks: randomChunks(170, 1000, 1) },
    { name: '1 KiB', chunks: randomChunks(1024, 500, 2) },
    { name: '40 KiB', chunks: randomChunks(40 * 1024, 24, 3) },
  ];
  const notes: string[] = [];
  if (corpus) {
    workloads.push({ name: 'corpus', chunks: corpus.map((entry) => entry.data) });
  } else {
    notes.push('real corpus absent (../shared/data): corpus rows skipped');
  }

  const rows: BenchRow[] = [];
  for (const workload of workloads) {
    checkAgreement(Object.values(impls), workload);
    rows.push(...rowsFor(workload, await measure(workload, impls, options)));
  }

  const info = hashBackendInfo();
  notes.push(
    `backend in use: ${info.backend}; native addon: ${info.openssl === undefined ? `unavailable (${info.nativeUnavailable})` : `SHA-256 by ${info.openssl}, RIPEMD-160 ${info.ripemd160}`}; node ${process.version}, OpenSSL ${process.versions.openssl}`,
    `reference "${REFERENCE}" is the node backend: crypto.hash (one-shot) when node has it, else createHash; each figure is the median of ${options.quick ? 9 : 15} short interleaved rounds`,
    `workloads: 1,000 x 170 B, 500 x 1 KiB, 24 x 40 KiB${corpus ? `, ${corpus.length} real zone files` : ''}; [MB/s] = input bytes hashed per second`,
    'packed = hash160Packed on chunks already laid end to end (packing not counted); batch = hash160Batch on an array, results as 20-byte views',
  );
  if (!impls.native) notes.push('native addon not built: native rows absent (npm run build:native)');
  return { name: `hash160${options.quick ? ' (quick)' : ''}`, rows, notes };
};

export default suite;
