/**
 * What one run measured: convergence time, traffic by kind of message, redundancy, time for a
 * chunk to reach every node, memory, and the trace digest. Everything but wall time and memory is
 * a pure function of the scenario and its seed.
 */
import type { Simulation } from './simulation.js';

/** Messages and bytes sent, of one kind or in total. */
export interface TrafficFigures {
  /** Messages sent (requests and replies). */
  messages: number;
  /** Encoded bytes sent. */
  bytes: number;
}

/** What one run measured (`ScenarioResult.figures`). */
export interface SimulationFigures {
  seed: number;
  honestNodes: number;
  byzantineNodes: number;
  /** Positions in the chain's sequence at the end. */
  sequenceLength: number;
  /** Virtual ms at which every honest node first held every position; undefined if never. */
  convergedAtMs: number | undefined;
  /** Virtual ms at the end of the run. */
  virtualMs: number;
  /** Timers fired by the virtual clock. */
  events: number;
  wallMs: number;
  /** By protocol method, summed over every node. */
  traffic: Record<string, TrafficFigures>;
  totalTraffic: TrafficFigures;
  /** Chunk payload bytes honest nodes received to replicate (downloaded and pushed). */
  chunkBytesReceived: number;
  /** Chunk bytes fetched for other reasons: audits of neighbours' claims, malformed replies. */
  otherChunkBytes: number;
  /** Chunk bytes honest nodes stored from peers, each chunk once per node. */
  usefulChunkBytes: number;
  /** chunkBytesReceived / usefulChunkBytes (1 is perfect). */
  redundancy: number;
  duplicateChunks: number;
  rejectedChunks: number;
  /** Virtual ms from a chunk's first put until every honest node held it. */
  timeToAll: { chunks: number; p50: number; p90: number; p99: number; max: number };
  /** Offer calls the honest nodes made (running nodes' counters). */
  offers: number;
  /** Chunks honest nodes stored from peers, each chunk once per node. */
  deliveredChunks: number;
  /** getChunks requests of the honest nodes' downloaders that failed (refused BUSY, timed out, unreachable) or were hedged. */
  failedRequests: number;
  hedgedRequests: number;
  peakHeapBytes: number;
  peakRssBytes: number;
  traceEvents: number;
  traceDigest: string;
}

export function collectFigures(sim: Simulation): SimulationFigures {
  const traffic: Record<string, TrafficFigures> = {};
  const total: TrafficFigures = { messages: 0, bytes: 0 };
  for (const member of sim.all()) {
    for (const [method, stats] of Object.entries(sim.network.stats(member.name).byMethod)) {
      const entry = (traffic[method] ??= { messages: 0, bytes: 0 });
      entry.messages += stats.messagesOut;
      entry.bytes += stats.bytesOut;
      total.messages += stats.messagesOut;
      total.bytes += stats.bytesOut;
    }
  }
  const sorted: Record<string, TrafficFigures> = {};
  for (const method of Object.keys(traffic).sort()) sorted[method] = traffic[method] as TrafficFigures;
  const chunkTraffic = sim.chunkTraffic();
  const times = sim.replication.timesToAll();
  const memory = sim.memoryPeak();
  return {
    seed: sim.seed,
    honestNodes: sim.honest().length,
    byzantineNodes: sim.byzantine().length,
    sequenceLength: sim.chain.size,
    convergedAtMs: sim.convergedAt,
    virtualMs: sim.clock.now(),
    events: sim.clock.fired,
    wallMs: sim.wallMs(),
    traffic: sorted,
    totalTraffic: total,
    chunkBytesReceived: chunkTraffic.received,
    otherChunkBytes: chunkTraffic.other,
    usefulChunkBytes: chunkTraffic.useful,
    redundancy: chunkTraffic.useful === 0 ? (chunkTraffic.received === 0 ? 1 : Infinity) : chunkTraffic.received / chunkTraffic.useful,
    duplicateChunks: chunkTraffic.duplicates,
    rejectedChunks: chunkTraffic.rejected,
    timeToAll: { chunks: times.length, p50: quantile(times, 0.5), p90: quantile(times, 0.9), p99: quantile(times, 0.99), max: times[times.length - 1] ?? 0 },
    offers: sim.honest().reduce((sum, member) => sum + (member.node?.stats().pushes.offersSent ?? 0), 0),
    deliveredChunks: sim.replication.usefulChunks,
    failedRequests: sumDownloads(sim, 'failedRequests'),
    hedgedRequests: sumDownloads(sim, 'hedgedRequests'),
    peakHeapBytes: memory.heapBytes,
    peakRssBytes: memory.rssBytes,
    traceEvents: sim.trace.count,
    traceDigest: sim.trace.digest(),
  };
}

function sumDownloads(sim: Simulation, counter: 'failedRequests' | 'hedgedRequests'): number {
  return sim.honest().reduce((sum, member) => sum + (member.node?.stats().downloads[counter] ?? 0), 0);
}

/** The q-quantile of ascending `sorted` (nearest rank); 0 when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index] as number;
}

/** A plain-text summary table of the figures. */
export function formatFigures(name: string, figures: SimulationFigures): string {
  const ms = (value: number | undefined) => (value === undefined ? 'never' : `${(value / 1000).toFixed(2)} s`);
  const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
  const rows: [string, string][] = [
    ['scenario', name],
    ['seed', String(figures.seed)],
    ['nodes (honest + byzantine)', `${figures.honestNodes} + ${figures.byzantineNodes}`],
    ['sequence length', String(figures.sequenceLength)],
    ['converged at (virtual)', ms(figures.convergedAtMs)],
    ['virtual time simulated', ms(figures.virtualMs)],
    ['time to reach all, p50 / p90 / p99 / max', `${ms(figures.timeToAll.p50)} / ${ms(figures.timeToAll.p90)} / ${ms(figures.timeToAll.p99)} / ${ms(figures.timeToAll.max)} (${figures.timeToAll.chunks} chunks)`],
    ['offers per chunk delivered', `${(figures.offers / Math.max(1, figures.deliveredChunks)).toFixed(2)} (${figures.offers} / ${figures.deliveredChunks})`],
    ['redundancy (received / useful chunk bytes)', `${figures.redundancy.toFixed(3)} (${mb(figures.chunkBytesReceived)} / ${mb(figures.usefulChunkBytes)})`],
    ['duplicate / rejected chunks', `${figures.duplicateChunks} / ${figures.rejectedChunks}`],
    ['failed / hedged chunk requests', `${figures.failedRequests} / ${figures.hedgedRequests}`],
    ['audit and refused chunk bytes', mb(figures.otherChunkBytes)],
    ['messages / bytes sent', `${figures.totalTraffic.messages} / ${mb(figures.totalTraffic.bytes)}`],
    ...Object.entries(figures.traffic).map(([method, t]): [string, string] => [`  ${method}`, `${t.messages} msgs, ${mb(t.bytes)}`]),
    ['timers fired', String(figures.events)],
    ['wall time', `${(figures.wallMs / 1000).toFixed(1)} s`],
    ['peak heap / rss', `${mb(figures.peakHeapBytes)} / ${mb(figures.peakRssBytes)}`],
    ['trace', `${figures.traceEvents} events, digest ${figures.traceDigest}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}
