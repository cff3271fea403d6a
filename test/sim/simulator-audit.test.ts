/**
 * Audits of neighbours' claims (sync/audit.ts) seen from the simulator: a peer that claims every
 * chunk and serves none is caught and dropped by the honest nodes that use it once they hold data
 * to check it against; with audits off, the same liar keeps its place.
 */
import { describe, expect, it } from 'vitest';
import { Simulation } from '../../src/sim/simulation.js';
import { generateChunks } from '../../src/sim/workload.js';

async function liarRun(auditEveryMs: number | undefined): Promise<{ neighbours: number; inTables: number; failedAudits: number; passedAudits: number; converged: boolean }> {
  const sim = new Simulation({ seed: 5, ...(auditEveryMs === undefined ? {} : { tuning: { audit: { everyMs: auditEveryMs } } }) });
  try {
    const chunks = generateChunks(40, sim.random);
    sim.announce(chunks);
    await sim.addNode('n0');
    for (let i = 1; i < 6; i++) await sim.addNode(`n${i}`, { seeds: ['n0'] });
    await sim.addNode('liar', { seeds: ['n0'], behaviour: 'liar' });
    await sim.runFor(10_000);
    for (const chunk of chunks) await sim.put('n1', [chunk]);
    const outcome = await sim.runUntilConverged(600_000);
    await sim.runFor(10 * 60_000);
    const honest = sim.honest();
    return {
      converged: outcome.reached,
      neighbours: honest.filter((m) => m.node?.stats().neighbors.includes('liar')).length,
      inTables: honest.filter((m) => m.table.has('liar')).length,
      failedAudits: honest.reduce((sum, m) => sum + (m.node?.stats().audits.failed ?? 0), 0),
      passedAudits: honest.reduce((sum, m) => sum + (m.node?.stats().audits.passed ?? 0), 0),
    };
  } finally {
    await sim.close();
  }
}

describe('audits of neighbours', () => {
  it('catch a peer that claims everything and serves nothing; without them it stays', async () => {
    const [audited, unaudited] = await Promise.all([liarRun(undefined), liarRun(0)]);
    expect(audited.converged && unaudited.converged).toBe(true);
    // In a network this small every honest node makes the liar a neighbour at some point.
    expect(unaudited.neighbours).toBeGreaterThan(0);
    // Without audits only the liar's replies to downloads count against it (each "don't have" for a
    // position it claims is withholding): some tables may drop it, but it keeps a neighbour place.
    expect(unaudited.inTables).toBeGreaterThan(0);
    expect(unaudited.failedAudits + unaudited.passedAudits).toBe(0);
    expect(audited.failedAudits).toBeGreaterThan(0);
    expect(audited.passedAudits).toBeGreaterThan(0); // honest neighbours pass
    expect(audited.neighbours).toBe(0);
    expect(audited.inTables).toBeLessThan(6);
  });
});
