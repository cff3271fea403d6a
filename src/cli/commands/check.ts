/**
 * `atlas check <dir>`: scans a store (store/scan.ts): every chunk hashed, the inventory checked
 * against the sequence. The scan runs in a child process (this same module, started with
 * `--scan-worker`): LMDB can abort the process that reads a badly damaged file, and that must be
 * a report here, not the end of the command. The store is opened like a node opens it (the folder
 * lock included), so a store in use by a running node is refused, and nothing is written but what
 * a node's open writes: a store of an older format is upgraded (lmdb.ts).
 *
 * The report (human or --json) is the command's output, on stdout; a failure (damage found, a
 * store that cannot be checked, a crashed scan) is also one line on stderr, `atlas: ...`, with exit
 * code 1, like every command's failure (errors.ts). Damage in the chunk log names that file.
 */
import { fork } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AtlasError } from '../../errors.js';
import { CHUNK_LOG_FILE } from '../../store/chunk-log-format.js';
import { LMDB_DATA_FILE } from '../../store/lmdb-file.js';
import type { ScanReport } from '../../store/scan.js';
import { CliError } from '../errors.js';
import { formatBytes, formatCount, writeJson, writeLine } from '../output.js';
import { exitCodeForSignal, untilSignal, type StopSignal } from '../signals.js';

const WORKER_FLAG = '--scan-worker';

/** What the child sends back: a report, or the typed error that stopped the scan. */
type WorkerAnswer = { report: ScanReport } | { error: { code?: string; message: string } };

interface CheckOptions {
  json?: boolean;
}

/** Registers `atlas check <dir>`. */
export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('scan a store: hash every chunk, check the inventory against the sequence; exit 1 on any damage')
    .argument('<dir>', 'the store folder, or a node folder holding store/')
    .option('--json', 'print JSON: { ok, path, report, chunkLogFile? } or { ok: false, path, crashed | error }; a failure is also one line on stderr')
    .action(async (dir: string, options: CheckOptions) => {
      const path = storeFolder(dir);
      // A signal ends the scan too: the child, which holds the store's lock, is not left running.
      const stopping = untilSignal();
      let outcome: Outcome | { stopped: StopSignal };
      try {
        outcome = await scanInChild(path, stopping.promise);
      } finally {
        stopping.dispose();
      }
      if ('stopped' in outcome) throw new CliError(`interrupted by ${outcome.stopped}: the scan of ${path} was stopped`, exitCodeForSignal(outcome.stopped));
      // A store with a chunk log keeps it in its folder (the report says whether it has one).
      const chunkLogFile = 'report' in outcome && outcome.report.chunkLog !== undefined ? join(path, CHUNK_LOG_FILE) : undefined;
      if (options.json) writeJson({ ok: 'report' in outcome && outcome.report.ok, path, ...outcome, ...(chunkLogFile === undefined ? {} : { chunkLogFile }) });
      else if ('report' in outcome) writeHuman(path, outcome.report, chunkLogFile);
      const failure = failureOf(path, outcome, chunkLogFile);
      if (failure !== undefined) throw new CliError(failure);
    });
}

type Outcome = WorkerAnswer | { crashed: string };

/** `dir` itself when it holds data.mdb, else `dir/store` when that does (a node folder). */
function storeFolder(dir: string): string {
  const path = resolve(dir);
  if (existsSync(join(path, LMDB_DATA_FILE))) return path;
  if (existsSync(join(path, 'store', LMDB_DATA_FILE))) return join(path, 'store');
  throw new CliError(`${path} holds no store (no ${LMDB_DATA_FILE} in it or in ${join(path, 'store')})`);
}

function scanInChild(path: string, stop: Promise<StopSignal>): Promise<Outcome | { stopped: StopSignal }> {
  return new Promise((resolvePromise, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [WORKER_FLAG, path], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let answer: WorkerAnswer | undefined;
    let stopped: StopSignal | undefined;
    void stop.then((signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopped = signal;
      child.kill('SIGTERM');
    });
    let stderr = '';
    child.on('message', (message) => (answer = message as WorkerAnswer));
    child.stderr?.on('data', (text: Buffer) => {
      if (stderr.length < 2_000) stderr += text.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (answer !== undefined) resolvePromise(answer);
      else if (stopped !== undefined) resolvePromise({ stopped });
      else {
        const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
        const last = stderr.trim().split('\n').pop();
        resolvePromise({ crashed: `the scan ${how} while reading the store: LMDB cannot read this file safely${last ? ` (${last})` : ''}` });
      }
    });
  });
}

/** The report, on stdout: what was checked and what was found. */
function writeHuman(path: string, r: ScanReport, chunkLogFile: string | undefined): void {
  writeLine(`${path}: ${r.ok ? 'OK' : 'DAMAGED'}`);
  writeLine(`  sequence ${formatCount(r.sequenceLength)} positions, ${formatCount(r.addresses)} addresses; ${formatCount(r.chunks)} chunks stored (${formatBytes(r.bytes)}), ${formatCount(r.held)} positions held`);
  if (r.chunkLog) {
    writeLine(`  chunk log: ${formatCount(r.chunkLog.records)} intact records, ${formatCount(r.chunkLog.damaged)} damaged, ${formatBytes(r.chunkLog.cutBytes)} unreadable at its end${chunkLogFile !== undefined ? ` (${chunkLogFile})` : ''}`);
  }
  writeLine(`  corrupt chunks ${formatCount(r.corrupt)}; index mismatches ${formatCount(r.indexMismatches)}; inventory mismatches ${formatCount(r.inventoryMismatches)}; sequence digest ${r.digestMatches ? 'matches' : 'DIFFERS'}`);
  for (const line of r.problems) writeLine(`  - ${line}`);
}

/** The one line a failed check ends with on stderr, or undefined when the store is sound. */
function failureOf(path: string, outcome: Outcome, chunkLogFile: string | undefined): string | undefined {
  if ('crashed' in outcome) return `${path}: DAMAGED: ${outcome.crashed}`;
  if ('error' in outcome) return `${path}: cannot be checked: ${outcome.error.message}${outcome.error.code ? ` (${outcome.error.code})` : ''}`;
  const r = outcome.report;
  if (r.ok) return undefined;
  const found: string[] = [];
  const log = r.chunkLog;
  if (log !== undefined && (log.damaged > 0 || log.cutBytes > 0)) {
    found.push(`chunk log ${chunkLogFile} is damaged: ${formatCount(log.damaged)} record(s) fail their hash, ${formatBytes(log.cutBytes)} unreadable at its end`);
  }
  const corrupt = r.corrupt - (log?.damaged ?? 0);
  if (corrupt > 0) found.push(`${formatCount(corrupt)} corrupt chunk(s)`);
  if (r.indexMismatches > 0) found.push(`${formatCount(r.indexMismatches)} index mismatch(es)`);
  if (r.inventoryMismatches > 0) found.push(`${formatCount(r.inventoryMismatches)} inventory mismatch(es)`);
  if (r.counterMismatches.length > 0) found.push(`${r.counterMismatches.length} counter mismatch(es)`);
  if (!r.digestMatches) found.push('the sequence digest differs');
  if (found.length === 0) found.push(r.problems[0] ?? 'see the report');
  return `${path}: DAMAGED: ${found.join('; ')}`;
}

/** The child: open, scan, answer through IPC, close. The store's modules load here only, not in the command. */
async function runWorker(path: string): Promise<void> {
  let answer: WorkerAnswer;
  try {
    const [{ hashReady }, { LmdbChunkStore }, { scanStore, withChunkLog }] = await Promise.all([
      import('../../hash/index.js'),
      import('../../store/lmdb.js'),
      import('../../store/scan.js'),
    ]);
    await hashReady();
    const store = await LmdbChunkStore.open({ path, chunkCacheBytes: 0 });
    try {
      const report = scanStore(store);
      answer = { report: store.chunkLog ? withChunkLog(report, store.chunkLog) : report };
    } finally {
      await store.close();
    }
  } catch (error) {
    answer = { error: error instanceof AtlasError ? { code: error.code, message: error.message } : { message: String((error as Error)?.message ?? error) } };
  }
  await new Promise<void>((done) => (process.send ? process.send(answer, () => done()) : done()));
}

function isWorker(): boolean {
  const script = process.argv[1];
  if (script === undefined || process.argv[2] !== WORKER_FLAG) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isWorker()) await runWorker(process.argv[3] as string);
