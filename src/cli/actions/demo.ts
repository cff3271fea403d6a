/** What `atlas demo` does: the cluster, the chunks put to node 0, progress until convergence, the summary. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../runtime.js';
import { announceAll, openDevChain } from '../chain.js';
import { closeCluster, startCluster, type DemoNode } from '../demo/cluster.js';
import { createProgressView, type NodeSnapshot } from '../demo/progress.js';
import { formatSummary, summarise, type NodeOutcome } from '../demo/summary.js';
import { CliError } from '../errors.js';
import { createLogger, type CliLogLevel } from '../logger.js';
import { formatBytes, formatCount, writeJson } from '../output.js';
import { exitCodeForSignal, stopReason, untilSignal } from '../signals.js';
import { loadWorkload, type Workload } from '../zonefiles.js';

/** `atlas demo`'s options, as commander reads them (src/cli/commands/demo.ts). */
export interface DemoOptions {
  nodes: number;
  chunks?: number;
  generated?: boolean;
  data?: string;
  timeout: number;
  keep?: boolean;
  json?: boolean;
  interval: number;
  progress: boolean;
  logLevel: CliLogLevel;
}

/** Chunks per local putChunks call to node 0. */
const PUT_BATCH = 500;
/** How often node stats are sampled for the progress view. */
const SAMPLE_MS = 100;

/** Runs the demo; a CliError when it does not converge in time or is stopped by a signal. */
export async function runDemo(options: DemoOptions): Promise<void> {
  const out = (text: string) => (options.json ? process.stderr : process.stdout).write(text + '\n');
  const logger = createLogger({ level: options.logLevel, format: 'pretty' });
  const workload = await loadWorkload({
    ...(options.data !== undefined ? { data: options.data } : {}),
    ...(options.chunks !== undefined ? { count: options.chunks } : {}),
    generated: options.generated ?? false,
  });
  const dataBytes = workload.chunks.reduce((sum, c) => sum + c.data.byteLength, 0);
  const root = await mkdtemp(join(tmpdir(), 'atlas-demo-'));
  // Waiting for a signal before the first line: from then on a signal always ends the demo the
  // same way (its summary, its temporary folder removed, the signal's exit code).
  const stopping = untilSignal();
  out(describeWorkload(workload, options.nodes, dataBytes));
  let nodes: DemoNode[] = [];
  let chain: Awaited<ReturnType<typeof openDevChain>> | undefined;
  try {
    chain = await openDevChain(join(root, 'chain.jsonl'));
    await announceAll(chain, workload.chunks.map((c, i) => ({ address: c.address, key: `zonefile-${i}` })));
    nodes = await startCluster({ count: options.nodes, chain, root, logger });
    out(`nodes: ${nodes.map((n) => n.address).join(', ')}; putting ${formatCount(workload.chunks.length)} chunks to node 0`);

    const result = await replicate(nodes, workload, options, stopping.promise);
    const summary = summarise(result.outcomes, result.elapsedMs, result.interrupted);
    if (options.json) writeJson({ workload: { source: workload.source, chunks: workload.chunks.length, bytes: dataBytes }, ...summary });
    else process.stdout.write('\n' + formatSummary(summary) + '\n');
    if (result.interrupted) {
      const signal = stopReason();
      if (signal === 'EPIPE') return; // the reader went away: the normal end of `atlas demo | head`
      // `interrupted` is set only by a stop request, so there is always a signal.
      throw new CliError(`interrupted by ${signal ?? 'SIGINT'}`, exitCodeForSignal(signal ?? 'SIGINT'));
    }
    if (!summary.converged) throw new CliError(`the demo did not converge within ${options.timeout} s`);
  } finally {
    await closeCluster(nodes);
    await chain?.close?.().catch(() => undefined);
    stopping.dispose();
    if (options.keep) out(`data kept in ${root}`);
    else await rm(root, { recursive: true, force: true, maxRetries: 3 });
  }
}

function describeWorkload(workload: Workload, nodes: number, bytes: number): string {
  const count = formatCount(workload.chunks.length);
  const what =
    workload.source === 'real'
      ? `${count} real zone files (${formatBytes(bytes)}) from ${workload.path}`
      : workload.source === 'file'
        ? `${count} zone files (${formatBytes(bytes)}) from ${workload.path}`
        : `${count} generated zone files (${formatBytes(bytes)}; ${workload.realPathTried === undefined ? '--generated' : `the real BNS zone files were not found; run with --data <file> to use them`})`;
  return `atlas demo: ${nodes} nodes over HTTP on 127.0.0.1, ${what}`;
}

interface ReplicationResult {
  outcomes: NodeOutcome[];
  elapsedMs: number;
  interrupted: boolean;
}

/**
 * Puts every chunk to node 0, then shows progress until all converge; the timeout or a signal ends
 * either phase (progress lines during both).
 */
async function replicate(nodes: readonly DemoNode[], workload: Workload, options: DemoOptions, stop: Promise<unknown>): Promise<ReplicationResult> {
  const clock = systemClock;
  const expected = workload.chunks.length;
  const started = clock.now();
  const convergedAt = new Map<number, number>();
  const check = (n: DemoNode) => {
    const s = n.node.stats();
    if (!convergedAt.has(n.index) && s.total >= expected && s.have >= s.total) convergedAt.set(n.index, clock.now() - started);
  };
  for (const n of nodes) n.node.on('progress', () => check(n));

  const view = options.progress
    ? createProgressView({ stream: options.json ? process.stderr : process.stdout, tty: !options.json && process.stdout.isTTY === true, intervalMs: options.interval * 1000 })
    : undefined;
  const snapshots = (): NodeSnapshot[] =>
    nodes.map((n) => {
      const s = n.node.stats();
      return { index: n.index, address: n.address, have: s.have, total: s.total, rate: s.chunksPerSecond };
    });

  let interrupted = false;
  void stop.then(() => (interrupted = true));
  // --timeout counts from the first put: a put phase past it (a large --chunks) stops there, and
  // the demo reports as when replication does not finish in time.
  const deadline = started + options.timeout * 1000;
  const first = nodes[0] as DemoNode;
  let put = 0;
  while (put < expected && !interrupted && clock.now() < deadline) {
    const batch = workload.chunks.slice(put, put + PUT_BATCH);
    const outcomes = await first.node.putChunksDetailed(batch.map((c) => c.data));
    const refused = outcomes.find((o) => !o.ok);
    if (refused !== undefined && !refused.ok) throw new CliError(`node 0 refused a chunk: ${refused.error.message}`);
    put += batch.length;
    view?.putting(clock.now() - started, put, expected);
  }
  view?.donePutting(clock.now() - started, put, expected);

  while (!interrupted && clock.now() < deadline) {
    for (const n of nodes) check(n);
    if (convergedAt.size === nodes.length) break;
    view?.update(clock.now() - started, snapshots());
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
  const elapsedMs = convergedAt.size === nodes.length ? Math.max(...convergedAt.values()) : clock.now() - started;
  view?.stop(clock.now() - started, snapshots());
  return {
    elapsedMs,
    interrupted,
    outcomes: nodes.map((n) => ({ index: n.index, address: n.address, stats: n.node.stats(), transport: n.transport.stats(), convergedMs: convergedAt.get(n.index) })),
  };
}
