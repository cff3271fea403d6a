/**
 * The demo's workload: the 1,631 real zone files of SPEC §9 when they are beside the checkout
 * (or given with --data), else generated zone files of the same size distribution.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hash160Batch, hashReady } from '../hash/index.js';
import { seededRandom } from '../runtime.js';
import { generateChunks } from '../sim/workload.js';
import { CliError } from './errors.js';
import { packageRoot } from './package-root.js';

export const CORPUS_FILE = 'bns-genesis-zonefiles.txt';
/** Same count as the real corpus, so both workloads are comparable. */
export const REAL_CORPUS_SIZE = 1_631;
/** Largest corpus file read: the real one is under 1 MiB; 64 MiB is room for 100,000 zone files of the same sizes. */
const MAX_CORPUS_BYTES = 64 * 1024 * 1024;

export interface ZoneFile {
  address: string;
  data: Uint8Array;
}

export interface Workload {
  /** 'real': the corpus beside the checkout; 'file': one given with --data. */
  source: 'real' | 'file' | 'generated';
  /** The corpus file, unless generated. */
  path?: string;
  /** Generated because the real corpus was absent from this path (undefined with --generated). */
  realPathTried?: string;
  chunks: ZoneFile[];
}

/** ../shared/data/bns-genesis-zonefiles.txt relative to the package root. */
export function defaultCorpusPath(): string {
  return join(packageRoot(), '..', 'shared', 'data', CORPUS_FILE);
}

/**
 * Reads a corpus file: pairs of lines, the address then the zone file with each newline written
 * as the two characters `\n`. Every address must be the hash160 of its zone file.
 */
export async function loadZoneFiles(path: string): Promise<ZoneFile[]> {
  let text: string;
  try {
    // Checked before reading: a device (`--data /dev/zero`) or a huge file was read whole first.
    const found = statSync(path);
    if (!found.isFile()) throw new CliError(`${path}: not a regular file`);
    if (found.size > MAX_CORPUS_BYTES) throw new CliError(`${path}: larger than ${MAX_CORPUS_BYTES} bytes`);
    const bytes = readFileSync(path);
    if (bytes.byteLength > MAX_CORPUS_BYTES) throw new CliError(`${path}: larger than ${MAX_CORPUS_BYTES} bytes`); // grew meanwhile
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read zone files from ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lines = text.split('\n');
  const files: ZoneFile[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const address = (lines[i] ?? '').trim().toLowerCase();
    if (address.length === 0) continue;
    if (!/^[0-9a-f]{40}$/.test(address)) throw new CliError(`${path}:${i + 1}: expected a 40-hex-character address`);
    files.push({ address, data: Buffer.from((lines[i + 1] ?? '').replace(/\\n/g, '\n'), 'utf8') });
  }
  if (files.length === 0) throw new CliError(`${path}: no zone files in it (expected pairs of lines: address, zone file)`);
  await hashReady();
  const digests = hash160Batch(files.map((f) => f.data));
  files.forEach((file, i) => {
    if (Buffer.from(digests[i] as Uint8Array).toString('hex') !== file.address) {
      throw new CliError(`${path}: zone file ${i + 1} does not hash to its address ${file.address}`);
    }
  });
  return files;
}

export interface WorkloadOptions {
  /** A corpus file; default the real one beside the checkout. */
  data?: string;
  /** Use generated zone files even when the real ones are present. */
  generated?: boolean;
  /** How many chunks; default all real ones, or 1,631 generated. */
  count?: number;
  seed?: number;
}

export async function loadWorkload(options: WorkloadOptions): Promise<Workload> {
  const path = options.data ?? defaultCorpusPath();
  if (!options.generated && (options.data !== undefined || existsSync(path))) {
    const all = await loadZoneFiles(path);
    return { source: options.data !== undefined ? 'file' : 'real', path, chunks: options.count === undefined ? all : all.slice(0, options.count) };
  }
  await hashReady();
  const chunks = generateChunks(options.count ?? REAL_CORPUS_SIZE, seededRandom(options.seed ?? REAL_CORPUS_SIZE));
  return options.generated ? { source: 'generated', chunks } : { source: 'generated', chunks, realPathTried: path };
}
