/**
 * The sync benchmark's comparison with Hypercore, the library a user would pick instead to
 * replicate an append-only set of blocks: the same dataset, the same machine and run, one serving
 * process and one catching up over TCP on 127.0.0.1. Hypercore is installed when the full
 * benchmark runs, into the benchmark's scratch folder (it is not a dependency of atlasnet); when
 * it cannot be (no network), the comparison is skipped and says why.
 *
 * Helia with bitswap, the other library such a user would weigh, is not run: its current major
 * version needs Node 22 or later (its HTTP client uses zlib's zstd), and atlasnet supports Node 20.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BenchRow } from '../report.js';
import { copySource, SCRATCH, type Dataset } from './dataset.js';
import { stopAll } from '../child.js';
import { laterLines, runToEnd, serveCpuOf, startService } from './processes.js';

/** The major version compared. */
export const HYPERCORE_MAJOR = 11;
const MODULES = join(SCRATCH, 'alternatives');
const INSTALL_TIMEOUT_MS = 300_000;

export interface HypercoreResult {
  elapsedMs: number;
  have: number;
  cpuSeconds: number;
  threads?: { mainSeconds: number; otherSeconds: number };
  peakRssBytes: number;
}

/** Where Hypercore is installed (installing it now if needed), or why it cannot be. */
export async function installHypercore(): Promise<{ dir: string; version: string } | { skipped: string }> {
  const installed = installedVersion();
  if (majorOf(installed) === HYPERCORE_MAJOR) return { dir: MODULES, version: installed as string };
  // Under `npm run`, the npm that runs us; else the one on the PATH.
  const npm = process.env.npm_execpath;
  const [command, prefix] = npm !== undefined && npm.endsWith('.js') ? [process.execPath, [npm]] : ['npm', []];
  try {
    await promisify(execFile)(command, [...prefix, 'install', '--prefix', MODULES, '--no-audit', '--no-fund', `hypercore@${HYPERCORE_MAJOR}`], { timeout: INSTALL_TIMEOUT_MS });
  } catch (error) {
    // npm says why on its error output (no network, say); the error's message only names the command.
    const said = String((error as { stderr?: unknown }).stderr ?? '').split('\n').find((line) => line.includes('error')) ?? String((error as Error).message).split('\n')[0];
    return { skipped: `hypercore@${HYPERCORE_MAJOR} could not be installed: ${said}` };
  }
  const version = installedVersion();
  return majorOf(version) === HYPERCORE_MAJOR ? { dir: MODULES, version: version as string } : { skipped: `installing hypercore@${HYPERCORE_MAJOR} left version ${version ?? 'none'}` };
}

function installedVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(MODULES, 'node_modules', 'hypercore', 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function majorOf(version: string | undefined): number | undefined {
  return version === undefined ? undefined : Number(version.split('.')[0]);
}

/** One catch-up of the whole dataset by a new Hypercore from one serving Hypercore. */
export async function hypercoreSync(dataset: Dataset, modulesDir: string): Promise<{ reader: HypercoreResult; serveCpuSeconds: number | undefined }> {
  const peerDir = join(SCRATCH, 'run', 'hypercore-peer');
  const readerDir = join(SCRATCH, 'run', 'hypercore-reader');
  for (const dir of [peerDir, readerDir]) rmSync(dir, { recursive: true, force: true });
  const server = await startService<{ address: string; key: string }>('hypercore-peer.ts', [modulesDir, copySource(dataset, 'hypercore-source'), dataset.chainFile, peerDir]);
  const report = laterLines(server.child);
  try {
    const reader = await runToEnd<HypercoreResult>('hypercore-reader.ts', [modulesDir, server.info.address, server.info.key, String(dataset.count), readerDir], 600_000);
    await stopAll([server.child]);
    return { reader, serveCpuSeconds: serveCpuOf(report) };
  } finally {
    await stopAll([server.child]);
  }
}

/** What atlasnet's own catch-up of the same dataset measured in the same run (with its chunk log, the default). */
export interface AtlasFigures {
  chunksPerSecond: number;
  cpuUsPerChunk: number;
  peakRssBytes: number;
  serveCpuUsPerChunk: number | undefined;
}

/** The comparison's rows: atlasnet's figures against Hypercore's, same dataset and run. */
export function hypercoreRows(label: string, dataset: Dataset, version: string, run: Awaited<ReturnType<typeof hypercoreSync>>, atlas: AtlasFigures): BenchRow[] {
  const { reader } = run;
  const chunksPerSecond = reader.have / (reader.elapsedMs / 1000);
  const hypercore = `Hypercore ${version}, same chunks`;
  const atlasnet = 'atlasnet (chunk log)';
  const rows: BenchRow[] = [
    { label: `${label}: ${atlasnet} chunks/s`, value: atlas.chunksPerSecond, unit: 'chunks/s', reference: { label: hypercore, value: chunksPerSecond } },
    { label: `${label}: ${atlasnet} CPU per chunk (catching up)`, value: atlas.cpuUsPerChunk, unit: 'µs', reference: { label: hypercore, value: (reader.cpuSeconds * 1e6) / Math.max(1, reader.have) } },
    { label: `${label}: ${atlasnet} peak RSS (catching up)`, value: atlas.peakRssBytes / 1e6, unit: 'MB', reference: { label: hypercore, value: reader.peakRssBytes / 1e6 } },
  ];
  if (atlas.serveCpuUsPerChunk !== undefined && run.serveCpuSeconds !== undefined) {
    rows.push({ label: `${label}: ${atlasnet} CPU per chunk (serving)`, value: atlas.serveCpuUsPerChunk, unit: 'µs', reference: { label: hypercore, value: (run.serveCpuSeconds * 1e6) / Math.max(1, reader.have) } });
  }
  if (reader.have !== dataset.count) rows[0]!.note = `Hypercore held ${reader.have}/${dataset.count} blocks`;
  return rows;
}
