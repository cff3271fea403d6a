/**
 * The sync benchmark's runs, each side in processes of its own: the plain stream + verify
 * reference (reference-server.ts and reference-client.ts) and a fresh node catching up from
 * serving peers (peer.ts and fresh.ts), with what each process reported.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChunkStorage } from '../../src/store/lmdb.js';
import { copySource, SCRATCH, type Dataset } from './dataset.js';
import { stopAll } from '../child.js';
import { laterLines, runToEnd, serveCpuOf, startService } from './processes.js';
import { RECOUNTING } from './window.js';

/** What the reference is called beside a figure: the whole run, and its client's share. */
export const REFERENCE = 'plain http stream + verify';
export const REFERENCE_CLIENT = `${REFERENCE}, client`;
/** The reference that also appends what it verified to a file, durably (reference-client.ts). */
export const DURABLE_REFERENCE = `${REFERENCE} + durable append`;
/** The reference that appends what it verified to atlasnet's chunk log, with an inventory (reference-log-client.ts). */
export const LOG_REFERENCE = `${REFERENCE} + atlasnet's chunk log`;
/** The reference that puts what it verified into atlasnet's chunk store (reference-store-client.ts). */
export const STORE_REFERENCE = `${REFERENCE} + atlasnet's chunk store`;

export interface FreshResult {
  done: boolean;
  openMs: number;
  elapsedMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  have: number;
  total: number;
  chunkBytes: number;
  wireBytesIn: number;
  wireBytesOut: number;
  rssAnonBytes?: number;
  rssFileBytes?: number;
  rssFileBeforeOpenBytes?: number;
  requests: number;
  duplicates: number;
  /** When the first chunks were held, from the window's start: time, CPU, and how many (one reply's). */
  firstChunks?: { ms: number; cpuMs: number; have: number };
  /** CPU seconds on the main thread and on the others (bench/sync/thread-cpu.ts), where /proc is there. */
  threads?: ThreadCpu;
}

export interface ReferenceResult {
  elapsedMs: number;
  verified: number;
  mismatched: number;
  /** Chunks the store added (the store reference only). */
  stored?: number;
  bytes: number;
  cpuSeconds: number;
  threads?: ThreadCpu;
  peakRssBytes: number;
  /** The reference server's CPU while streaming, when it reported it. */
  serveCpuSeconds?: number | undefined;
}

export interface ThreadCpu {
  mainSeconds: number;
  otherSeconds: number;
}

/**
 * How the reference's client keeps what it verified: not at all (the reference), appended to a
 * file and synced (reference-client.ts with a log file), appended to atlasnet's chunk log with an
 * inventory and no store above them (reference-log-client.ts), or put into atlasnet's chunk store
 * (reference-store-client.ts).
 */
export type ReferenceClient = 'plain' | 'durable' | 'log' | 'store';

const CLIENT_SCRIPTS: Record<ReferenceClient, string> = {
  plain: 'reference-client.ts',
  durable: 'reference-client.ts',
  log: 'reference-log-client.ts',
  store: 'reference-store-client.ts',
};

/** The reference's run, its client keeping the chunks as `client` says (default 'plain'). */
export async function reference(dataset: Dataset, options: { client?: ReferenceClient } = {}): Promise<ReferenceResult> {
  const client = options.client ?? 'plain';
  const dir = copySource(dataset, 'reference');
  const server = await startService<{ address: string }>('reference-server.ts', [dir, dataset.chainFile]);
  const report = laterLines(server.child);
  const kept = client === 'plain' ? undefined : join(SCRATCH, 'run', client === 'durable' ? 'reference.log' : `reference-${client}`);
  if (kept !== undefined) {
    mkdirSync(join(SCRATCH, 'run'), { recursive: true });
    rmSync(kept, { recursive: true, force: true });
  }
  try {
    const result = await runToEnd<ReferenceResult>(CLIENT_SCRIPTS[client], [server.info.address, dataset.chainFile, ...(kept === undefined ? [] : [kept])], 600_000);
    if (result.mismatched !== 0 || result.verified !== dataset.count) throw new Error(`reference verified ${result.verified}/${dataset.count}`);
    if (result.stored !== undefined && result.stored !== dataset.count) throw new Error(`reference stored ${result.stored}/${dataset.count}`);
    await stopAll([server.child]);
    return { ...result, serveCpuSeconds: serveCpuOf(report) };
  } finally {
    await stopAll([server.child]);
    if (kept !== undefined) rmSync(kept, { recursive: true, force: true });
  }
}

/** The CPU every serving peer spent serving (peer.ts reports it when stopped); `silent`: the peers that did not report it. */
export interface Serving {
  cpuSeconds: number;
  silent: string[];
}

/**
 * A fresh node catching up `dataset` from `peers` serving peers started for it. `warm`: the peers
 * first serve the same catch-up to another fresh node, not measured (V8 has then compiled their
 * serving path, as a long-running peer's is), and their serving CPU counts from after it.
 */
export async function syncFrom(dataset: Dataset, peers: number, chunkStorage: ChunkStorage, options: { warm?: boolean } = {}): Promise<{ fresh: FreshResult; serving: Serving }> {
  const servers: { child: ChildProcess; info: { address: string } }[] = [];
  const reports: ReturnType<typeof laterLines>[] = [];
  try {
    for (let i = 0; i < peers; i++) {
      const server = await startService<{ address: string }>('peer.ts', [copySource(dataset, `peer-${i}`), dataset.chainFile]);
      servers.push(server);
      reports.push(laterLines(server.child));
    }
    const freshDir = join(SCRATCH, 'run', 'fresh');
    rmSync(freshDir, { recursive: true, force: true });
    const addresses = servers.map((s) => s.info.address).join(',');
    if (options.warm === true) {
      await runToEnd<FreshResult>('fresh.ts', [freshDir, dataset.chainFile, addresses, String(600_000), chunkStorage], 660_000);
      rmSync(freshDir, { recursive: true, force: true });
      for (const server of servers) server.child.kill('SIGUSR2');
      await Promise.all(reports.map((report) => report.printed(RECOUNTING, 10_000)));
    }
    const fresh = await runToEnd<FreshResult>('fresh.ts', [freshDir, dataset.chainFile, addresses, String(600_000), chunkStorage], 660_000);
    await stopAll(servers.map((s) => s.child));
    const serving: Serving = { cpuSeconds: 0, silent: [] };
    reports.forEach((report, i) => {
      const seconds = serveCpuOf(report);
      if (seconds !== undefined) serving.cpuSeconds += seconds;
      else serving.silent.push(servers[i]?.info.address ?? `peer ${i}`);
    });
    return { fresh, serving };
  } finally {
    await stopAll(servers.map((s) => s.child));
  }
}
