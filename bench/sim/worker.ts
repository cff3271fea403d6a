/**
 * Runs one simulator scenario in its own process (so that each network size gets its own heap,
 * and its peak memory is its own) and prints the outcome as one JSON line on stdout.
 * Argument: JSON { scenario, seed, nodes?, chunks?, tuning? }. (The simulator's speed on an idle
 * network is measured by idle.mjs.)
 */
import { findScenario } from '../../src/sim/scenarios/index.js';
import type { SimNodeTuning } from '../../src/sim/simulation.js';

interface WorkerRequest {
  scenario: string;
  seed: number;
  nodes?: number;
  chunks?: number;
  tuning?: SimNodeTuning;
}

const request = JSON.parse(process.argv[2] ?? '{}') as WorkerRequest;
const scenario = findScenario(request.scenario);
if (!scenario) throw new Error(`unknown scenario ${request.scenario}`);
const started = performance.now();
const result = await scenario.run({
  seed: request.seed,
  ...(request.nodes !== undefined ? { nodes: request.nodes } : {}),
  ...(request.chunks !== undefined ? { chunks: request.chunks } : {}),
  ...(request.tuning ? { simulation: { tuning: request.tuning } } : {}),
  log: (line) => process.stderr.write(`  [${request.scenario} ${request.nodes ?? ''}] ${line}\n`),
});
process.stdout.write(
  `${JSON.stringify({
    converged: result.converged,
    ok: result.report.ok,
    errors: result.errors.length,
    figures: result.figures,
    facts: result.facts,
    wallMs: performance.now() - started,
  })}\n`,
);
