/**
 * A scenario asked for fewer nodes or chunks than it needs refuses before it builds anything: no
 * Simulation (and so no node, store or timer) is constructed. Each construction is counted by a
 * subclass standing in for Simulation.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { scenarioSizes, ScenarioSizeError, type Scenario, type ScenarioSize } from '../../src/sim/scenarios/common.js';
import { SCENARIOS } from '../../src/sim/scenarios/index.js';

const built = vi.hoisted(() => ({ simulations: 0 }));

vi.mock('../../src/sim/simulation.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/sim/simulation.js')>();
  class CountedSimulation extends original.Simulation {
    constructor(...args: ConstructorParameters<typeof original.Simulation>) {
      built.simulations += 1;
      super(...args);
    }
  }
  return { ...original, Simulation: CountedSimulation };
});

const SIZES: readonly ScenarioSize[] = ['nodes', 'chunks'];

/** Each size a scenario takes from its options (not one it sets itself). */
function freeSizes(scenario: Scenario): ScenarioSize[] {
  return SIZES.filter((size) => !scenario.fixed?.includes(size));
}

function minimumOf(scenario: Scenario, size: ScenarioSize): number {
  return scenario.minimums?.[size] ?? 1;
}

beforeEach(() => {
  built.simulations = 0;
});

/** Each scenario's minimums, as its body needed them (a size absent: 1). */
const MINIMUMS: Record<string, Partial<Record<ScenarioSize, number>>> = {
  mesh: { nodes: 2 },
  line: { nodes: 3, chunks: 2 },
  star: { nodes: 3, chunks: 2 },
  churn: { nodes: 4 },
  storage: { nodes: 2, chunks: 2 },
  'peer-exchange': { nodes: 3 },
  'big-chunks': { nodes: 2 },
  inventory: {},
  partition: { nodes: 4, chunks: 2 },
  byzantine: { nodes: 6 },
  'omission-liar': { nodes: 4 },
  staller: { nodes: 4 },
  reorg: { nodes: 2, chunks: 10 },
  'late-joiner': { nodes: 2 },
  scale: { nodes: 2 },
  spread: { nodes: 2 },
};

describe('scenario size minimums', () => {
  it('are what each scenario needs, for every scenario', () => {
    expect(Object.fromEntries(SCENARIOS.map((scenario) => [scenario.name, { ...scenario.minimums }]))).toEqual(MINIMUMS);
  });

  it('refuses a size of 0 before constructing any Simulation', async () => {
    for (const scenario of SCENARIOS) {
      for (const size of freeSizes(scenario)) {
        await expect(scenario.run({ seed: 1, [size]: 0 }), `${scenario.name} ${size}`).rejects.toThrow(ScenarioSizeError);
        expect(built.simulations, `${scenario.name} ${size}`).toBe(0);
      }
    }
  });

  it('refuses one below each declared minimum before constructing any Simulation, naming the size and its minimum', async () => {
    for (const scenario of SCENARIOS) {
      for (const size of freeSizes(scenario)) {
        const minimum = minimumOf(scenario, size);
        await expect(scenario.run({ seed: 1, [size]: minimum - 1 }), `${scenario.name} ${size}`).rejects.toThrow(`${size} must be an integer >= ${minimum}, got ${minimum - 1}`);
        expect(built.simulations, `${scenario.name} ${size}`).toBe(0);
      }
    }
  });

  it('takes each minimum and each default, and a fixed size whatever the options say', () => {
    for (const scenario of SCENARIOS) {
      expect(scenarioSizes(scenario, { seed: 1 }), scenario.name).toEqual(scenario.defaults);
      const least = Object.fromEntries(freeSizes(scenario).map((size) => [size, minimumOf(scenario, size)]));
      expect(scenarioSizes(scenario, { seed: 1, ...least }), scenario.name).toEqual({ ...scenario.defaults, ...least });
    }
    const inventory = SCENARIOS.find((s) => s.name === 'inventory')!;
    expect(inventory.fixed).toContain('nodes');
    expect(scenarioSizes(inventory, { seed: 1, nodes: 0 }).nodes).toBe(inventory.defaults.nodes);
  });

  it('still builds a Simulation for a size it takes', async () => {
    const inventory = SCENARIOS.find((s) => s.name === 'inventory')!;
    const result = await inventory.run({ seed: 1, chunks: 1 });
    expect(result.report.ok).toBe(true);
    expect(built.simulations).toBe(1);
  });
});
