/**
 * Faults beyond SPEC §8 in the simulator (partition and heal, Byzantine peers, a reorganisation
 * mid-sync, a late joiner).
 */
import { describe, expect, it } from 'vitest';
import { DETECTABLE_BEHAVIOURS, findScenario, type ScenarioOptions, type ScenarioResult } from '../../src/sim/scenarios/index.js';
import { DEFAULT_DOWNLOADER } from '../../src/sync/downloader-options.js';
import { expectStrict } from './strict.js';

async function run(name: string, options: Partial<ScenarioOptions> = {}): Promise<ScenarioResult> {
  const scenario = findScenario(name);
  if (!scenario) throw new Error(`no scenario ${name}`);
  return scenario.run({ seed: 23, ...options });
}

const LONG = 240_000;

describe('faults in the simulator', () => {
  it('partition: each half converges on its own chunks, nothing crosses the cut, then everything after the heal', async () => {
    const result = await run('partition');
    expectStrict(result);
    expect(result.facts.sidesConverged).toBe(true);
    expect(result.facts.leakedBeforeHeal).toBe(0);
    expect(result.report.positions).toBe(200);
  });

  it(
    '20% Byzantine peers: honest nodes converge, nothing corrupt is stored, liars are dropped by the nodes that use them',
    async () => {
      const result = await run('byzantine', { nodes: 30, chunks: 100 });
      expectStrict(result);
      expect(result.facts.byzantine).toBe(6);
      // The attack happened: bad replies reached honest nodes, to their downloads (corrupt chunks
      // refused) and to their audits.
      expect(result.facts.rejectedChunks as number).toBeGreaterThan(0);
      expect(result.facts.auditsFailed as number).toBeGreaterThan(0);
      // A neighbour that sent corrupt chunks is blocked at once (proof: every honest peer checks
      // what it serves), not when its refuted claims, which leave audits nothing to check, expire.
      expect(result.facts['longestNeighbourMs.corrupt'] as number).toBeLessThanOrEqual(15_000);
      for (const behaviour of DETECTABLE_BEHAVIOURS) {
        // Honest nodes caught the liar and dropped it from their tables (stints often end between
        // two 5 s polls, so the removals are counted as they happen)...
        if (behaviour !== 'stall') expect(result.facts[`removedForOffences.${behaviour}`] as number, behaviour).toBeGreaterThan(0);
        // ...the stints a poll saw end with it dropped rather than merely rotated out by renewal (a
        // staller leaves the neighbour set within 60 s and is kept out of it, but stays in the table)...
        if (behaviour === 'stall') {
          expect(result.facts['droppedAsNeighbour.stall'] as number).toBeGreaterThan(0);
          expect(result.facts['longestNeighbourMs.stall'] as number).toBeLessThanOrEqual(60_000 + 5_000); // polled every 5 s
        } else {
          const dropped = result.facts[`droppedAsNeighbour.${behaviour}`] as number;
          const replaced = result.facts[`replacedAsNeighbour.${behaviour}`] as number;
          if (dropped + replaced > 0) expect(dropped, behaviour).toBeGreaterThan(replaced);
        }
        // ...and no liar lasted more than five minutes as anyone's neighbour.
        expect(result.facts[`longestNeighbourMs.${behaviour}`] as number, behaviour).toBeLessThanOrEqual(5 * 60_000);
      }
      // Peer-exchange floods fill no table with bogus peers and stay within the bounds.
      expect(result.facts.bogusAdmitted).toBe(0);
      expect(result.facts.maxPendingPeers as number).toBeLessThanOrEqual(800);
      expect(result.facts.maxPeers as number).toBeLessThanOrEqual(29);
    },
    LONG,
  );

  it('reorg mid-sync: the rollback and the new branch end the same on every node', async () => {
    const result = await run('reorg');
    expectStrict(result);
    expect(result.facts.midSync).toBe(true);
    expect(result.facts.rolledBackTo).toBe(180);
    expect(result.facts.sequenceLength).toBe(180 + 90 + 10);
    expect(result.facts.distinctSequenceDigests).toBe(1);
    expect(result.facts.droppedStillAnnounced).toBe(0);
  });

  it('late joiner: a new node catches up with an established network', async () => {
    const result = await run('late-joiner');
    expectStrict(result);
    expect(result.figures.honestNodes).toBe(20);
    // 500 chunks, at most downloads.batchSize (500) per get: it fetched them, not only had them pushed
    expect(result.facts.joinerRequests as number).toBeGreaterThanOrEqual(Math.ceil(500 / DEFAULT_DOWNLOADER.batchSize));
    expect(result.facts.catchUpMs as number).toBeGreaterThan(0);
  });

  it('late joiner over a long round trip: asked in wide requests, half as many as over a short one', async () => {
    const chunks = 3 * DEFAULT_DOWNLOADER.wideBatchSize;
    const far = await run('late-joiner', { nodes: 4, chunks, simulation: { latencyMs: DEFAULT_DOWNLOADER.longRoundTripMs } }); // a round trip of twice that
    const near = await run('late-joiner', { nodes: 4, chunks, simulation: { latencyMs: 5 } });
    for (const result of [far, near]) expectStrict(result);
    expect(near.facts.joinerRequests).toBe(chunks / DEFAULT_DOWNLOADER.batchSize);
    expect(far.facts.joinerRequests).toBe(chunks / DEFAULT_DOWNLOADER.wideBatchSize);
    expect(far.facts.joinerDuplicates).toBe(0);
  });
});
