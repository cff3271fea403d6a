/**
 * What every scenario shares: its options and result, running a Simulation to the end whatever
 * happens, and the strict verdict (every bit on every honest node, bytes verified by hash, no
 * corrupt chunk anywhere).
 */
import { randomInt, type Random } from '../../runtime.js';
import { collectFigures, type SimulationFigures } from '../figures.js';
import type { ReplicationSample } from '../replication.js';
import { Simulation, type SimNode, type SimulationOptions } from '../simulation.js';
import { verifyReplication, type ReplicationReport } from '../verify.js';

export interface ScenarioOptions {
  seed: number;
  /** Total nodes (honest and Byzantine); each scenario has its own default. */
  nodes?: number;
  /** Chunks announced and put; each scenario has its own default. */
  chunks?: number;
  /** Progress lines, e.g. for the CLI. */
  log?: (line: string) => void;
  /** Called with the Simulation as soon as it is built, before it runs: a watcher (`atlas sim`'s progress lines) reads it as it goes. */
  onSimulation?: (sim: Simulation) => void;
  /** Extra simulation options (latency, drops...). */
  simulation?: Partial<Omit<SimulationOptions, 'seed'>>;
}

/** One scenario-specific observation (`ScenarioResult.facts`). */
export type Fact = number | boolean | string;

export interface ScenarioResult {
  scenario: string;
  /** Every honest node held every position before the deadline (by the nodes' inventories). */
  converged: boolean;
  /** The strict check, byte for byte, after the run. */
  report: ReplicationReport;
  figures: SimulationFigures;
  samples: readonly ReplicationSample[];
  /** Scenario-specific observations, for its test to judge. */
  facts: Record<string, Fact>;
  /** Errors honest nodes emitted and scenario actions that failed (there should be none). */
  errors: string[];
}

/** A size a scenario may take from its options (`atlas sim --nodes` / `--chunks`). */
export type ScenarioSize = 'nodes' | 'chunks';

export interface Scenario {
  name: string;
  summary: string;
  defaults: { nodes: number; chunks: number };
  /** Sizes the scenario sets itself, whatever its options say (`atlas sim` refuses their flags); default none. */
  fixed?: readonly ScenarioSize[];
  /** Bytes of each chunk it generates, when not the workload's mix (about 180 on average): what `atlas sim` bounds memory with. */
  chunkBytes?: number;
  /** Least of each size the scenario can run with (a smaller one is refused with ScenarioSizeError); default 1. */
  minimums?: Readonly<Partial<Record<ScenarioSize, number>>>;
  run(options: ScenarioOptions): Promise<ScenarioResult>;
}

/** What a run's sizes are read from: the scenario's name (for its result), defaults, fixed sizes and minimums. */
export type ScenarioShape = Pick<Scenario, 'name' | 'defaults' | 'fixed' | 'minimums'>;

/** The sizes one run takes. */
export type ScenarioSizes = Record<ScenarioSize, number>;

/** What a scenario body returns: convergence and its own facts. */
export interface ScenarioBody {
  converged: boolean;
  facts?: Record<string, Fact>;
  /** Nodes held to the full criterion; default every honest node. */
  complete?: readonly SimNode[];
}

/**
 * Runs `body` on a fresh Simulation sized by `options`, then verifies, measures and closes it, even
 * on failure. Sizes below the scenario's minimums are refused first, before anything is built.
 */
export async function runScenario(
  scenario: ScenarioShape,
  options: ScenarioOptions,
  defaults: Partial<Omit<SimulationOptions, 'seed'>>,
  body: (sim: Simulation, sizes: ScenarioSizes) => Promise<ScenarioBody>,
): Promise<ScenarioResult> {
  const { name } = scenario;
  const sizes = scenarioSizes(scenario, options);
  const sim = new Simulation({ ...defaults, ...options.simulation, seed: options.seed });
  try {
    options.onSimulation?.(sim);
    const outcome = await body(sim, sizes);
    const complete = outcome.complete ?? sim.honest();
    const report = verifyReplication(
      sim.chain,
      complete.map((m) => ({ name: m.name, store: m.store })),
      sim.all().filter((m) => !complete.includes(m)).map((m) => ({ name: m.name, store: m.store })),
    );
    const figures = collectFigures(sim);
    return {
      scenario: name,
      converged: outcome.converged,
      report,
      figures,
      samples: [...sim.replication.samples],
      facts: outcome.facts ?? {},
      errors: [...sim.failures.map((e) => `scenario action: ${e}`), ...sim.honest().flatMap((m) => m.errors.map((e) => `${m.name}: ${e}`))],
    };
  } finally {
    await sim.close();
  }
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[randomInt(random, items.length)] as T;
}

/** Node names n0..n(count-1). */
export function names(count: number, prefix = 'n'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** A scenario size below what the scenario needs (atlas sim reports it as bad usage). */
export class ScenarioSizeError extends RangeError {
  override name = 'ScenarioSizeError';
}

/** The sizes `options` ask of `scenario`: each its default when not given (or fixed), and at least its minimum; ScenarioSizeError otherwise. */
export function scenarioSizes(scenario: ScenarioShape, options: ScenarioOptions): ScenarioSizes {
  const size = (what: ScenarioSize): number =>
    scenario.fixed?.includes(what) ? scenario.defaults[what] : positiveInteger(options[what], scenario.defaults[what], what, scenario.minimums?.[what]);
  return { nodes: size('nodes'), chunks: size('chunks') };
}

/** `value` (else `fallback`) as a whole number of at least `minimum`; ScenarioSizeError otherwise. */
function positiveInteger(value: number | undefined, fallback: number, what: string, minimum = 1): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < minimum) throw new ScenarioSizeError(`${what} must be an integer >= ${minimum}, got ${value}`);
  return n;
}

/** Cuts every link between two distinct members of `group`, both ways. */
export function isolateFromEachOther(sim: Simulation, group: readonly string[]): void {
  for (const a of group) for (const b of group) if (a !== b) sim.network.block(a, b);
}

export function log(options: ScenarioOptions, sim: Simulation, line: string): void {
  options.log?.(`[${(sim.clock.now() / 1000).toFixed(1)} s] ${line}`);
}
