/**
 * Integrity under two quiet attacks, each beside an honest-only control of the same seed:
 *
 * - omission-liar: a quarter of the peers claim every chunk, answer every other call perfectly,
 *   pass one-chunk audits for what they hold, and answer every larger get with a valid empty
 *   reply (no chunk, no "don't have");
 * - staller: a quarter of the peers claim every chunk and never answer a get.
 *
 * Everyone joins, then every chunk is put at the seed. The control runs the same honest network
 * (same seed, same names, same joins, same puts) without the attackers. Both runs measure the
 * time from the first put until every honest node holds every chunk; the attacked run must stay within a small
 * factor of the control, store nothing corrupt, and (staller) drop every staller from the
 * neighbour sets within the time the README promises.
 */
import { shuffle } from '../../runtime.js';
import type { ByzantineBehaviour } from '../byzantine.js';
import type { Simulation } from '../simulation.js';
import { generateChunks } from '../workload.js';
import { log, names, runScenario, type Fact, type Scenario, type ScenarioOptions, type ScenarioResult, type ScenarioShape } from './common.js';

const DEADLINE_MS = 10 * 60_000;
const WARM_UP_MS = 30_000;
/** After convergence the run goes on this long, watching how long attackers stay neighbours. */
const WATCH_MS = 5 * 60_000;
const POLL_MS = 1_000;
const SHARE = 0.25;

function integrityScenario(name: string, behaviour: ByzantineBehaviour, summary: string): Scenario {
  const scenario: Scenario = {
    name,
    summary,
    defaults: { nodes: 16, chunks: 200 },
    minimums: { nodes: 4 },
    run: async (options) => {
      const control = await runOnce({ ...scenario, name: `${name}-control` }, options, undefined);
      const attacked = await runOnce(scenario, options, behaviour);
      const after = attacked.facts.convergedAfterPutsMs as number;
      const reference = control.facts.convergedAfterPutsMs as number;
      attacked.facts = {
        ...attacked.facts,
        controlConverged: control.converged,
        controlConvergedAfterPutsMs: reference,
        controlCorrupt: control.report.corrupt,
        ratioToControl: reference > 0 ? after / reference : Number.POSITIVE_INFINITY,
      };
      return attacked;
    },
  };
  return scenario;
}

async function runOnce(scenario: ScenarioShape, options: ScenarioOptions, behaviour: ByzantineBehaviour | undefined): Promise<ScenarioResult> {
  return runScenario(scenario, options, {}, async (sim, sizes) => {
    const total = sizes.nodes;
    const attackers = names(Math.max(1, Math.round(total * SHARE)), 'x');
    const honest = names(total - attackers.length);
    const seed = honest[0] as string;
    const isAttacker = new Set(attackers);
    const joining = [...honest.slice(1), ...attackers];
    shuffle(joining, sim.random);
    const chunks = generateChunks(sizes.chunks, sim.random);
    sim.announce(chunks);
    // Everyone joins and settles (the attackers are real nodes, neighbours like any other); then
    // every chunk is put at the seed, so the others get it through offers and downloads, where
    // holders that claim everything compete with the honest ones for every request.
    await sim.addNode(seed);
    for (const member of joining) {
      if (!isAttacker.has(member)) await sim.addNode(member, { seeds: [seed] });
      else if (behaviour !== undefined) await sim.addNode(member, { seeds: [seed], behaviour });
    }
    const stints = watchNeighbourStints(sim, honest, isAttacker);
    await sim.runFor(WARM_UP_MS);
    const putsAt = sim.clock.now();
    for (const chunk of chunks) await sim.put(seed, [chunk]);
    const outcome = await sim.runUntil(() => allHold(sim, honest), DEADLINE_MS);
    log(options, sim, `${scenario.name}: converged ${outcome.reached}`);
    await sim.runFor(WATCH_MS);
    stints.stop();
    const facts: Record<string, Fact> = {
      attackers: behaviour === undefined ? 0 : attackers.length,
      honest: honest.length,
      convergedAfterPutsMs: outcome.reached ? outcome.at - putsAt : Number.POSITIVE_INFINITY,
      longestAttackerNeighbourMs: stints.longest(),
      attackerNeighboursAtEnd: stints.current(),
      unansweredAddresses: sum(sim, honest, (stats) => stats.downloads.unansweredAddresses),
      auditsFailed: sum(sim, honest, (stats) => stats.audits.failed),
      rejectedChunks: sim.chunkTraffic().rejected,
    };
    return { converged: outcome.reached, facts, complete: honest.map((member) => sim.get(member)).filter((m) => m !== undefined) };
  });
}

type Stats = ReturnType<NonNullable<NonNullable<ReturnType<Simulation['get']>>['node']>['stats']>;

function stats(sim: Simulation, name: string): Stats | undefined {
  return sim.get(name)?.node?.stats();
}

function allHold(sim: Simulation, nodes: readonly string[]): boolean {
  return nodes.every((name) => {
    const s = stats(sim, name);
    return s !== undefined && s.total > 0 && s.have === s.total;
  });
}

function sum(sim: Simulation, nodes: readonly string[], of: (stats: Stats) => number): number {
  return nodes.reduce((total, name) => total + (sim.get(name)?.node ? of(stats(sim, name) as Stats) : 0), 0);
}

/** Polls honest neighbour sets: how long any attacker stayed one honest node's neighbour, at most. */
function watchNeighbourStints(sim: Simulation, honest: readonly string[], isAttacker: ReadonlySet<string>) {
  const open = new Map<string, number>();
  let longest = 0;
  let stopped = false;
  let now = 0;
  const poll = () => {
    if (stopped) return;
    now = sim.clock.now();
    const current = new Set<string>();
    for (const name of honest) for (const peer of stats(sim, name)?.neighbors ?? []) if (isAttacker.has(peer)) current.add(`${name} ${peer}`);
    for (const key of current) if (!open.has(key)) open.set(key, now);
    for (const [key, since] of [...open]) {
      longest = Math.max(longest, now - since);
      if (!current.has(key)) open.delete(key);
    }
    sim.at(now + POLL_MS, poll);
  };
  poll();
  return {
    longest: () => longest,
    current: () => open.size,
    stop: () => {
      stopped = true;
    },
  };
}

export const omissionLiar = integrityScenario(
  'omission-liar',
  'omit',
  'a quarter of the peers claim every chunk and answer multi-chunk gets with valid empty replies: honest nodes converge within 1.5x the honest-only control, nothing corrupt stored',
);

export const staller = integrityScenario(
  'staller',
  'stall',
  'a quarter of the peers claim every chunk and never answer a get: honest nodes converge within 1.5x the honest-only control and drop every staller as a neighbour within 70 s',
);
