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
import type { BenchRow } from '../report.js';
import { buildDataset } from './dataset.js';
import { reference, syncFrom, type FreshResult, type ReferenceResult } from './runs.js';

/** Catch-up sizes fitted: small, the mixed-workload size of the targets, and large. */
export const COST_MODEL_SIZES = [5_000, 20_000, 80_000] as const;

export interface Line {
  /** The cost at zero chunks. */
  fixed: number;
  /** The cost of each further chunk. */
  perChunk: number;
}

/** The least-squares line through `points` (at least two distinct x). */
export function fitLine(points: readonly { x: number; y: number }[]): Line {
  const n = points.length;
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const { x, y } of points) {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  }
  if (variance === 0) throw new RangeError('a line needs points at two sizes at least');
  const perChunk = covariance / variance;
  return { fixed: meanY - perChunk * meanX, perChunk };
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

/** The line of one figure over the samples, in ms fixed and µs a chunk; undefined when a sample lacks it. */
function lineOf(samples: readonly Sample[], figure: (sample: Sample) => number | undefined, toMs: number): Line | undefined {
  const points: { x: number; y: number }[] = [];
  for (const sample of samples) {
    const value = figure(sample);
    if (value === undefined) return undefined;
    points.push({ x: sample.chunks, y: value * toMs });
  }
  const line = fitLine(points);
  return { fixed: line.fixed, perChunk: line.perChunk * 1000 };
}

/** Catch-ups from one peer into the chunk log (the default), `runs` at each size, each beside a reference run. */
export async function costModelRows(runs: number): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const own: Sample[] = [];
  const ref: Sample[] = [];
  const notes: string[] = [];
  for (const count of COST_MODEL_SIZES) {
    const dataset = await buildDataset(count, undefined);
    for (let run = 0; run < runs; run++) {
      ref.push(sampleOf(count, await reference(dataset)));
      const { fresh } = await syncFrom(dataset, 1, 'log');
      if (!fresh.done) notes.push(`cost model: a catch-up of ${count} chunks did not finish (${fresh.have}/${fresh.total}) and is left out`);
      else own.push(sampleOf(count, fresh));
    }
  }
  const sizes = COST_MODEL_SIZES.map((n) => n.toLocaleString('en')).join(', ');
  const label = `catch-ups of ${sizes} x corpus-like, 1 peer, chunk log (${runs} each), fitted to fixed + chunks x per chunk`;
  const referenceLabel = 'plain http stream + verify, client';
  if (new Set(own.map((s) => s.chunks)).size < 2) return { rows: [], notes: [...notes, 'cost model: fewer than two sizes finished, nothing fitted'] };
  const cpu = { own: lineOf(own, (s) => s.cpu, 1000)!, ref: lineOf(ref, (s) => s.cpu, 1000)! };
  const elapsed = { own: lineOf(own, (s) => s.elapsedMs, 1)!, ref: lineOf(ref, (s) => s.elapsedMs, 1)! };
  const rows: BenchRow[] = [
    { label: `${label}: CPU paid once`, value: cpu.own.fixed, unit: 'ms', reference: { label: referenceLabel, value: cpu.ref.fixed } },
    { label: `${label}: CPU a further chunk`, value: cpu.own.perChunk, unit: 'µs', reference: { label: referenceLabel, value: cpu.ref.perChunk } },
    { label: `${label}: time paid once`, value: elapsed.own.fixed, unit: 'ms', reference: { label: referenceLabel, value: elapsed.ref.fixed } },
    { label: `${label}: time a further chunk`, value: elapsed.own.perChunk, unit: 'µs', reference: { label: referenceLabel, value: elapsed.ref.perChunk } },
  ];
  const split = (samples: Sample[]) => {
    const main = lineOf(samples, (s) => s.main, 1000);
    const other = lineOf(samples, (s) => s.other, 1000);
    return main && other ? `main thread ${main.fixed.toFixed(0)} ms + ${main.perChunk.toFixed(2)} µs a chunk, other threads ${other.fixed.toFixed(0)} ms + ${other.perChunk.toFixed(2)} µs` : undefined;
  };
  const [ownSplit, refSplit] = [split(own), split(ref)];
  if (ownSplit && refSplit) notes.push(`${label}, CPU by thread: atlasnet ${ownSplit}; reference client ${refSplit} (other threads: V8's compiler and collector, libuv's file writes)`);
  return { rows, notes };
}
