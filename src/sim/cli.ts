/**
 * `atlas sim <scenario> [--nodes N] [--chunks M] [--seed S] [--svg FILE] [--json]`: runs one
 * simulated scenario, prints a summary table (or JSON) and, with --svg, writes the plot of
 * replication over time. Exit code 0 when the strict criterion held, 1 when it did not, 2 on a
 * usage error.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatFigures } from './figures.js';
import { findScenario, SCENARIOS, type ScenarioResult } from './scenarios/index.js';
import { replicationSvg } from './svg.js';

export const SIM_EXIT_OK = 0;
export const SIM_EXIT_FAILED = 1;
export const SIM_EXIT_USAGE = 2;

export interface SimCommandIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: SimCommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export const SIM_USAGE = `usage: atlas sim <scenario> [--nodes N] [--chunks M] [--seed S] [--svg FILE] [--json] [--quiet]
       atlas sim --list

Runs a scenario in the deterministic simulator (virtual time, one seed) and checks the strict
criterion: every bit of the sequence on every honest node, every chunk's bytes verified by hash.
The same scenario and seed always give the same run (compare the trace digest).

  --nodes N     nodes in the network (each scenario has a default)
  --chunks M    chunks announced and put (each scenario has a default)
  --seed S      the run's seed (default 1)
  --svg FILE    write replication over time (min / median / max share of nodes holding a chunk)
  --json        print the result as JSON instead of the table
  --quiet       no progress lines on stderr
  --list        list the scenarios
`;

/** Runs the command on `argv` (the words after "sim"), resolving to the exit code. */
export async function runSimCommand(argv: string[], io: SimCommandIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
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
    io.err(`atlas sim: ${(error as Error).message}\n${SIM_USAGE}`);
    return SIM_EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(SIM_USAGE);
    return SIM_EXIT_OK;
  }
  if (values.list) {
    const width = Math.max(...SCENARIOS.map((s) => s.name.length));
    for (const s of SCENARIOS) io.out(`${s.name.padEnd(width)}  ${s.summary} (default ${s.defaults.nodes} nodes, ${s.defaults.chunks} chunks)\n`);
    return SIM_EXIT_OK;
  }
  if (positionals.length !== 1) {
    io.err(`atlas sim: name one scenario (${SCENARIOS.map((s) => s.name).join(', ')})\n${SIM_USAGE}`);
    return SIM_EXIT_USAGE;
  }
  const name = positionals[0] as string;
  const scenario = findScenario(name);
  if (!scenario) {
    io.err(`atlas sim: unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    return SIM_EXIT_USAGE;
  }
  let nodes: number | undefined;
  let chunks: number | undefined;
  let seed: number;
  try {
    nodes = integerOption(values.nodes, '--nodes', 1);
    chunks = integerOption(values.chunks, '--chunks', 1);
    seed = integerOption(values.seed, '--seed', 0) ?? 1;
  } catch (error) {
    io.err(`atlas sim: ${(error as Error).message}\n`);
    return SIM_EXIT_USAGE;
  }

  let result: ScenarioResult;
  try {
    result = await scenario.run({
      seed,
      ...(nodes !== undefined ? { nodes } : {}),
      ...(chunks !== undefined ? { chunks } : {}),
      ...(values.quiet || values.json ? {} : { log: (line: string) => io.err(`${line}\n`) }),
    });
  } catch (error) {
    io.err(`atlas sim: ${name} could not run: ${(error as Error).message}\n`);
    return error instanceof RangeError ? SIM_EXIT_USAGE : SIM_EXIT_FAILED;
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
      io.err(`atlas sim: cannot write ${values.svg}: ${(error as Error).message}\n`);
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

function integerOption(value: string | undefined, flag: string, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < minimum) throw new RangeError(`${flag} must be an integer >= ${minimum}, got "${value}"`);
  return n;
}
