/**
 * The server side of bench/load.ts, in a process of its own that runs bundled plain JavaScript
 * (bundle.ts), as an application on the built package does: a node over HttpTransport (LMDB
 * store) holding the benchmark's chunks, or the reference, a plain node:http server answering the
 * same routes with the same bytes from a Map, with the same MessagePack codec (for puts it hashes
 * each chunk and keeps it), without validation, admission, load shedding or a store.
 *
 * Usage: load-server '<json LoadServerConfig>'. Prints {"port", "rssBeforeBytes"} once it
 * listens; answers each IPC message: "peak" with { peakRssBytes } since the previous "peak"
 * (sampled every 25 ms), "stats" with { chunks }, { verify: { quick, batch } } with the
 * verify-on-serve figures of a node's store (verify-serve.ts; the reference answers with an
 * error); exits on SIGTERM once closed. A question that arrives while it closes is still answered
 * (load-server-control.ts).
 */
import http from 'node:http';
import { join } from 'node:path';
import { MemoryChain } from '../src/chain/memory.js';
import { hash160Hex } from '../src/hash/index.js';
import { AtlasNode } from '../src/node/index.js';
import { LmdbChunkStore } from '../src/store/lmdb.js';
import type { ChunkStore } from '../src/store/types.js';
import type { RequestLimits } from '../src/protocol/request-guard.js';

/** Request limits lifted: no rate limit, and room for every client at once. */
const LIFTED: Partial<RequestLimits> = { ratePerSecond: Infinity, maxConcurrent: 1_024, maxConcurrentPerHost: 1_024 };
import { seededRandom } from '../src/runtime.js';
import { generateChunks, type GeneratedChunk } from '../src/sim/workload.js';
import { decodeBinary, encodeBinary } from '../src/transport/codec.js';
import { HttpTransport, splitHostPort } from '../src/transport/http.js';
import { loadServerControl } from './load-server-control.js';
import { measureVerifyOnServe, type VerifyServeFigures } from './verify-serve.js';

export interface LoadServerConfig {
  kind: 'node' | 'reference';
  /** Folder the node's store goes in (a node only). */
  dataDir: string;
  heldSeed: number;
  heldCount: number;
  putSeed: number;
  putCount: number;
  /**
   * The node's request limits (a node only): its defaults, or lifted for the throughput rows
   * (every client shares one host, 127.0.0.1).
   */
  limits: 'default' | 'lifted';
}

export type LoadServerMessage = 'peak' | 'stats' | { verify: { quick: boolean; batch: number } };

interface Server {
  port: number;
  chunks(): number;
  store?: ChunkStore;
  close(): Promise<void>;
}

/** The reference: the same routes and bytes from a Map, nothing else. */
async function startReference(held: Map<string, Uint8Array>): Promise<Server> {
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
    chunks: () => store.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startNode(config: LoadServerConfig, held: readonly GeneratedChunk[]): Promise<Server> {
  const puts = generateChunks(config.putCount, seededRandom(config.putSeed), { prefix: 'put' });
  const chain = new MemoryChain();
  chain.announce([...held, ...puts].map((c) => c.address));
  // A store of its own: the verify-on-serve figures read it as the node serves it (node.store is read-only).
  const store = await LmdbChunkStore.open({ path: join(config.dataDir, 'store') });
  const node = await AtlasNode.open({
    store,
    closeStore: true,
    chain,
    transport: new HttpTransport({ listen: '127.0.0.1:0' }),
    network: 'loadnet',
    ...(config.limits === 'lifted' ? { requests: LIFTED } : {}),
  });
  for (let i = 0; i < held.length; i += 1_000) await node.putChunks(held.slice(i, i + 1_000).map((c) => c.data));
  await node.start();
  return { port: splitHostPort(node.address as string).port, chunks: () => node.stats().chunks, store, close: () => node.close() };
}

const config = JSON.parse(process.argv[2] as string) as LoadServerConfig;
const rssBeforeBytes = process.memoryUsage.rss();
const held = generateChunks(config.heldCount, seededRandom(config.heldSeed));
const server = config.kind === 'node' ? await startNode(config, held) : await startReference(new Map(held.map((c) => [c.address, c.data])));

let peak = process.memoryUsage.rss();
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 25);

const control = loadServerControl<VerifyServeFigures>(server);

/** The verify-on-serve figures, or why there are none: the reference has no store. */
function verifyFigures(request: { quick: boolean; batch: number }): VerifyServeFigures | { error: string } {
  const store = server.store;
  if (!store) return { error: 'the reference has no store' };
  return control.verify(() => measureVerifyOnServe(store, held.map((c) => c.address), request));
}

process.on('message', (message: LoadServerMessage) => {
  if (message === 'peak') {
    process.send?.({ peakRssBytes: Math.max(peak, process.memoryUsage.rss()) });
    peak = process.memoryUsage.rss();
  } else if (message === 'stats') {
    process.send?.(control.chunks());
  } else if (typeof message === 'object' && message.verify) {
    // Every message is answered: the benchmark waits for it.
    process.send?.(verifyFigures(message.verify));
  }
});
process.on('SIGTERM', () => {
  clearInterval(sampler);
  void control.close().then(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ port: server.port, rssBeforeBytes })}\n`);
