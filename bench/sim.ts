/**
 * The simulator at scale (`npm run bench:sim`): how long a new chunk takes to reach every node of
 * a settled network of 100, 1,000 and 10,000 nodes (target: grows like log N; the fitted slope
 * against log2 N is reported), redundancy (target <= 1.1: chunk bytes received / useful chunk
 * bytes), a many-chunks run where chunks are announced in blocks and put at random nodes over
 * time, and a node joining a settled network (its catch-up beside the same run with requests of
 * 500 only). Each run is a deterministic simulation (virtual time, seed 1) in its own process, so
 * its peak memory is its own.
 */
import { fitLine } from './fit.js';
import { runJsonChild } from './child.js';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SimulationFigures } from '../src/sim/figures.js';
import type { SimNodeTuning } from '../src/sim/simulation.js';
import type { BenchRow, BenchSuite } from './report.js';

interface WorkerResult {
  converged: boolean;
  ok: boolean;
  errors: number;
  figures: SimulationFigures;
  facts: Record<string, number | boolean | string>;
  wallMs: number;
}

interface WorkerRequest {
  scenario: string;
  seed: number;
  nodes: number;
  chunks: number;
  tuning?: SimNodeTuning;
}

/** What bench/sim/idle.mjs prints. */
interface IdleResult {
  virtualMs: number;
  wallMs: number;
  /** CPU time (user + system) of the process over the same stretch: less noisy than wall time on a shared machine. */
  cpuMs: number;
  timers: number;
  messages: number;
}

/** Peer tables capped so that 10,000 nodes fit in one process (default 1,000 peers each). */
const TUNING: SimNodeTuning = { maxPeers: 200, maxPendingPeers: 200 };
const REDUNDANCY_TARGET = 1.1;
/** Time for a new chunk to reach every node, p99, at 1,000 nodes and more. */
const TIME_TO_ALL_P99_TARGET_S = 3;
const OFFERS_PER_CHUNK_TARGET = 5;
/** An idle 100-node network with default timers, in virtual time over wall time. */
const IDLE_SPEED_TARGET = 500;
/** Runs of the idle network, in processes of their own; the figure is their median. */
const IDLE_RUNS = 3;

function runWorker(request: WorkerRequest, heapMb: number): Promise<WorkerResult> {
  return runJsonChild<WorkerResult>(join(import.meta.dirname, 'sim', 'worker.ts'), [JSON.stringify(request)], {
    label: `sim worker (${request.scenario}, ${request.nodes} nodes)`,
    nodeArgs: [`--max-old-space-size=${heapMb}`, '--max-semi-space-size=64'],
  });
}

/** Newest modification time of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Whether dist/ holds a simulator at least as new as every source file (`npm install` builds it).
 * By modification time only: a dist/ built later from other sources would pass.
 */
function buildIsCurrent(): boolean {
  const root = join(import.meta.dirname, '..');
  try {
    return statSync(join(root, 'dist', 'sim', 'simulation.js')).mtimeMs >= newestSource(join(root, 'src'));
  } catch {
    return false;
  }
}

const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const suite: BenchSuite = async ({ quick }) => {
  const sizes = quick ? [50, 100, 200] : [100, 1_000, 10_000];
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const p50s: number[] = [];

  for (const nodes of sizes) {
    const chunks = quick ? 8 : nodes >= 10_000 ? 10 : 20;
    process.stderr.write(`sim bench: spread over ${nodes} nodes, ${chunks} chunks\n`);
    const result = await runWorker({ scenario: 'spread', seed: 1, nodes, chunks, tuning: TUNING }, nodes >= 10_000 ? 16_000 : 6_000);
    const f = result.figures;
    p50s.push(f.timeToAll.p50 / 1000);
    const verdict = result.converged && result.ok && result.errors === 0 ? 'strict criterion held' : 'STRICT CRITERION FAILED';
    rows.push({
      label: `spread, ${nodes} nodes: time for a new chunk to reach all, p50`,
      value: f.timeToAll.p50 / 1000,
      unit: 's',
      note: `p90 ${seconds(f.timeToAll.p90)}, max ${seconds(f.timeToAll.max)} over ${f.timeToAll.chunks} chunks; ${verdict}`,
    });
    rows.push({
      label: `spread, ${nodes} nodes: time for a new chunk to reach all, p99`,
      value: f.timeToAll.p99 / 1000,
      unit: 's',
      ...(nodes >= 1_000 ? { target: { max: TIME_TO_ALL_P99_TARGET_S, of: 'value' as const } } : {}),
      note: `${f.timeToAll.chunks} chunks`,
    });
    rows.push({
      label: `spread, ${nodes} nodes: offers per delivered chunk`,
      value: f.offers / Math.max(1, f.deliveredChunks),
      unit: 'offers',
      target: { max: OFFERS_PER_CHUNK_TARGET, of: 'value' },
      note: `${f.offers} offer calls for ${f.deliveredChunks} chunks stored from peers`,
    });
    rows.push({
      label: `spread, ${nodes} nodes: redundancy`,
      value: f.redundancy,
      unit: 'x',
      target: { max: REDUNDANCY_TARGET, of: 'value' },
      note: `${f.duplicateChunks} duplicate chunks; audits ${mib(f.otherChunkBytes)} besides`,
    });
    rows.push({
      label: `spread, ${nodes} nodes: messages per node per simulated second`,
      value: f.totalTraffic.messages / nodes / (f.virtualMs / 1000),
      unit: 'msg/s',
      note: `${f.totalTraffic.messages} messages, ${mib(f.totalTraffic.bytes)} over ${seconds(f.virtualMs)} simulated`,
    });
    rows.push({
      label: `spread, ${nodes} nodes: simulator speed`,
      value: f.virtualMs / f.wallMs,
      unit: 'x real time',
      note: `${f.events} timers in ${seconds(f.wallMs)} wall; peak heap ${mib(f.peakHeapBytes)}, rss ${mib(f.peakRssBytes)}`,
    });
  }

  const log = fitLine(sizes.map((n) => Math.log2(n)), p50s);
  const linear = fitLine(sizes, p50s);
  notes.push(
    `time to reach all, p50 by size: ${sizes.map((n, i) => `${n} nodes ${(p50s[i] as number).toFixed(2)} s`).join(', ')}; fit a + b·log2 N: b = ${log.slope.toFixed(3)} s per doubling, R² ${log.r2.toFixed(3)} (a + b·N: R² ${linear.r2.toFixed(3)})`,
  );
  rows.push({
    label: 'time to reach all (p50) against log2 N: fitted slope',
    value: log.slope,
    unit: 's per doubling',
    note: `R² ${log.r2.toFixed(3)} for a + b·log2 N; R² ${linear.r2.toFixed(3)} for a + b·N`,
  });

  const idleNodes = 100;
  // Long enough that the compiler has warmed up over most of it (the figure is the steady
  // speed), and still under a second of wall time: the same in quick mode.
  const idleVirtualMs = 600_000;
  process.stderr.write(`sim bench: idle ${idleNodes}-node network, ${idleVirtualMs / 1000} s virtual\n`);
  const compiled = buildIsCurrent();
  // Each run in a process of its own; the median of IDLE_RUNS, since this figure is the one most
  // swayed by what else the machine runs (the same command has given 390x and 730x minutes apart).
  const runs: IdleResult[] = [];
  for (let run = 0; run < IDLE_RUNS; run++) {
    runs.push(
      await runJsonChild<IdleResult>(join(import.meta.dirname, 'sim', 'idle.mjs'), [JSON.stringify({ source: compiled ? 'dist' : 'src', seed: 1, nodes: idleNodes, virtualMs: idleVirtualMs })], {
        label: 'sim idle speed',
        plainJs: compiled,
      }),
    );
  }
  const speeds = runs.map((r) => r.virtualMs / r.wallMs).sort((a, b) => a - b);
  const idle = runs.find((r) => r.virtualMs / r.wallMs === speeds[Math.floor(speeds.length / 2)]) as IdleResult;
  rows.push({
    label: `idle ${idleNodes}-node network, default timers: simulator speed (median of ${IDLE_RUNS} runs)`,
    value: idle.virtualMs / idle.wallMs,
    unit: 'x real time',
    target: { min: IDLE_SPEED_TARGET, of: 'value' },
    note: `${compiled ? 'compiled simulator (dist/), plain node' : 'TypeScript sources through tsx (dist/ missing or older than src/: `npm run build` for the compiled figure)'}; runs ${speeds.map((x) => x.toFixed(0)).join(' / ')}x; the median run: ${idle.timers} timers and ${idle.messages} messages in ${seconds(idle.wallMs)} wall (${seconds(idle.cpuMs)} CPU, ${(idle.virtualMs / idle.cpuMs).toFixed(0)}x on CPU time) for ${seconds(idle.virtualMs)} virtual`,
  });

  const scale = quick ? { nodes: 40, chunks: 200 } : { nodes: 200, chunks: 1_000 };
  process.stderr.write(`sim bench: scale, ${scale.nodes} nodes, ${scale.chunks} chunks\n`);
  const big = await runWorker({ scenario: 'scale', seed: 1, ...scale }, 6_000);
  const bf = big.figures;
  rows.push({
    label: `scale, ${scale.nodes} nodes x ${scale.chunks} chunks put over time: converged after the last put`,
    value: Number(big.facts.convergedAfterLastPutMs ?? NaN) / 1000,
    unit: 's',
    note: `${big.converged && big.ok && big.errors === 0 ? 'strict criterion held' : 'STRICT CRITERION FAILED'}; time to all p50 ${seconds(bf.timeToAll.p50)}, p90 ${seconds(bf.timeToAll.p90)}`,
  });
  rows.push({
    label: `scale, ${scale.nodes} nodes x ${scale.chunks} chunks: redundancy`,
    value: bf.redundancy,
    unit: 'x',
    target: { max: REDUNDANCY_TARGET, of: 'value' },
    note: `${bf.totalTraffic.messages} messages (offers ${bf.traffic.offer?.messages ?? 0}), ${mib(bf.totalTraffic.bytes)}; ${seconds(bf.wallMs)} wall, peak heap ${mib(bf.peakHeapBytes)}`,
  });

  // A node joining a settled network over the default latency model: the catch-up is bounded by
  // requests in flight per round trip, so it is measured beside the same run with requests of 500 only.
  const joiner = { nodes: 20, chunks: quick ? 3_000 : 10_000 };
  process.stderr.write(`sim bench: late joiner, ${joiner.nodes} nodes, ${joiner.chunks} chunks\n`);
  const wide = await runWorker({ scenario: 'late-joiner', seed: 1, ...joiner }, 2_000);
  const narrow = await runWorker({ scenario: 'late-joiner', seed: 1, ...joiner, tuning: { downloads: { wideBatchSize: 500 } } }, 2_000);
  rows.push({
    label: `late joiner, ${joiner.nodes} nodes, ${joiner.chunks.toLocaleString('en-US')} chunks: catch-up time`,
    value: Number(wide.facts.catchUpMs) / 1000,
    unit: 's',
    reference: { label: 'the same, requests of 500 only: downloads.wideBatchSize 500', value: Number(narrow.facts.catchUpMs) / 1000 },
    note: `${wide.facts.joinerRequests} requests against ${narrow.facts.joinerRequests}; ${wide.converged && wide.ok && narrow.converged && narrow.ok ? 'strict criterion held' : 'STRICT CRITERION FAILED'}`,
  });

  notes.push(
    'spread: a settled network (30 s of virtual time after every node joined from 3 well-known seeds), then one new chunk put at a random node every 5 s; time to reach all = from its put until every node holds it.',
    `peer tables capped at ${TUNING.maxPeers} peers / ${TUNING.maxPendingPeers} candidates per node (default 1,000 / 800) so that 10,000 nodes fit in one process; every other setting is the node's default (latency 20-80 ms one way).`,
    'redundancy = chunk bytes received by downloads and pushes / chunk bytes stored from peers; audit traffic (one chunk per neighbour per minute) is shown apart.',
    'the full-size scale scenario (1,000 nodes x 10,000 chunks) is not run: its cost grows with nodes x chunks x offer fan-out, about 50x the 200 x 1,000 run here.',
  );
  return { name: 'sim', rows, notes };
};

export default suite;
