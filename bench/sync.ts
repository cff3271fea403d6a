/**
 * Sync benchmark: a fresh node catches up N chunks from 1 and from 8 serving peers over
 * HttpTransport on 127.0.0.1, every node in its own process. Reference, same run and dataset: the
 * same bytes streamed over one plain node:http connection and verified (transfer + verify). A full
 * run also catches up the mixed workload with Hypercore, the library a user would weigh instead
 * (sync/hypercore.ts). Catch-ups of the mixed workload at three sizes split its cost into a part
 * paid once and a part per chunk (sync/cost-model.ts).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { quantile } from '../src/sim/figures.js';
import type { BenchReport, BenchRow, BenchSuite } from './report.js';
import { buildDataset, SCRATCH, type Dataset } from './sync/dataset.js';
import { costModelRows } from './sync/cost-model.js';
import { hypercoreRows, hypercoreSync, installHypercore, type AtlasFigures } from './sync/hypercore.js';
import { runToEnd } from './sync/processes.js';
import { DURABLE_REFERENCE, LOG_REFERENCE, REFERENCE, REFERENCE_CLIENT, STORE_REFERENCE, reference, syncFrom, type FreshResult, type ReferenceResult, type Serving } from './sync/runs.js';
import type { StorageCeiling } from './sync/storage-ceiling.js';
import { startupRun } from './sync-startup.js';

const MB = 1_000_000;

/**
 * The fresh node's CPU a chunk split by thread, beside the reference client's: the main thread
 * (JavaScript and the event loop) and the others (V8's compiler and collector, libuv's file writes).
 */
function threadNote(result: FreshResult, ref: ReferenceResult, count: number): string {
  const { threads } = result;
  if (threads === undefined || ref.threads === undefined) return '';
  const us = (seconds: number, chunks: number) => `${((seconds * 1e6) / Math.max(1, chunks)).toFixed(2)} µs`;
  return `; CPU a chunk on the main thread ${us(threads.mainSeconds, result.have)}, on other threads (V8 compiler and GC, libuv file writes) ${us(threads.otherSeconds, result.have)}, against the reference client's ${us(ref.threads.mainSeconds, count)} and ${us(ref.threads.otherSeconds, count)}`;
}

/** When the fresh node held its first chunks: the part of a catch-up paid before anything arrives. */
function firstChunksNote(result: FreshResult): string {
  const first = result.firstChunks;
  if (first === undefined) return '';
  return `; first ${first.have.toLocaleString('en')} chunks held after ${first.ms.toFixed(0)} ms and ${first.cpuMs.toFixed(0)} ms of CPU (of ${result.elapsedMs.toFixed(0)} ms and ${(result.cpuSeconds * 1000).toFixed(0)} ms in all)`;
}

/** What a plan's rows are labelled with: "20,000 x corpus-like", "100,000 x 170 B". */
function workloadLabel(plan: { count: number; size: number | undefined }): string {
  return `${plan.count.toLocaleString('en')} x ${plan.size ? `${plan.size} B` : 'corpus-like'}`;
}

/** Targets of a catching-up node against the plain stream + verify reference of the same run. */
const TARGETS = { chunksPerSecondRatio: 0.7, cpuPerChunkRatio: 1.3 };

/** A catch-up's headline figures: what the rows below print and the comparison with Hypercore takes. */
function figuresOf(result: FreshResult, serving: Serving): AtlasFigures {
  return {
    chunksPerSecond: result.have / (result.elapsedMs / 1000),
    cpuUsPerChunk: (result.cpuSeconds * 1e6) / Math.max(1, result.have),
    peakRssBytes: result.peakRssBytes,
    serveCpuUsPerChunk: serving.silent.length === 0 ? (serving.cpuSeconds * 1e6) / Math.max(1, result.have) : undefined,
  };
}

function rows(label: string, dataset: Dataset, result: FreshResult, serving: Serving, ref: ReferenceResult, absoluteTarget?: number): BenchRow[] {
  const seconds = result.elapsedMs / 1000;
  const figures = figuresOf(result, serving);
  const { chunksPerSecond } = figures;
  const refChunksPerSecond = dataset.count / (ref.elapsedMs / 1000);
  const reference = REFERENCE;
  const out: BenchRow[] = [
    {
      label: `${label}: chunks/s`,
      value: chunksPerSecond,
      unit: 'chunks/s',
      reference: { label: reference, value: refChunksPerSecond },
      target: { min: TARGETS.chunksPerSecondRatio, of: 'ratio' },
      note: result.done ? undefined : `did not finish: ${result.have}/${result.total}`,
    },
    {
      label: `${label}: MB/s`,
      value: dataset.bytes / MB / seconds,
      unit: 'MB/s',
      reference: { label: reference, value: dataset.bytes / MB / (ref.elapsedMs / 1000) },
    },
    {
      label: `${label}: CPU per chunk (fresh node)`,
      value: figures.cpuUsPerChunk,
      unit: 'µs',
      reference: { label: REFERENCE_CLIENT, value: (ref.cpuSeconds * 1e6) / dataset.count },
      target: { max: TARGETS.cpuPerChunkRatio, of: 'ratio' },
    },
    { label: `${label}: peak RSS (fresh node)`, value: result.peakRssBytes / MB, unit: 'MB', reference: { label: REFERENCE_CLIENT, value: ref.peakRssBytes / MB } },
    { label: `${label}: wire bytes in / chunk bytes`, value: result.wireBytesIn / dataset.bytes, unit: 'x' },
    { label: `${label}: HTTP body bytes out (getChunks requests, mostly) / chunk bytes`, value: result.wireBytesOut / dataset.bytes, unit: 'x' },
  ];
  // Both sides share the machine's cores: on 2 cores, serving and catching up together bound chunks/s.
  if (figures.serveCpuUsPerChunk !== undefined) {
    out.push({
      label: `${label}: CPU per chunk (serving peers, from a source keeping chunks in ${dataset.storage === 'log' ? 'the chunk log' : 'LMDB'})`,
      value: figures.serveCpuUsPerChunk,
      unit: 'µs',
      ...(ref.serveCpuSeconds !== undefined
        ? { reference: { label: `${reference}, server (frames built before)`, value: (ref.serveCpuSeconds * 1e6) / dataset.count } }
        : { note: 'no reference: the reference server did not report the CPU it spent' }),
    });
  }
  if (absoluteTarget !== undefined) {
    out.push({
      label: `${label}: chunks/s (absolute target)`,
      value: chunksPerSecond,
      unit: 'chunks/s',
      target: { min: absoluteTarget, of: 'value' },
      note: 'serving peers with their per-host request budget lifted (at the default budget one peer serves a million-chunk catch-up at about 93,000 chunks/s)',
    });
  }
  return out;
}

/**
 * What durable storage alone costs: raw lmdb-js puts of the same chunks (no atlasnet code), CPU a
 * chunk beside the reference's. A ratio above the CPU target means the target cannot be met by
 * any code above LMDB; the sequential-key figure shows how much of it is the hash keys' scatter.
 * And the reference itself made durable (each verified batch appended to a file and synced, no
 * protocol, index or inventory): the least any durable catch-up costs, beside the reference. And
 * the reference putting what it verifies into atlasnet's chunk store: what the store's put path
 * costs with nothing of a node above it (no protocol, planner or request), so that the fresh
 * node's figures split into the store's part and the rest; and, below the store, the reference
 * appending to atlasnet's chunk log with an inventory (the storage primitives alone).
 */
function storageFloorRows(
  plan: { count: number; size: number | undefined },
  dataset: Dataset,
  ref: ReferenceResult,
  ceiling: StorageCeiling,
  kept: { durable: ReferenceResult; log: ReferenceResult; store: ReferenceResult },
): BenchRow[] {
  const label = workloadLabel(plan);
  const refCpu = { label: REFERENCE_CLIENT, value: (ref.cpuSeconds * 1e6) / dataset.count };
  return [
    { label: `${label}: CPU per chunk of raw lmdb durable puts alone (hash keys)`, value: (ceiling.cpuMs * 1000) / ceiling.count, unit: 'µs', reference: refCpu },
    { label: `${label}: CPU per chunk of raw lmdb durable puts alone (sequential keys)`, value: (ceiling.sequential.cpuMs * 1000) / ceiling.count, unit: 'µs', reference: refCpu },
    ...([
      [DURABLE_REFERENCE, kept.durable],
      [LOG_REFERENCE, kept.log],
      [STORE_REFERENCE, kept.store],
    ] as const).flatMap(([name, run]) => [
      { label: `${label}: CPU per chunk of the ${name} (client)`, value: (run.cpuSeconds * 1e6) / dataset.count, unit: 'µs', reference: refCpu },
      { label: `${label}: chunks/s of the ${name}`, value: dataset.count / (run.elapsedMs / 1000), unit: 'chunks/s', reference: { label: REFERENCE, value: dataset.count / (ref.elapsedMs / 1000) } },
    ]),
  ];
}

/** The fresh node's resident memory once synced, anonymous and file-backed (Linux only). */
function residentNote(result: FreshResult): string {
  const { rssAnonBytes: anon, rssFileBytes: file, rssFileBeforeOpenBytes: before } = result;
  if (![anon, file, before].every((value) => typeof value === 'number' && Number.isFinite(value))) return '';
  const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
  return `; RSS once synced ${mb(anon! + file!)}: ${mb(anon!)} anonymous, ${mb(file!)} file-backed, ${mb(file! - before!)} of it mapped since the node opened (mostly LMDB's pages, which the kernel reclaims)`;
}

/** Start-up convergence of 5 nodes on 127.0.0.1 (bench/sync-startup.ts), p50 and p99 over every chunk of every run. */
async function startupRows(runs: number): Promise<{ rows: BenchRow[]; note: string }> {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) times.push(...(await startupRun({ nodes: 5, seed: run + 1 })).timesMs);
  times.sort((a, b) => a - b);
  const label = `5 nodes started back to back, chunks put in the first seconds (${runs} runs, ${times.length} chunks): time until every node holds a chunk`;
  return {
    rows: [
      { label: `${label}, p50`, value: quantile(times, 0.5), unit: 'ms' },
      { label: `${label}, p99`, value: quantile(times, 0.99), unit: 'ms', target: { max: 1_000, of: 'value' } },
    ],
    note: `start-up convergence: max ${Math.max(...times).toFixed(0)} ms; default timers (inventory refresh every 15 s), so anything near 15 s means a chunk waited for a refresh`,
  };
}

async function compareWithHypercore(report: BenchReport, dataset: Dataset, own: AtlasFigures): Promise<void> {
  const installed = await installHypercore();
  if ('skipped' in installed) {
    report.notes!.push(`comparison with Hypercore skipped: ${installed.skipped}`);
    return;
  }
  const label = `${dataset.count.toLocaleString('en')} x corpus-like, 1 peer`;
  try {
    report.rows.push(...hypercoreRows(label, dataset, installed.version, await hypercoreSync(dataset, installed.dir), own));
  } catch (error) {
    // Another library's failure is reported, and the rest of the benchmark runs.
    report.notes!.push(`comparison with Hypercore ${installed.version} failed: ${(error as Error).message}`);
    return;
  }
  report.notes!.push(
    `${label}, against Hypercore ${installed.version}: each side in its own process, over TCP on 127.0.0.1 (Hypercore's replication stream is encrypted, Noise; atlasnet's HTTP is not); Hypercore checks every block against its writer's signed tree and keeps it in its own storage (RocksDB, written as Hypercore decides; atlasnet acknowledges a chunk once it is on disk); Helia with bitswap is not run (its current version needs Node 22 or later)`,
  );
}

const suite: BenchSuite = async ({ quick }) => {
  const report: BenchReport = { name: 'sync: a fresh node catches up over HttpTransport on 127.0.0.1', rows: [], notes: [] };
  const startup = await startupRows(quick ? 5 : 20);
  report.rows.push(...startup.rows);
  report.notes!.push(startup.note);
  // The mixed workload (80 B to 40 KiB, like real zone files and larger) and many small chunks;
  // the full run adds the 1,000,000 x 170 B catch-up whose target is 100,000 chunks/s.
  const plans: { count: number; size: number | undefined; peers: number[]; target?: number }[] = quick
    ? [
        { count: 20_000, size: undefined, peers: [1] },
        { count: 100_000, size: 170, peers: [1], target: 100_000 },
      ]
    : [
        { count: 20_000, size: undefined, peers: [1, 8] },
        { count: 100_000, size: 170, peers: [1], target: 100_000 },
        { count: 1_000_000, size: 170, peers: [1], target: 100_000 },
        { count: 1_000_000, size: undefined, peers: [1] },
      ];
  for (const plan of plans) {
    const dataset = await buildDataset(plan.count, plan.size);
    const ref = await reference(dataset);
    const durable = await reference(dataset, { client: 'durable' });
    const log = await reference(dataset, { client: 'log' });
    const store = await reference(dataset, { client: 'store' });
    const ceiling = await runToEnd<StorageCeiling>('storage-ceiling.ts', [dataset.sourceDir, dataset.chainFile], 600_000);
    report.rows.push(...storageFloorRows(plan, dataset, ref, ceiling, { durable, log, store }));
    for (const [name, run] of [
      [LOG_REFERENCE, log],
      [STORE_REFERENCE, store],
    ] as const) {
      if (run.threads === undefined) continue;
      const us = (seconds: number) => `${((seconds * 1e6) / dataset.count).toFixed(2)} µs`;
      report.notes!.push(`${workloadLabel(plan)}: the ${name}: CPU a chunk on the main thread ${us(run.threads.mainSeconds)}, on other threads ${us(run.threads.otherSeconds)}`);
    }
    // From one peer, both chunk layouts of the fresh node: chunks in LMDB, and the append-only chunk log (the default).
    const runs = plan.peers.flatMap((peers) => (peers === 1 ? (['lmdb', 'log'] as const) : (['lmdb'] as const)).map((storage) => ({ peers, storage })));
    let ownFigures: AtlasFigures | undefined;
    for (const { peers, storage } of runs) {
      const { fresh: result, serving } = await syncFrom(dataset, peers, storage);
      const label = `${workloadLabel(plan)}, ${peers} peer${peers > 1 ? 's' : ''}${storage === 'log' ? ', chunk log' : ''}`;
      if (peers === 1 && storage === 'log') ownFigures = figuresOf(result, serving);
      report.rows.push(...rows(label, dataset, result, serving, ref, peers === 1 ? plan.target : undefined));
      if (serving.silent.length > 0) report.notes!.push(`${label}: no serving CPU figure: ${serving.silent.join(', ')} did not report what it spent`);
      report.rows.push({
        label: `${label}: chunks/s vs storage ceiling`,
        value: result.have / (result.elapsedMs / 1000),
        unit: 'chunks/s',
        reference: { label: 'raw lmdb durable puts, same chunks', value: ceiling.count / (ceiling.elapsedMs / 1000) },
      });
      report.notes!.push(`${label}: open (chain catch-up) ${(result.openMs / 1000).toFixed(2)} s, ${result.requests} getChunks requests, ${result.duplicates} duplicate chunks${firstChunksNote(result)}${residentNote(result)}${threadNote(result, ref, dataset.count)}`);
    }
    // The same catch-up from a peer that has served one before: what a long-running peer costs and
    // lets through, where the runs above start each peer for the run (V8 compiles its serving path
    // while it serves, on the same two cores).
    if (plan.size === undefined && plan.count === 20_000 && process.platform !== 'win32') {
      const { fresh: result, serving } = await syncFrom(dataset, 1, 'log', { warm: true });
      const label = `${workloadLabel(plan)}, 1 peer, chunk log, from a warm peer`;
      report.rows.push(...rows(label, dataset, result, serving, ref));
      report.notes!.push(`${label}: the serving peer first served the same catch-up to another fresh node (not measured), and counts its serving CPU from after it${threadNote(result, ref, dataset.count)}`);
    }
    // The library a user would pick instead, on the mixed workload (full runs: it is installed from the network).
    if (!quick && plan.size === undefined && plan.count === 20_000 && ownFigures !== undefined) await compareWithHypercore(report, dataset, ownFigures);
  }
  // The mixed workload at 5,000, 20,000 and 80,000 chunks: what a catch-up pays once and what each chunk adds.
  const model = await costModelRows(quick ? 1 : 3);
  report.rows.push(...model.rows);
  report.notes!.push(...model.notes);
  rmSync(join(SCRATCH, 'run'), { recursive: true, force: true });
  return report;
};

export default suite;
