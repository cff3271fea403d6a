/** Every scenario by name, for the CLI, the tests and the benchmark. */
import type { Scenario } from './common.js';
import { byzantine, lateJoiner, partition, reorg } from './faults.js';
import { omissionLiar, staller } from './integrity.js';
import { scale, spread } from './scale.js';
import { bigChunks, churn, inventory, line, mesh, peerExchange, star, storage } from './spec.js';

export type { Fact, Scenario, ScenarioOptions, ScenarioResult, ScenarioSize } from './common.js';
export { DETECTABLE_BEHAVIOURS } from './faults.js';
export { INVENTORY_RANGES } from './spec.js';

export const SCENARIOS: readonly Scenario[] = Object.freeze([
  mesh,
  line,
  star,
  churn,
  storage,
  peerExchange,
  bigChunks,
  inventory,
  partition,
  byzantine,
  omissionLiar,
  staller,
  reorg,
  lateJoiner,
  scale,
  spread,
]);

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((scenario) => scenario.name === name);
}
