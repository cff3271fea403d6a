/**
 * Load (issue 6, item 3): many concurrent keep-alive clients on 127.0.0.1, in a child process
 * (bench/load-client.ts), against a real node over HttpTransport (LMDB store) for a fixed time per
 * workload: getChunks of 10 addresses, GET /chunks/<address>, putChunks of 5 chunks. Reported:
 * requests/s, p50 and p99 latency, errors, BUSY replies and the server process's peak RSS.
 *
 * Reference, in the same run: a plain node:http server answering the same routes with the same
 * bytes from a Map, with the same MessagePack codec (for puts it hashes each chunk and keeps it),
 * without validation, admission, load shedding or a store. Throughput rows run with the node's
 * rate limits off (all clients share one host, 127.0.0.1); the overload rows then flood a node
 * with its default limits from 127.0.0.1 while a probe on 127.0.0.2 measures its own latency,
 * against the same probe on an idle node.
 */
import { runJsonChild } from './child.js';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryChain } from '../src/chain/memory.js';
import { hash160Hex } from '../src/hash/index.js';
import { AtlasNode } from '../src/node/index.js';
import type { RequestLimits } from '../src/protocol/request-guard.js';
import { seededRandom } from '../src/runtime.js';
import { generateChunks } from '../src/sim/workload.js';
import { decodeBinary, encodeBinary } from '../src/transport/codec.js';
import { HttpTransport, splitHostPort } from '../src/transport/http.js';
import type { LoadClientConfig, LoadClientResult, LoadKind } from './load-client.js';
import type { BenchOptions, BenchReport, BenchRow, BenchSuite } from './report.js';
import { measureVerifyOnServe } from './verify-serve.js';

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

/** Peak RSS of this (the server) process while `task` runs, sampled every 25 ms. */
async function withPeakRss<T>(task: () => Promise<T>): Promise<{ value: T; peakRss: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);
  try {
    const value = await task();
    return { value, peakRss: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

/** The reference: the same routes and bytes from a Map, nothing else. */
async function startReference(held: Map<string, Uint8Array>): Promise<{ port: number; close(): Promise<void> }> {
  const store = new Map(held);
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      const url = req.url ?? '/';
      let reply: Uint8Array;
      let type = 'application/msgpack';
      if (req.method === 'GET' && url.startsWith('/chunks/')) {
        const data = store.get(url.slice(8));
        if (data === undefined) {
          res.writeHead(404).end();
          return;
        }
        reply = data;
        type = 'application/octet-stream';
      } else if (url === '/atlas/v1/getChunks') {
        const { addresses } = decodeBinary(Buffer.concat(parts)) as { addresses: string[] };
        const chunks: { address: string; data: Uint8Array }[] = [];
        const missing: string[] = [];
        for (const address of addresses) {
          const data = store.get(address);
          if (data) chunks.push({ address, data });
          else missing.push(address);
        }
        reply = encodeBinary({ chunks, missing });
      } else if (url === '/atlas/v1/putChunks') {
        const { chunks } = decodeBinary(Buffer.concat(parts)) as { chunks: Uint8Array[] };
        for (const chunk of chunks) store.set(hash160Hex(chunk), chunk);
        reply = encodeBinary({ saved: chunks.map(() => true) });
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': type, 'content-length': reply.byteLength }).end(reply);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startNode(dir: string, name: string, heldCount: number, putCount: number, requests: Partial<RequestLimits>): Promise<{ node: AtlasNode; port: number }> {
  const held = generateChunks(heldCount, seededRandom(HELD_SEED));
  const puts = generateChunks(putCount, seededRandom(PUT_SEED), { prefix: 'put' });
  const chain = new MemoryChain();
  chain.announce([...held, ...puts].map((c) => c.address));
  const node = await AtlasNode.open({ dataDir: join(dir, name), chain, transport: new HttpTransport({ listen: '127.0.0.1:0' }), network: 'loadnet', requests });
  for (let i = 0; i < held.length; i += 1_000) await node.putChunks(held.slice(i, i + 1_000).map((c) => c.data));
  await node.start();
  return { node, port: splitHostPort(node.address as string).port };
}

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(n >= 100 ? 0 : 2) : String(n));

const suite: BenchSuite = async (options: BenchOptions): Promise<BenchReport> => {
  const durationMs = options.quick ? 2_000 : 8_000;
  const heldCount = options.quick ? 5_000 : 20_000;
  const putCount = options.quick ? 20_000 : 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'atlas-load-'));
  const rows: BenchRow[] = [];
  const notes: string[] = [
    `${CLIENTS} keep-alive clients in a child process for ${durationMs / 1000} s per workload and server; ${heldCount} chunks held (generated, ~170 B each); LMDB store with default durability`,
  ];
  const base = { concurrency: CLIENTS, durationMs, heldSeed: HELD_SEED, heldCount, putSeed: PUT_SEED, putCount };
  try {
    const held = new Map(generateChunks(heldCount, seededRandom(HELD_SEED)).map((c) => [c.address, c.data]));
    const baselineRss = process.memoryUsage.rss();
    const { node, port } = await startNode(dir, 'throughput', heldCount, putCount, { ratePerSecond: Infinity, maxConcurrent: 1_024, maxConcurrentPerHost: 1_024 });
    const reference = await startReference(held);
    let nodePeak = 0;
    let getChunksP50Ms: number | undefined;
    try {
      for (const workload of WORKLOADS) {
        // Reference first, then the node: each sees the same machine weather within a few seconds.
        const r = await runClient({ ...base, port: reference.port, kind: workload.kind, batch: workload.batch });
        const mine = await withPeakRss(() => runClient({ ...base, port, kind: workload.kind, batch: workload.batch }));
        nodePeak = Math.max(nodePeak, mine.peakRss);
        const m = mine.value;
        if (workload.kind === 'getChunks') getChunksP50Ms = m.p50Ms;
        rows.push(
          { label: `${workload.label}: throughput`, value: m.ok / m.seconds, unit: 'req/s', reference: { label: 'node:http + Map', value: r.ok / r.seconds }, target: { min: 0.25, of: 'ratio' } },
          { label: `${workload.label}: p50 latency`, value: m.p50Ms, unit: 'ms', reference: { label: 'node:http + Map', value: r.p50Ms } },
          { label: `${workload.label}: p99 latency`, value: m.p99Ms, unit: 'ms', reference: { label: 'node:http + Map', value: r.p99Ms } },
        );
        notes.push(`${workload.label}: node ${m.requests} requests, ${m.errors} errors, ${m.busy} BUSY; reference ${r.requests} requests, ${r.errors} errors`);
      }
      rows.push({ label: 'peak RSS of the server process under load', value: nodePeak / 1024 / 1024, unit: 'MiB', reference: { label: 'same process before the node opened', value: baselineRss / 1024 / 1024 } });
      notes.push(`node stats after the runs: ${node.stats().chunks} chunks held`);
      // Verify-on-serve: every chunk leaving the node is hashed again; the cost of that, per request.
      const verify = measureVerifyOnServe(node.store, [...held.keys()], { quick: options.quick, batch: 10 });
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
      await reference.close();
      await node.close();
    }

    // Overload: default limits, one host floods getChunks, another host probes.
    const defaults = await startNode(dir, 'overload', heldCount, putCount, {});
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
      await defaults.node.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'load', rows, notes };
};

export default suite;
