/**
 * Load: many concurrent keep-alive clients on 127.0.0.1, in a child process (load-client.ts),
 * against a real node over HttpTransport (LMDB store) for a fixed time per workload: getChunks of
 * 10 addresses, GET /chunks/<address>, putChunks of 5 chunks. Reported: requests/s, p50 and p99
 * latency, errors, BUSY replies and the server process's peak RSS.
 *
 * Reference, in the same run: a plain node:http server answering the same routes with the same
 * bytes from a Map, with the same MessagePack codec (for puts it hashes each chunk and keeps it),
 * without validation, admission, load shedding or a store. Each server, the node and the
 * reference, runs in a process of its own as bundled plain JavaScript (load-server.ts), as an
 * application on the built package does. Throughput rows run with the node's
 * rate limits off (all clients share one host, 127.0.0.1); the overload rows then flood a node
 * with its default limits from 127.0.0.1 while a probe on 127.0.0.2 measures its own latency,
 * against the same probe on an idle node.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleScript } from './bundle.js';
import { askChild, runJsonChild, startJsonService, stopAll } from './child.js';
import type { LoadClientConfig, LoadClientResult, LoadKind } from './load-client.js';
import type { LoadServerConfig, LoadServerMessage } from './load-server.js';
import type { BenchOptions, BenchReport, BenchRow, BenchSuite } from './report.js';
import type { VerifyServeFigures } from './verify-serve.js';

const HELD_SEED = 5_001;
const PUT_SEED = 5_002;
const CLIENTS = 32;
const FLOODERS = 64;

interface Workload {
  kind: LoadKind;
  label: string;
  batch: number;
}

const WORKLOADS: Workload[] = [
  { kind: 'getChunks', label: 'getChunks (10 addresses)', batch: 10 },
  { kind: 'getChunk', label: 'GET /chunks/<address>', batch: 1 },
  { kind: 'putChunks', label: 'putChunks (5 chunks)', batch: 5 },
];

function runClient(config: LoadClientConfig): Promise<LoadClientResult> {
  return runJsonChild<LoadClientResult>(join(import.meta.dirname, 'load-client.ts'), [JSON.stringify(config)], { label: 'load client' });
}

/** A server process of the benchmark (load-server.ts): its port, what it answers over IPC, and a stop. */
interface LoadServer {
  port: number;
  rssBeforeBytes: number;
  ask<T>(message: LoadServerMessage): Promise<T>;
  stop(): Promise<void>;
}

async function startServer(config: LoadServerConfig): Promise<LoadServer> {
  const script = await bundleScript(join(import.meta.dirname, 'load-server.ts'), 'load-');
  const { child, info } = await startJsonService<{ port: number; rssBeforeBytes: number }>(script, [JSON.stringify(config)], { ipc: true, plainJs: true });
  return {
    ...info,
    ask: <T>(message: LoadServerMessage) => askChild<T>(child, message),
    stop: () => stopAll([child]),
  };
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(n >= 100 ? 0 : 2) : String(n));

const suite: BenchSuite = async (options: BenchOptions): Promise<BenchReport> => {
  const durationMs = options.quick ? 2_000 : 8_000;
  const heldCount = options.quick ? 5_000 : 20_000;
  const putCount = options.quick ? 20_000 : 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'atlas-load-'));
  const rows: BenchRow[] = [];
  const notes: string[] = [
    `${CLIENTS} keep-alive clients in a child process for ${durationMs / 1000} s per workload and server; ${heldCount} chunks held (generated, ~170 B each); the node's default store (sequence in LMDB, chunks in the chunk log), every write durable; each server in a process of its own, bundled`,
  ];
  const base = { concurrency: CLIENTS, durationMs, heldSeed: HELD_SEED, heldCount, putSeed: PUT_SEED, putCount };
  const server = (kind: LoadServerConfig['kind'], name: string, limits: LoadServerConfig['limits'] = 'default') =>
    startServer({ kind, dataDir: join(dir, name), heldSeed: HELD_SEED, heldCount, putSeed: PUT_SEED, putCount, limits });
  try {
    const node = await server('node', 'throughput', 'lifted');
    const port = node.port;
    let reference: LoadServer | undefined;
    let nodePeak = 0;
    let getChunksP50Ms: number | undefined;
    try {
      reference = await server('reference', 'reference');
      await node.ask('peak'); // the peak from here on: under load, not while the node was filled
      for (const workload of WORKLOADS) {
        // Reference first, then the node: each sees the same machine weather within a few seconds.
        const r = await runClient({ ...base, port: reference.port, kind: workload.kind, batch: workload.batch });
        const m = await runClient({ ...base, port, kind: workload.kind, batch: workload.batch });
        nodePeak = Math.max(nodePeak, (await node.ask<{ peakRssBytes: number }>('peak')).peakRssBytes);
        if (workload.kind === 'getChunks') getChunksP50Ms = m.p50Ms;
        rows.push(
          { label: `${workload.label}: throughput`, value: m.ok / m.seconds, unit: 'req/s', reference: { label: 'node:http + Map', value: r.ok / r.seconds }, target: { min: 0.25, of: 'ratio' } },
          { label: `${workload.label}: p50 latency`, value: m.p50Ms, unit: 'ms', reference: { label: 'node:http + Map', value: r.p50Ms } },
          { label: `${workload.label}: p99 latency`, value: m.p99Ms, unit: 'ms', reference: { label: 'node:http + Map', value: r.p99Ms } },
        );
        notes.push(`${workload.label}: node ${m.requests} requests, ${m.errors} errors, ${m.busy} BUSY; reference ${r.requests} requests, ${r.errors} errors`);
      }
      rows.push({ label: 'peak RSS of the server process under load', value: nodePeak / 1024 / 1024, unit: 'MiB', reference: { label: 'same process before the node opened', value: node.rssBeforeBytes / 1024 / 1024 } });
      notes.push(`node stats after the runs: ${(await node.ask<{ chunks: number }>('stats')).chunks} chunks held`);
      // Verify-on-serve: every chunk leaving the node is hashed again; the cost of that, per request.
      const verify = await node.ask<VerifyServeFigures>({ verify: { quick: options.quick, batch: 10 } });
      rows.push({
        label: 'verify-on-serve: store read of 10 chunks, hash-checked',
        value: verify.verifiedUs,
        unit: 'µs',
        reference: { label: 'same reads, unchecked', value: verify.unverifiedUs },
      });
      if (getChunksP50Ms !== undefined) {
        rows.push({
          label: 'verify-on-serve: added time per getChunks (10)',
          value: (verify.verifiedUs - verify.unverifiedUs) / 1_000,
          unit: 'ms',
          reference: { label: 'getChunks (10) p50 latency, this run', value: getChunksP50Ms },
          target: { max: 0.1, of: 'ratio' },
        });
      }
      notes.push(`verify-on-serve: ${verify.reads} reads of ${verify.batch} addresses each way, alternating blocks`);
    } finally {
      await reference?.stop();
      await node.stop();
    }

    // Overload: default limits, one host floods getChunks, another host probes.
    const defaults = await server('node', 'overload');
    try {
      // Long enough for the flood to outrun its host's burst of 5,000 requests.
      const floodMs = options.quick ? 5_000 : 10_000;
      const probe = { ...base, port: defaults.port, kind: 'getChunks' as const, batch: 10, concurrency: 1, localAddress: '127.0.0.2', pauseMs: 10, durationMs: floodMs };
      const idle = await runClient({ ...probe, durationMs });
      const [flood, underFlood] = await Promise.all([runClient({ ...base, port: defaults.port, kind: 'getChunks', batch: 10, concurrency: FLOODERS, durationMs: floodMs }), runClient(probe)]);
      rows.push(
        { label: `overload: flooding host served (${FLOODERS} clients)`, value: flood.ok / flood.seconds, unit: 'req/s' },
        { label: 'overload: flooding host refused with BUSY', value: flood.busy / flood.seconds, unit: 'req/s' },
        { label: 'overload: other host p50 latency during the flood', value: underFlood.p50Ms, unit: 'ms', reference: { label: 'same probe, idle node', value: idle.p50Ms } },
        { label: 'overload: other host p99 latency during the flood', value: underFlood.p99Ms, unit: 'ms', reference: { label: 'same probe, idle node', value: idle.p99Ms } },
      );
      notes.push(
        `overload (default limits: 500 req/s, burst 5,000 per host): flooder ${flood.requests} requests, ${flood.ok} served, ${flood.busy} BUSY, ${flood.errors} errors; ` +
          `probe on 127.0.0.2 ${underFlood.ok}/${underFlood.requests} served, ${underFlood.busy} BUSY, p99 ${fmt(underFlood.p99Ms)} ms vs ${fmt(idle.p99Ms)} ms idle`,
      );
    } finally {
      await defaults.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'load', rows, notes };
};

export default suite;
