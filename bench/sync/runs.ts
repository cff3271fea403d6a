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

/** What the reference is called beside a figure: the whole run, and its client's share. */
export const REFERENCE = 'plain http stream + verify';
export const REFERENCE_CLIENT = `${REFERENCE}, client`;
/** The reference that also appends what it verified to a file, durably (reference-client.ts). */
export const DURABLE_REFERENCE = `${REFERENCE} + durable append`;

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
  /** CPU seconds on the main thread and on the others (bench/sync/thread-cpu.ts), where /proc is there. */
  threads?: ThreadCpu;
}

export interface ReferenceResult {
  elapsedMs: number;
  verified: number;
  mismatched: number;
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

/** The reference's run; `durable`: its client also appends every verified batch to a file and syncs it. */
export async function reference(dataset: Dataset, options: { durable?: boolean } = {}): Promise<ReferenceResult> {
  const dir = copySource(dataset, 'reference');
  const server = await startService<{ address: string }>('reference-server.ts', [dir, dataset.chainFile]);
  const report = laterLines(server.child);
  const log = options.durable === true ? [join(SCRATCH, 'run', 'reference.log')] : [];
  if (log.length > 0) mkdirSync(join(SCRATCH, 'run'), { recursive: true });
  try {
    const result = await runToEnd<ReferenceResult>('reference-client.ts', [server.info.address, dataset.chainFile, ...log], 600_000);
    if (result.mismatched !== 0 || result.verified !== dataset.count) throw new Error(`reference verified ${result.verified}/${dataset.count}`);
    await stopAll([server.child]);
    return { ...result, serveCpuSeconds: serveCpuOf(report) };
  } finally {
    await stopAll([server.child]);
    for (const file of log) rmSync(file, { force: true });
  }
}

/** The CPU every serving peer spent serving (peer.ts reports it when stopped); `silent`: the peers that did not report it. */
export interface Serving {
  cpuSeconds: number;
  silent: string[];
}

export async function syncFrom(dataset: Dataset, peers: number, chunkStorage: ChunkStorage): Promise<{ fresh: FreshResult; serving: Serving }> {
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
