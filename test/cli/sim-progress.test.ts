/**
 * `atlas sim` shows a long run is alive: every few seconds of wall time (SIM_PROGRESS_EVERY_MS;
 * shorter here through runSimCommand's options) one line on stderr with the chunk copies delivered
 * and the nodes holding every position; none with --quiet; stdout still only the result, valid
 * JSON under --json. The scenario hands the command its Simulation (ScenarioOptions.onSimulation).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSimCommand } from '../../src/sim/cli.js';
import { names, runScenario } from '../../src/sim/scenarios/common.js';
import { mesh } from '../../src/sim/scenarios/spec.js';
import { generateChunks } from '../../src/sim/workload.js';

/** A progress line: `[12.3 s] 1,234 chunk copies delivered, 45.6% of positions held, 2 of 3 nodes hold every position (5 s wall)`. */
const PROGRESS = /^\[\d+\.\d s\] [\d,]+ chunk copies delivered, \d+\.\d% of positions held, (\d+) of (\d+) nodes hold every position \(\d+ s wall\)$/;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

function progressLines(err: readonly string[]): RegExpExecArray[] {
  return err
    .flatMap((chunk) => chunk.split('\n'))
    .map((line) => PROGRESS.exec(line))
    .filter((match) => match !== null);
}

/**
 * mesh's run replaced by a small real one that, before it replicates, runs virtual time until
 * the command has printed a progress line (at most 30 virtual minutes): whether one comes does not
 * hang on how fast the machine is.
 */
function meshWaitingForProgress(err: readonly string[]) {
  return vi.spyOn(mesh, 'run').mockImplementation((options) =>
    runScenario(mesh, options, {}, async (sim, sizes) => {
      const all = names(sizes.nodes);
      const chunks = generateChunks(sizes.chunks, sim.random);
      sim.announce(chunks);
      for (const [i, name] of all.entries()) await sim.addNode(name, { seeds: i === 0 ? [] : [all[0] as string] });
      await sim.runFor(5_000);
      await sim.put(all[0] as string, chunks);
      const seen = await sim.runUntil(() => progressLines(err).length > 0, 30 * 60_000);
      const outcome = await sim.runUntilConverged(30 * 60_000);
      return { converged: outcome.reached, facts: { progressSeen: seen.reached } };
    }),
  );
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('atlas sim progress lines', () => {
  it('prints chunk copies delivered and nodes complete on stderr while a run goes on, and keeps stdout JSON under --json', async () => {
    const { io, out, err } = capture();
    meshWaitingForProgress(err);
    const code = await runSimCommand(['mesh', '--nodes', '3', '--chunks', '20', '--json'], io, { progressEveryMs: 1 });
    const result = JSON.parse(out.join('')) as { passed: boolean; facts: { progressSeen: boolean } };
    expect(result.facts.progressSeen, err.join('')).toBe(true);
    expect(code).toBe(0);
    expect(result.passed).toBe(true);
    const lines = progressLines(err);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line[2]).toBe('3');
    // Every stderr line is a progress line or a scenario step: nothing else, nothing on stdout but the JSON.
    for (const line of err.join('').split('\n').filter((l) => l !== '')) expect(line).toMatch(/^\[\d+\.\d s\] /);
  });

  it('prints none with --quiet', async () => {
    const { io, out, err } = capture();
    vi.spyOn(mesh, 'run').mockImplementation((options) =>
      runScenario(mesh, options, {}, async (sim, sizes) => {
        for (const name of names(sizes.nodes)) await sim.addNode(name);
        await sim.runFor(60_000);
        return { converged: true };
      }),
    );
    await runSimCommand(['mesh', '--nodes', '2', '--chunks', '1', '--quiet'], io, { progressEveryMs: 1 });
    expect(out.join('')).toMatch(/PASS|FAIL/);
    expect(progressLines(err)).toEqual([]);
  });

  it('a real run: stdout valid JSON, stderr only progress and step lines', async () => {
    const { io, out, err } = capture();
    expect(await runSimCommand(['mesh', '--nodes', '5', '--chunks', '30', '--json'], io, { progressEveryMs: 1 })).toBe(0);
    expect((JSON.parse(out.join('')) as { passed: boolean }).passed).toBe(true);
    for (const line of err.join('').split('\n').filter((l) => l !== '')) expect(line).toMatch(/^\[\d+\.\d s\] /);
    expect(err.join('')).toContain('30 chunks put at random nodes');
  });
});
