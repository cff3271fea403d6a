/**
 * The client side of bench/load.ts, in its own process so that it does not share the server's
 * event loop: `concurrency` keep-alive loops firing one kind of request at 127.0.0.1:<port> for
 * `durationMs`, then one JSON line on stdout with counts and latency percentiles.
 * Usage: load-client '<json LoadClientConfig>'
 */
import http from 'node:http';
import { seededRandom, randomInt } from '../src/runtime.js';
import { generateChunks } from '../src/sim/workload.js';
import { encodeBinary } from '../src/transport/codec.js';

export type LoadKind = 'getChunks' | 'getChunk' | 'putChunks';

export interface LoadClientConfig {
  port: number;
  kind: LoadKind;
  concurrency: number;
  durationMs: number;
  /** Chunks the server holds: generateChunks(heldCount, seededRandom(heldSeed)). */
  heldSeed: number;
  heldCount: number;
  /** Chunks announced for puts: generateChunks(putCount, seededRandom(putSeed), { prefix: 'put' }). */
  putSeed: number;
  putCount: number;
  /** Addresses per getChunks, chunks per putChunks. */
  batch: number;
  /** Source address to call from (another loopback address: another host to the server). */
  localAddress?: string;
  /** Pause between two requests of one loop, for a probe that should not itself load the server. */
  pauseMs?: number;
}

export interface LoadClientResult {
  requests: number;
  ok: number;
  busy: number;
  errors: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

const MAX_SAMPLES = 2_000_000;

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as LoadClientConfig;
  const random = seededRandom(config.port);
  const held = generateChunks(config.heldCount, seededRandom(config.heldSeed));
  const puts = config.kind === 'putChunks' ? generateChunks(config.putCount, seededRandom(config.putSeed), { prefix: 'put' }) : [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.concurrency, ...(config.localAddress ? { localAddress: config.localAddress } : {}) });
  const latencies = new Float64Array(MAX_SAMPLES);
  const result = { requests: 0, ok: 0, busy: 0, errors: 0 };
  let putNext = 0;

  const request = (): { method: string; path: string; body?: Uint8Array } => {
    switch (config.kind) {
      case 'getChunk':
        return { method: 'GET', path: `/chunks/${held[randomInt(random, held.length)]!.address}` };
      case 'getChunks': {
        const addresses = Array.from({ length: config.batch }, () => held[randomInt(random, held.length)]!.address);
        return { method: 'POST', path: '/atlas/v1/getChunks', body: encodeBinary({ addresses: [...new Set(addresses)] }) };
      }
      case 'putChunks': {
        const chunks = Array.from({ length: config.batch }, () => puts[putNext++ % puts.length]!.data);
        return { method: 'POST', path: '/atlas/v1/putChunks', body: encodeBinary({ chunks }) };
      }
    }
  };

  const once = () =>
    new Promise<void>((resolve) => {
      const { method, path, body } = request();
      const started = performance.now();
      const headers = body ? { 'content-type': 'application/msgpack', 'content-length': body.byteLength } : {};
      const req = http.request({ host: '127.0.0.1', port: config.port, method, path, agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (result.requests < MAX_SAMPLES) latencies[result.requests] = performance.now() - started;
          result.requests++;
          if (res.statusCode === 200) result.ok++;
          else if (res.statusCode === 503) result.busy++;
          else result.errors++;
          resolve();
        });
        res.on('error', () => {
          result.errors++;
          resolve();
        });
      });
      req.on('error', () => {
        result.requests++;
        result.errors++;
        resolve();
      });
      req.end(body);
    });

  const started = performance.now();
  const stopAt = started + config.durationMs;
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      while (performance.now() < stopAt) {
        await once();
        if (config.pauseMs) await new Promise((resolve) => setTimeout(resolve, config.pauseMs));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const samples = latencies.subarray(0, Math.min(result.requests, MAX_SAMPLES)).sort();
  const at = (q: number) => (samples.length === 0 ? NaN : (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] as number));
  const out: LoadClientResult = { ...result, seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
  process.stdout.write(JSON.stringify(out) + '\n');
}

await main();
