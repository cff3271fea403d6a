/**
 * The demo's closing table: per node the time it converged, what it downloaded and how much of
 * that was redundant, and the bytes each node's transport moved; then the totals.
 */
import type { NodeStats } from '../../node/stats.js';
import type { TransportStats } from '../../transport/types.js';
import { formatBytes, formatCount, formatRatio, formatSeconds, formatTable } from '../output.js';

/** What one node ended with: its stats and transport counters, and when it converged. */
export interface NodeOutcome {
  index: number;
  address: string;
  stats: NodeStats;
  transport: TransportStats | undefined;
  /** Milliseconds from the first put until the node held every chunk; undefined if it never did. */
  convergedMs: number | undefined;
}

/** One node's row of the summary (and of `--json`'s `nodes`). */
export interface NodeSummaryRow {
  node: number;
  address: string;
  have: number;
  total: number;
  /** Bytes of the chunks the node holds at the end. */
  chunkBytes: number;
  convergedMs: number | null;
  chunksReceived: number;
  chunkBytesReceived: number;
  duplicateBytes: number;
  /** chunk bytes received / useful (non-duplicate) chunk bytes received; null when nothing came. */
  redundancy: number | null;
  wireBytesIn: number;
  wireBytesOut: number;
}

/** The demo's outcome: the summary table's rows and totals (`--json` prints it). */
export interface DemoSummary {
  converged: boolean;
  /** A signal ended the demo before every node converged. */
  interrupted: boolean;
  /** Until the last node converged, or until the demo gave up. */
  elapsedMs: number;
  nodes: NodeSummaryRow[];
  /**
   * Bytes of the chunks the nodes other than node 0 (the one the chunks were put to) hold at the
   * end: what was replicated, however the demo ended (converged, timed out or interrupted).
   */
  usefulBytes: number;
  wireBytesIn: number;
  /** wireBytesIn / usefulBytes: protocol and duplicate overhead together. */
  wireOverhead: number | null;
}

/** The summary of `outcomes`: node 0 is the source, the others receive. */
export function summarise(outcomes: readonly NodeOutcome[], elapsedMs: number, interrupted = false): DemoSummary {
  const nodes = outcomes.map((o): NodeSummaryRow => {
    const d = o.stats.downloads;
    const useful = d.chunkBytesReceived - d.duplicateBytes;
    return {
      node: o.index,
      address: o.address,
      have: o.stats.have,
      total: o.stats.total,
      chunkBytes: o.stats.chunkBytes,
      convergedMs: o.convergedMs ?? null,
      chunksReceived: d.chunksReceived,
      chunkBytesReceived: d.chunkBytesReceived,
      duplicateBytes: d.duplicateBytes,
      redundancy: useful > 0 ? d.chunkBytesReceived / useful : null,
      wireBytesIn: o.transport?.bytesIn ?? 0,
      wireBytesOut: o.transport?.bytesOut ?? 0,
    };
  });
  const converged = outcomes.length > 0 && outcomes.every((o) => o.convergedMs !== undefined);
  // What the receiving nodes hold, not the workload times their number: a demo stopped early replicated only part of it.
  const usefulBytes = nodes.reduce((sum, n) => (n.node === 0 ? sum : sum + n.chunkBytes), 0);
  const wireBytesIn = nodes.reduce((sum, n) => sum + n.wireBytesIn, 0);
  return { converged, interrupted: interrupted && !converged, elapsedMs, nodes, usefulBytes, wireBytesIn, wireOverhead: usefulBytes > 0 ? wireBytesIn / usefulBytes : null };
}

/** The summary as the table and closing lines `atlas demo` prints. */
export function formatSummary(summary: DemoSummary): string {
  const table = formatTable(
    [
      { header: 'node' },
      { header: 'address' },
      { header: 'have', align: 'right' },
      { header: 'converged', align: 'right' },
      { header: 'downloaded', align: 'right' },
      { header: 'redundancy', align: 'right' },
      { header: 'wire in', align: 'right' },
      { header: 'wire out', align: 'right' },
    ],
    summary.nodes.map((n) => [
      String(n.node),
      n.address,
      `${formatCount(n.have)}/${formatCount(n.total)}`,
      n.convergedMs === null ? 'no' : formatSeconds(n.convergedMs),
      `${formatCount(n.chunksReceived)} (${formatBytes(n.chunkBytesReceived)})`,
      formatRatio(n.redundancy ?? undefined),
      formatBytes(n.wireBytesIn),
      formatBytes(n.wireBytesOut),
    ]),
  );
  const verdict = summary.converged
    ? `converged: every node holds every chunk after ${formatSeconds(summary.elapsedMs)}`
    : summary.interrupted
      ? `interrupted after ${formatSeconds(summary.elapsedMs)}: ${summary.nodes.filter((n) => n.convergedMs !== null).length} of ${summary.nodes.length} nodes held every chunk`
      : `did not converge within ${formatSeconds(summary.elapsedMs)}`;
  return [
    table,
    '',
    verdict,
    `bytes on the wire: ${formatBytes(summary.wireBytesIn)} received by all nodes for ${formatBytes(summary.usefulBytes)} of chunks replicated (${formatRatio(summary.wireOverhead ?? undefined)})`,
    'redundancy = chunk bytes downloaded / chunk bytes that were new to the node (1.00x = no duplicate downloads); chunks pushed by node 0 are not downloads',
  ].join('\n');
}
