/**
 * `atlas sim <scenario> [--nodes N] [--chunks M] [--seed S] [--svg FILE] [--json]`: runs one
 * simulated scenario, prints a summary table (or JSON) and, with --svg, writes the plot of
 * replication over time. Exit code 0 when the strict criterion held, 1 when it did not, 2 on a
 * usage error: one line on stderr naming the option, like every atlas command (src/cli/errors.ts),
 * found before anything runs (sizes past the bounds below, a size the scenario sets itself, an
 * --svg file that cannot be written).
 */
import { constants } from 'node:fs';
import { access, open, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { oneLine, readWholeNumber } from '../command-line.js';
import { formatFigures } from './figures.js';
import { chunkCopiesMemory, SIM_AVERAGE_CHUNK_BYTES, SIM_MAX_CHUNKS, SIM_MAX_NODES, SIM_MAX_SEED, SIM_MAX_STORED_BYTES, SIM_MEMORY_PER_CHUNK_COPY } from './limits.js';
import { ScenarioSizeError } from './scenarios/common.js';
import type { Simulation } from './simulation.js';
import { findScenario, SCENARIOS, type Scenario, type ScenarioResult, type ScenarioSize } from './scenarios/index.js';
import { replicationSvg } from './svg.js';

/** Exit code of a run that met the strict criterion. */
export const SIM_EXIT_OK = 0;
/** Exit code of a run that did not, or whose plot could not be written. */
export const SIM_EXIT_FAILED = 1;
/** Exit code of bad usage: nothing ran. */
export const SIM_EXIT_USAGE = 2;


/** Where the command writes: stdout and stderr by default. */
export interface SimCommandIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: SimCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const GIB = 1024 ** 3;

/** Wall-clock time between two progress lines of a run (on stderr; none with --quiet). */
export const SIM_PROGRESS_EVERY_MS = 5_000;

/** How runSimCommand runs, beyond its arguments and output. */
export interface SimCommandOptions {
  /** Wall-clock milliseconds between two progress lines; default SIM_PROGRESS_EVERY_MS. */
  progressEveryMs?: number;
}

/** The command's help (`atlas sim --help`). */
export const SIM_USAGE = `usage: atlas sim <scenario> [--nodes N] [--chunks M] [--seed S] [--svg FILE] [--json] [--quiet]
       atlas sim --list

Runs a scenario in the deterministic simulator (virtual time, one seed) and checks the strict
criterion: every bit of the sequence on every honest node, every chunk's bytes verified by hash.
The same scenario and seed always give the same run (compare the trace digest).

  --nodes N     nodes in the network, 1 to ${SIM_MAX_NODES.toLocaleString('en-US')} and within the memory bound below (each
                scenario has a default and may need more; a scenario that sets it itself, such as
                inventory, refuses it)
  --chunks M    chunks announced and put, 1 to ${SIM_MAX_CHUNKS.toLocaleString('en-US')} (each scenario has a default)
  --seed S      the run's seed, 0 to 2^53 - 1 (default 1)
  --svg FILE    write replication over time (min / median / max share of nodes holding a chunk);
                the file must be writable, checked before the run
  --json        print the result as JSON on stdout instead of the table (progress lines
                stay on stderr)
  --quiet       no progress lines on stderr (by default: the scenario's steps, and every
                ${SIM_PROGRESS_EVERY_MS / 1000} s chunk copies delivered and nodes holding every position)
  --list        list the scenarios, their defaults and the sizes they set themselves

A run's chunk copies may take at most ${SIM_MAX_STORED_BYTES / GIB} GiB of memory by a measured estimate: every node ends
up holding every chunk, and each copy takes its chunk's size (${SIM_AVERAGE_CHUNK_BYTES} B on average, 40 KiB for
big-chunks) and ${SIM_MEMORY_PER_CHUNK_COPY.toLocaleString('en-US')} B more; each node takes about 1 MiB besides. Bad usage exits 2 before anything runs.
`;

/** A usage error: one line, exit code 2. */
class SimUsageError extends Error {}

/** Runs the command on `argv` (the words after "sim"), resolving to the exit code. */
export async function runSimCommand(argv: string[], io: SimCommandIo = processIo, options: SimCommandOptions = {}): Promise<number> {
  let values: SimValues;
  let name: string;
  let scenario: Scenario;
  let sizes: { nodes?: number; chunks?: number };
  let seed: number;
  try {
    const parsed = parseOptions(argv);
    values = parsed.values;
    if (values.help) {
      io.out(SIM_USAGE);
      return SIM_EXIT_OK;
    }
    if (values.list) {
      // --quiet and --json change nothing of a listing: taken, as they always were.
      const others = [...parsed.positionals, ...Object.keys(values).filter((key) => !['list', 'quiet', 'json'].includes(key)).map((key) => `--${key}`)];
      if (others.length > 0) throw new SimUsageError(`--list takes no scenario or other option, got ${others.map((o) => JSON.stringify(o)).join(', ')}`);
      io.out(listing());
      return SIM_EXIT_OK;
    }
    if (parsed.positionals.length !== 1) {
      throw new SimUsageError(`name one scenario (${SCENARIOS.map((s) => s.name).join(', ')}), got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((p) => JSON.stringify(p)).join(' ')}`);
    }
    name = parsed.positionals[0] as string;
    const found = findScenario(name);
    if (!found) throw new SimUsageError(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    scenario = found;
    sizes = checkSizes(scenario, values);
    seed = integerOption(values.seed, '--seed', 0, SIM_MAX_SEED) ?? 1;
    if (values.svg !== undefined) await checkWritable(values.svg);
  } catch (error) {
    if (!(error instanceof SimUsageError)) throw error;
    return usage(io, error.message);
  }

  let result: ScenarioResult;
  // Progress goes to stderr, --json or not: stdout holds only the result.
  const progress = values.quiet ? undefined : reportProgress(io, options.progressEveryMs ?? SIM_PROGRESS_EVERY_MS);
  try {
    result = await scenario.run({
      seed,
      ...sizes,
      ...(progress === undefined ? {} : { log: (line: string) => io.err(`${line}\n`), onSimulation: (sim: Simulation) => progress.watch(sim) }),
    });
  } catch (error) {
    // Sizes below a scenario's minimums were refused above; any error here, a RangeError included, is a failure to run.
    if (error instanceof ScenarioSizeError) return usage(io, `${name}: ${error.message}`);
    io.err(`atlas sim: ${name} could not run: ${oneLine((error as Error).message)}\n`);
    return SIM_EXIT_FAILED;
  } finally {
    progress?.stop();
  }

  const passed = result.converged && result.report.ok && result.errors.length === 0;
  if (values.svg !== undefined) {
    const f = result.figures;
    const svg = replicationSvg(result.samples, {
      title: `atlas sim ${name}: replication over time`,
      subtitle: `${f.honestNodes} honest + ${f.byzantineNodes} Byzantine nodes, ${f.sequenceLength} chunks, seed ${f.seed}`,
    });
    try {
      await writeFile(values.svg, svg);
    } catch (error) {
      io.err(`atlas sim: cannot write ${values.svg}: ${oneLine((error as Error).message)}\n`);
      return SIM_EXIT_FAILED;
    }
  }
  if (values.json) {
    io.out(`${JSON.stringify({ scenario: name, passed, converged: result.converged, report: result.report, facts: result.facts, figures: result.figures, errors: result.errors }, null, 2)}\n`);
  } else {
    io.out(`${formatFigures(name, result.figures)}\n`);
    const facts = Object.entries(result.facts);
    if (facts.length > 0) {
      const width = Math.max(...facts.map(([key]) => key.length));
      io.out(`\nscenario facts\n${facts.map(([key, value]) => `  ${key.padEnd(width)}  ${typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(3) : String(value)}`).join('\n')}\n`);
    }
    io.out(`\n${verdict(result, passed)}\n`);
    if (values.svg !== undefined) io.out(`plot written to ${values.svg}\n`);
  }
  return passed ? SIM_EXIT_OK : SIM_EXIT_FAILED;
}

function verdict(result: ScenarioResult, passed: boolean): string {
  const { report } = result;
  if (passed) {
    return `PASS: all ${report.nodes} honest nodes hold all ${report.positions} positions; ${report.verifiedChunks} chunk copies verified by hash, ${report.corrupt} corrupt`;
  }
  const reasons = [
    ...(result.converged ? [] : ['did not converge before the deadline']),
    ...(report.missing > 0 ? [`${report.missing} missing (node, position) pairs`] : []),
    ...(report.corrupt > 0 ? [`${report.corrupt} corrupt chunks stored`] : []),
    ...report.problems.slice(0, 5),
    ...result.errors.slice(0, 5),
  ];
  return `FAIL: ${reasons.join('; ')}`;
}

/** The bad-usage report: one line on stderr, as every atlas command gives (src/cli/main.ts). */
function usage(io: SimCommandIo, message: string): number {
  io.err(`atlas sim: ${oneLine(message)} (see atlas sim --help)\n`);
  return SIM_EXIT_USAGE;
}

type SimValues = ReturnType<typeof parseOptions>['values'];

function parseOptions(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        nodes: { type: 'string' },
        chunks: { type: 'string' },
        seed: { type: 'string' },
        svg: { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    const message = (error as Error).message;
    // node:util's own wording runs on with advice about '--'; the option it names is what matters.
    const unknown = /^Unknown option '([^']*)'/.exec(message);
    throw new SimUsageError(unknown ? `unknown option '${unknown[1]}'` : message);
  }
}

function listing(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  const count = (s: Scenario, size: ScenarioSize) => `${s.defaults[size]} ${s.defaults[size] === 1 ? size.slice(0, -1) : size}`;
  const sizes = (s: Scenario) => {
    const fixed = (['nodes', 'chunks'] as const).filter((size) => s.fixed?.includes(size));
    const free = (['nodes', 'chunks'] as const).filter((size) => !fixed.includes(size));
    return [...(fixed.length > 0 ? [`${fixed.map((size) => count(s, size)).join(', ')} fixed`] : []), ...(free.length > 0 ? [`default ${free.map((size) => count(s, size)).join(', ')}`] : [])].join('; ');
  };
  return SCENARIOS.map((s) => `${s.name.padEnd(width)}  ${s.summary} (${sizes(s)})\n`).join('');
}

/**
 * --nodes and --chunks, each from the scenario's minimum to its bound, taken by the scenario, and
 * their chunk copies within SIM_MAX_STORED_BYTES of memory by the measured estimate (chunkCopiesMemory).
 */
function checkSizes(scenario: Scenario, values: SimValues): { nodes?: number; chunks?: number } {
  const sizes: { nodes?: number; chunks?: number } = {};
  const bounds: Record<ScenarioSize, number> = { nodes: SIM_MAX_NODES, chunks: SIM_MAX_CHUNKS };
  for (const size of ['nodes', 'chunks'] as const) {
    const value = values[size];
    if (value === undefined) continue;
    if (scenario.fixed?.includes(size)) {
      throw new SimUsageError(`--${size} does not apply to the ${scenario.name} scenario, which sets its own ${size} (${scenario.defaults[size]})`);
    }
    sizes[size] = integerOption(value, `--${size}`, scenario.minimums?.[size] ?? 1, bounds[size]) as number;
  }
  const nodes = sizes.nodes ?? scenario.defaults.nodes;
  const chunks = sizes.chunks ?? scenario.defaults.chunks;
  const chunkBytes = scenario.chunkBytes ?? SIM_AVERAGE_CHUNK_BYTES;
  const bytes = chunkCopiesMemory(nodes, chunks, chunkBytes);
  if (bytes > SIM_MAX_STORED_BYTES) {
    const given = (size: ScenarioSize, n: number) => `--${size} ${n}${sizes[size] === undefined ? ' (the default)' : ''}`;
    const copy = chunkBytes + SIM_MEMORY_PER_CHUNK_COPY;
    const count = (n: number) => n.toLocaleString('en-US');
    // What fits: the chunks with these nodes, and the nodes with these chunks, each at least the scenario's minimum.
    const fitChunks = Math.floor(SIM_MAX_STORED_BYTES / (nodes * copy));
    const fitNodes = Math.floor(SIM_MAX_STORED_BYTES / (chunks * copy));
    const fits = [
      ...(!scenario.fixed?.includes('chunks') && fitChunks >= (scenario.minimums?.chunks ?? 1) ? [`--chunks ${fitChunks} with ${nodes} nodes`] : []),
      ...(!scenario.fixed?.includes('nodes') && fitNodes >= (scenario.minimums?.nodes ?? 1) ? [`--nodes ${fitNodes} with ${chunks} chunks`] : []),
    ];
    throw new SimUsageError(
      `${given('nodes', nodes)} x ${given('chunks', chunks)} would take about ${(bytes / GIB).toFixed(1)} GiB of memory for its chunk copies ` +
        `(${count(copy)} B a copy, ${count(chunkBytes)} B of it the chunk, as measured), ` +
        `more than the ${SIM_MAX_STORED_BYTES / GIB} GiB a run may take; ${fits.length > 0 ? `at most ${fits.join(', or ')}` : 'try fewer nodes and chunks'}`,
    );
  }
  return sizes;
}

/** `value` read as every atlas command reads a whole number (readWholeNumber), refused as bad usage naming `flag`. */
function integerOption(value: string | undefined, flag: string, minimum: number, maximum: number): number | undefined {
  if (value === undefined) return undefined;
  const reading = readWholeNumber(value, minimum, maximum);
  if ('problem' in reading) throw new SimUsageError(`${flag} must be ${reading.problem}`);
  return reading.value;
}

/** Refuses an --svg path the plot could not be written to, before the run rather than after it. */
async function checkWritable(file: string): Promise<void> {
  const path = resolve(file);
  const refuse = (why: string) => new SimUsageError(`--svg ${JSON.stringify(file)}: ${why}`);
  try {
    if ((await stat(path)).isDirectory()) throw refuse('is a directory');
    await access(path, constants.W_OK);
    return;
  } catch (error) {
    if (error instanceof SimUsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw refuse('not writable (permission denied)');
    if (code !== 'ENOENT') throw refuse(code === 'ENOTDIR' ? `${dirname(path)} is not a folder` : (error as Error).message);
  }
  await checkCreatable(path, refuse);
}

/**
 * A new file: its folder must exist and take one. Tried for real, created ('wx': never a file that
 * appeared meanwhile) then removed, since access() says yes to root where nothing can be created
 * (/proc, a read-only mount).
 */
async function checkCreatable(path: string, refuse: (why: string) => SimUsageError): Promise<void> {
  const folder = dirname(path);
  const permissionDenied = () => refuse(`cannot create a file in ${folder} (permission denied)`);
  try {
    if (!(await stat(folder)).isDirectory()) throw refuse(`${folder} is not a folder`);
  } catch (error) {
    if (error instanceof SimUsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw refuse(`the folder ${folder} does not exist`);
    if (code === 'ENOTDIR') throw refuse(`${folder} is not a folder`);
    if (code === 'EACCES' || code === 'EPERM') throw permissionDenied();
    throw refuse((error as Error).message);
  }
  let created: FileHandle;
  try {
    created = await open(path, 'wx');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // There since the stat (or a dangling link): not ours to touch; a failed write after the run still says so.
    if (code === 'EEXIST') return;
    if (code === 'EACCES' || code === 'EPERM') throw permissionDenied();
    throw refuse(`cannot create a file in ${folder}: ${(error as Error).message}`);
  }
  await created.close();
  await unlink(path);
}

/**
 * Every `everyMs` of wall time while a scenario runs, one line on stderr: the virtual time, chunk
 * copies delivered so far, the share of (node, position) pairs held, and how many honest nodes
 * hold every position; a long phase (a large network replicating) otherwise shows nothing for
 * minutes. The scenario hands over its Simulation through `watch` (ScenarioOptions.onSimulation).
 */
function reportProgress(io: SimCommandIo, everyMs: number): { watch(sim: Simulation): void; stop(): void } {
  let current: Simulation | undefined;
  const started = performance.now();
  const timer = setInterval(() => {
    if (current !== undefined) io.err(`${progressLine(current, performance.now() - started)}\n`);
  }, everyMs);
  timer.unref();
  return {
    watch(sim) {
      current = sim;
    },
    stop() {
      clearInterval(timer);
      current = undefined;
    },
  };
}

function progressLine(sim: Simulation, wallMs: number): string {
  const honest = sim.honest();
  let complete = 0;
  for (const member of honest) {
    try {
      const stats = member.node?.stats();
      if (stats !== undefined && stats.total > 0 && stats.have >= stats.total) complete++;
    } catch {
      // A node closing meanwhile (churn): not counted.
    }
  }
  const delivered = sim.replication.usefulChunks.toLocaleString('en-US');
  return `[${(sim.clock.now() / 1000).toFixed(1)} s] ${delivered} chunk copies delivered, ${(sim.fractionHeld() * 100).toFixed(1)}% of positions held, ${complete} of ${honest.length} nodes hold every position (${Math.round(wallMs / 1000)} s wall)`;
}
