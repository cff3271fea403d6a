/**
 * Simulator speed on an idle network, in a process of its own (`bench:sim` runs it): `nodes`
 * nodes join from 3 seeds with the default timers, settle for 30 s of virtual time, then run
 * `virtualMs` more with nothing to replicate. The figure is virtual time over wall time for that
 * last stretch (only the timers' and messages' cost). Prints one JSON line (see IdleResult in
 * bench/sim.ts).
 *
 * Plain JavaScript, so that it can run the compiled simulator (dist/, what `atlas sim` and
 * embedders run) with plain `node` and Node's default flags: a TypeScript loader in the process
 * slows even compiled code down. With `--import tsx` it can run the sources instead.
 * Argument: JSON { source: 'dist' | 'src', seed, nodes, virtualMs }.
 */
const request = JSON.parse(process.argv[2] ?? '{}');
const nodes = request.nodes ?? 100;
const virtualMs = request.virtualMs ?? 60_000;
const module = request.source === 'src' ? '../../src/sim/simulation.ts' : '../../dist/sim/simulation.js';
const { Simulation } = await import(module);

const sim = new Simulation({ seed: request.seed ?? 1 });
const names = Array.from({ length: nodes }, (_, i) => `n${i}`);
for (const name of names) await sim.addNode(name, { seeds: names.slice(0, 3).filter((s) => s !== name) });
await sim.runFor(30_000);
const messages = () => sim.all().reduce((sum, m) => sum + sim.network.stats(m.name).messagesOut, 0);
const [v0, f0, m0, t0, c0] = [sim.clock.now(), sim.clock.fired, messages(), performance.now(), process.cpuUsage()];
await sim.runFor(virtualMs);
const cpu = process.cpuUsage(c0);
const result = {
  virtualMs: sim.clock.now() - v0,
  wallMs: performance.now() - t0,
  cpuMs: (cpu.user + cpu.system) / 1000,
  timers: sim.clock.fired - f0,
  messages: messages() - m0,
};
await sim.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
