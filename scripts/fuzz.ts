/**
 * The long hostile-input run (issue 6, item 2): `npm run fuzz [-- --cases 100000 --seed 1]`.
 *
 * Four phases, each a fast-check property over the generators of test/security/hostile/:
 *  1. protocol: requests against a real node's own service (validation, load shedding,
 *     NodeService over LMDB): a reply an honest client accepts, or a 4xx refusal;
 *  2. http: raw sockets against a real node's HttpTransport (malformed, truncated, pipelined,
 *     oversized, wrong verbs and types): 4xx / 2xx / 304 replies or a close, in time, bounded;
 *  3. slow senders: trickled heads and bodies that never finish: cut off by the server;
 *  4. decoders: the wire codecs and the delta-varint position decoder on random and mutated bytes:
 *     they return or throw an AtlasError, nothing else.
 * After the node phases: the sequence is unchanged, only announced chunks validly put appeared,
 * no byte of an unannounced chunk is on disk, memory growth is bounded. Prints a summary; exits 1
 * when anything failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isAtlasError } from '../src/errors.js';
import { decodePositions } from '../src/inventory/varint.js';
import { decodeBinary, decodeJson, encodeBinary, encodeJson } from '../src/transport/codec.js';
import { liveBytes } from '../test/support/heap.js';
import { rawCaseArb, rawExchange, rawProblems, slowCaseArb, type RawCase } from '../test/security/hostile/raw-http.js';
import { requestArb, wireValue } from '../test/security/hostile/requests.js';
import { MAX_REPLY_BYTES, OutcomeTally, runServiceCase } from '../test/security/hostile/service-case.js';
import { openFuzzTarget, stateProblems, storedChunkKeys, type FuzzTarget } from '../test/security/hostile/target.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`--${name} must be a non-negative integer`);
  return value;
}

const TOTAL = option('cases', 100_000);
const SEED = option('seed', 1);
const HTTP_CASES = Math.round(TOTAL * 0.2);
const SLOW_CASES = Math.min(200, Math.round(TOTAL * 0.002));
const DECODER_CASES = Math.round(TOTAL * 0.2);
const SERVICE_CASES = Math.max(0, TOTAL - HTTP_CASES - SLOW_CASES - DECODER_CASES);
const HTTP_LIMITS = { headersTimeoutMs: 600, requestTimeoutMs: 1_200, timeoutCheckIntervalMs: 100, keepAliveTimeoutMs: 500, maxConnections: 128 };
const RAW = { timeoutMs: 10_000, maxBytes: 8 * MAX_REPLY_BYTES };
const MAX_HEAP_GROWTH = 96 * 1024 * 1024;

interface Phase {
  name: string;
  cases: number;
  seconds: number;
  problems: string[];
  notes: string[];
}

const phases: Phase[] = [];
const dir = mkdtempSync(join(tmpdir(), 'atlas-fuzz-'));

function report<T>(check: fc.RunDetails<T>, problems: string[]): void {
  if (check.failed) problems.push(`property failed after ${check.numRuns} runs (seed ${check.seed}, path ${check.counterexamplePath}): ${String(check.errorInstance ?? '').slice(0, 500)}`);
}

async function afterNodePhase(target: FuzzTarget, before: ReturnType<FuzzTarget['snapshot']>, heapBefore: number, phase: Phase): Promise<void> {
  const growth = liveBytes() - heapBefore;
  phase.notes.push(`heap growth ${(growth / 1024 / 1024).toFixed(1)} MiB`);
  if (growth > MAX_HEAP_GROWTH) phase.problems.push(`heap grew by ${growth} bytes`);
  const after = target.snapshot();
  phase.problems.push(...stateProblems(before, after, target.pool));
  phase.notes.push(`chunks validly put during the run: ${[...after.held].filter((a) => !before.held.has(a)).length}`);
  await target.close();
  const strangers = (await storedChunkKeys(target.dataDir)).filter((key) => !target.pool.announced.has(key));
  if (strangers.length > 0) phase.problems.push(`${strangers.length} unannounced chunk(s) on disk`);
}

async function protocolPhase(): Promise<void> {
  const phase: Phase = { name: 'protocol handlers', cases: 0, seconds: 0, problems: [], notes: [] };
  phases.push(phase);
  const start = performance.now();
  const target = await openFuzzTarget({ transport: 'capture', dir, seed: SEED });
  const before = target.snapshot();
  const heapBefore = liveBytes();
  const tally = new OutcomeTally();
  const check = await fc.check(
    fc.asyncProperty(requestArb(target.pool, () => target.node.log.epoch), async (request) => {
      const result = await runServiceCase(target.service!, target.node.limits, request);
      tally.add(request.method, result.outcome, result.problem);
      return result.problem === undefined;
    }),
    { numRuns: SERVICE_CASES, seed: SEED },
  );
  phase.cases = tally.cases;
  report(check, phase.problems);
  phase.problems.push(...tally.problems);
  phase.notes.push(...tally.lines());
  await afterNodePhase(target, before, heapBefore, phase);
  phase.seconds = (performance.now() - start) / 1000;
}

async function httpPhase(name: string, arbitrary: (target: FuzzTarget) => fc.Arbitrary<RawCase>, cases: number, batch: number): Promise<void> {
  const phase: Phase = { name, cases: 0, seconds: 0, problems: [], notes: [] };
  phases.push(phase);
  const start = performance.now();
  const target = await openFuzzTarget({ transport: 'http', dir, seed: SEED + 1, http: HTTP_LIMITS });
  const before = target.snapshot();
  const heapBefore = liveBytes();
  const statuses = new Map<string, number>();
  const check = await fc.check(
    fc.asyncProperty(fc.array(arbitrary(target), { minLength: batch, maxLength: batch }), async (rawCases) => {
      const results = await Promise.all(rawCases.map((c) => rawExchange(target.port!, c, RAW)));
      let ok = true;
      results.forEach((result, i) => {
        phase.cases++;
        const key = result.statuses.length === 0 ? 'closed without reply' : result.statuses.join('+');
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        for (const problem of rawProblems(result)) {
          ok = false;
          if (phase.problems.length < 50) phase.problems.push(`${rawCases[i]!.label}: ${problem}`);
        }
      });
      return ok;
    }),
    { numRuns: Math.ceil(cases / batch), seed: SEED + 1 },
  );
  report(check, phase.problems);
  phase.notes.push(`replies: ${[...statuses].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => `${k} x${v}`).join(', ')}`);
  await afterNodePhase(target, before, heapBefore, phase);
  phase.seconds = (performance.now() - start) / 1000;
}

/** A decoder may return anything or throw an AtlasError; any other throw is a bug. */
function decoderPhase(): void {
  const phase: Phase = { name: 'decoders', cases: 0, seconds: 0, problems: [], notes: [] };
  phases.push(phase);
  const start = performance.now();
  const limits = { maxBytes: 1024 * 1024, maxDepth: 32 };
  const mutated = fc.tuple(wireValue, fc.nat(), fc.nat(255), fc.boolean()).map(([value, at, byte, json]) => {
    const bytes = Uint8Array.from(json ? encodeJson(value) : encodeBinary(value));
    if (bytes.length > 0) bytes[at % bytes.length] = byte;
    return { bytes: at % 3 === 0 ? bytes.subarray(0, at % (bytes.length + 1)) : bytes, json };
  });
  const input = fc.oneof(mutated, fc.record({ bytes: fc.uint8Array({ maxLength: 512 }), json: fc.boolean() }));
  const check = fc.check(
    fc.property(input, ({ bytes, json }) => {
      phase.cases++;
      for (const decode of [() => (json ? decodeJson(bytes, limits) : decodeBinary(bytes, limits)), () => decodePositions(bytes, { maxCount: 65_536 })]) {
        try {
          decode();
        } catch (error) {
          if (!isAtlasError(error)) {
            if (phase.problems.length < 50) phase.problems.push(`non-AtlasError from a decoder: ${String(error).slice(0, 200)}`);
            return false;
          }
        }
      }
      return true;
    }),
    { numRuns: DECODER_CASES, seed: SEED + 2 },
  );
  report(check, phase.problems);
  phase.seconds = (performance.now() - start) / 1000;
}

try {
  console.log(`fuzz: ${TOTAL} cases, seed ${SEED}`);
  await protocolPhase();
  await httpPhase('http raw sockets', (t) => rawCaseArb(t.pool, requestArb(t.pool, () => t.node.log.epoch)), HTTP_CASES, 8);
  await httpPhase('http slow senders', (t) => slowCaseArb(t.pool, requestArb(t.pool, () => t.node.log.epoch)), SLOW_CASES, 25);
  decoderPhase();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

let failed = 0;
let total = 0;
for (const phase of phases) {
  total += phase.cases;
  failed += phase.problems.length;
  console.log(`\n## ${phase.name}: ${phase.cases} cases in ${phase.seconds.toFixed(1)} s (${Math.round(phase.cases / phase.seconds)}/s), ${phase.problems.length === 0 ? 'no problem' : `${phase.problems.length} PROBLEM(S)`}`);
  for (const note of phase.notes) console.log(`  ${note}`);
  for (const problem of phase.problems.slice(0, 20)) console.log(`  PROBLEM ${problem}`);
}
console.log(`\nfuzz: ${total} cases, ${failed === 0 ? 'no problem found' : `${failed} problem(s)`}`);
process.exitCode = failed === 0 ? 0 : 1;
