/**
 * What a catch-up costs, split into a part paid once and a part paid per chunk: catch-ups of the
 * mixed workload at several sizes, atlasnet's and the reference's in the same run, each fitted by
 * least squares to `cost = fixed + chunks × per chunk`.
 *
 * Why: one size mixes the two. A catch-up of 20,000 chunks lasts a fraction of a second, much of
 * it spent before the code is fast (V8 interpreting, then compiling, what runs); a long catch-up
 * is the work per chunk. The two call for different remedies, and their ratios to the
 * reference's say which one a figure at one size is about.
 */
import { fitLine } from '../fit.js';
import type { BenchRow } from '../report.js';
import { buildDataset } from './dataset.js';
import { REFERENCE_CLIENT, reference, syncFrom, type FreshResult, type ReferenceResult } from './runs.js';

/** Catch-up sizes fitted: small, the mixed-workload size of the targets, and large. */
const COST_MODEL_SIZES = [5_000, 20_000, 80_000] as const;
/** Below this R², a fit is said to be poor beside its rows. */
const POOR_FIT_R2 = 0.9;

/** A cost fitted to `fixedMs + chunks × perChunkUs / 1000`. */
export interface CostLine {
  fixedMs: number;
  perChunkUs: number;
  r2: number;
}

interface Sample {
  chunks: number;
  /** CPU seconds: the whole process, its main thread and its other threads (when /proc is there). */
  cpu: number;
  main?: number;
  other?: number;
  elapsedMs: number;
}

function sampleOf(chunks: number, result: FreshResult | ReferenceResult): Sample {
  return { chunks, cpu: result.cpuSeconds, main: result.threads?.mainSeconds, other: result.threads?.otherSeconds, elapsedMs: result.elapsedMs };
}

/** The cost line of one figure over the samples, `toMs` converting it to ms; undefined when a sample lacks the figure. */
function costLine(samples: readonly Sample[], figure: (sample: Sample) => number | undefined, toMs: number): CostLine | undefined {
  const ys: number[] = [];
  for (const sample of samples) {
    const value = figure(sample);
    if (value === undefined) return undefined;
    ys.push(value * toMs);
  }
  const line = fitLine(
    samples.map((s) => s.chunks),
    ys,
  );
  return { fixedMs: line.intercept, perChunkUs: line.slope * 1000, r2: line.r2 };
}

/** What the fitted samples were: "5,000 (3), 20,000 (3), 80,000 (2)". */
function sizesOf(samples: readonly Sample[]): string {
  const counts = new Map<number, number>();
  for (const { chunks } of samples) counts.set(chunks, (counts.get(chunks) ?? 0) + 1);
  return [...counts].map(([chunks, runs]) => `${chunks.toLocaleString('en')} (${runs})`).join(', ');
}

/** Catch-ups from one peer into the chunk log (the default), `runs` at each size, each beside a reference run. */
export async function costModelRows(runs: number): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const own: Sample[] = [];
  const ref: Sample[] = [];
  const notes: string[] = [];
  for (const count of COST_MODEL_SIZES) {
    const dataset = await buildDataset(count, undefined);
    for (let run = 0; run < runs; run++) {
      const referenceRun = await reference(dataset);
      const { fresh } = await syncFrom(dataset, 1, 'log');
      // A pair is fitted whole or not at all: both sides then rest on the same sizes and runs.
      if (!fresh.done) {
        notes.push(`cost model: a catch-up of ${count} chunks did not finish (${fresh.have}/${fresh.total}); it and its reference run are left out`);
        continue;
      }
      ref.push(sampleOf(count, referenceRun));
      own.push(sampleOf(count, fresh));
    }
  }
  if (new Set(own.map((s) => s.chunks)).size < 2) return { rows: [], notes: [...notes, 'cost model: fewer than two sizes finished, nothing fitted'] };
  const label = `catch-ups of ${sizesOf(own)} x corpus-like (runs), 1 peer, chunk log, fitted to fixed + chunks x per chunk`;
  const cpu = { own: costLine(own, (s) => s.cpu, 1000)!, ref: costLine(ref, (s) => s.cpu, 1000)! };
  const time = { own: costLine(own, (s) => s.elapsedMs, 1)!, ref: costLine(ref, (s) => s.elapsedMs, 1)! };
  const rows: BenchRow[] = [
    { label: `${label}: CPU paid once`, value: cpu.own.fixedMs, unit: 'ms', reference: { label: REFERENCE_CLIENT, value: cpu.ref.fixedMs } },
    { label: `${label}: CPU a further chunk`, value: cpu.own.perChunkUs, unit: 'µs', reference: { label: REFERENCE_CLIENT, value: cpu.ref.perChunkUs } },
    { label: `${label}: time paid once`, value: time.own.fixedMs, unit: 'ms', reference: { label: REFERENCE_CLIENT, value: time.ref.fixedMs } },
    { label: `${label}: time a further chunk`, value: time.own.perChunkUs, unit: 'µs', reference: { label: REFERENCE_CLIENT, value: time.ref.perChunkUs } },
  ];
  const lines = { 'atlasnet CPU': cpu.own, 'reference CPU': cpu.ref, 'atlasnet time': time.own, 'reference time': time.ref };
  const doubtful = Object.entries(lines).filter(([, line]) => line.r2 < POOR_FIT_R2 || line.fixedMs < 0 || line.perChunkUs < 0);
  notes.push(
    `${label}: R² ${Object.entries(lines)
      .map(([name, line]) => `${name} ${line.r2.toFixed(3)}`)
      .join(', ')}` +
      (doubtful.length > 0 ? `; a poor fit (R² below ${POOR_FIT_R2}, or a part below 0) for ${doubtful.map(([name]) => name).join(', ')}: the machine's load moved the runs more than their sizes did` : ''),
  );
  const split = (samples: Sample[]) => {
    const main = costLine(samples, (s) => s.main, 1000);
    const other = costLine(samples, (s) => s.other, 1000);
    return main && other ? `main thread ${main.fixedMs.toFixed(0)} ms + ${main.perChunkUs.toFixed(2)} µs a chunk, other threads ${other.fixedMs.toFixed(0)} ms + ${other.perChunkUs.toFixed(2)} µs` : undefined;
  };
  const [ownSplit, refSplit] = [split(own), split(ref)];
  if (ownSplit && refSplit) notes.push(`${label}, CPU by thread: atlasnet ${ownSplit}; reference client ${refSplit} (other threads: V8's compiler and collector, libuv's file writes)`);
  return { rows, notes };
}
