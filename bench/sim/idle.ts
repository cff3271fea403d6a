/**
 * Simulator speed on an idle network: `nodes` nodes join from 3 seeds with the default timers,
 * settle for 30 s of virtual time, then run `virtualMs` more with nothing to replicate. The figure
 * is virtual time over wall time for that last stretch (only the timers' and messages' cost).
 */
import { Simulation } from '../../src/sim/simulation.js';

export interface IdleResult {
  virtualMs: number;
  wallMs: number;
  /** CPU time (user + system) of the process over the same stretch: less noisy than wall time on a shared machine. */
  cpuMs: number;
  timers: number;
  messages: number;
}

export async function idleSpeed(nodes: number, virtualMs: number, seed = 1): Promise<IdleResult> {
  const sim = new Simulation({ seed });
  try {
    const names = Array.from({ length: nodes }, (_, i) => `n${i}`);
    for (const name of names) await sim.addNode(name, { seeds: names.slice(0, 3).filter((s) => s !== name) });
    await sim.runFor(30_000);
    const messages = () => sim.all().reduce((sum, m) => sum + sim.network.stats(m.name).messagesOut, 0);
    const [v0, f0, m0, t0, c0] = [sim.clock.now(), sim.clock.fired, messages(), performance.now(), process.cpuUsage()];
    await sim.runFor(virtualMs);
    const cpu = process.cpuUsage(c0);
    return {
      virtualMs: sim.clock.now() - v0,
      wallMs: performance.now() - t0,
      cpuMs: (cpu.user + cpu.system) / 1000,
      timers: sim.clock.fired - f0,
      messages: messages() - m0,
    };
  } finally {
    await sim.close();
  }
}
