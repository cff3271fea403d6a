/**
 * Security review, eclipse (issue 6, item 4). In virtual time, a victim with ONE seed joins a
 * network where attackers outnumber honest peers two to one. The attackers collude:
 *  - their peer lists name only attackers, so a random walk that enters their region never leaves;
 *  - they hold nothing, take nothing (puts and offers ignored) and never download;
 *  - they are otherwise well behaved (they answer pings, peer lists and inventories), so nothing
 *    penalises them.
 * An eclipsed victim stops receiving new chunks, so the test is end to end: new chunks are
 * announced and put to a random honest peer every two minutes all through the run, and the victim
 * must receive each of them promptly and keep at least one honest neighbour at every sample.
 * A control shows the attack has teeth: almost all the victim's random-walk calls land on
 * attackers (a walk sampling uniformly would send them about two thirds).
 */
import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { randomInt, seededRandom, shuffle } from '../../src/runtime.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { LyingTransport } from './hostile/lying-transport.js';

const HONEST = 4;
const ATTACKERS = 16;
const MINUTE = 60_000;
const SAMPLE_MS = 15_000;

interface EclipseRun {
  /** How many of the victim's neighbours were honest, every SAMPLE_MS from the victim's start. */
  honestNeighbours: number[];
  /** Each batch of new chunks: when it was put, and when the victim held all of it. */
  batches: { at: number; receivedAt: number | undefined }[];
  /** The victim's peer-list calls that landed on attackers, and on honest peers. */
  walkCalls: { attackers: number; honest: number };
  end: number;
}

async function simulate(seed: number, durationMs: number): Promise<EclipseRun> {
  const clock = new VirtualClock();
  const random = seededRandom(seed);
  const network = new MemoryNetwork({ clock, random: seededRandom(seed + 1), latencyMs: (_a, _b, r) => 10 + r() * 40 });
  const chain = new MemoryChain();
  const nodes: AtlasNode[] = [];
  const honest = Array.from({ length: HONEST }, (_, i) => `honest-${i}`);
  const attackers = Array.from({ length: ATTACKERS }, (_, i) => `attacker-${i}`);
  const transports = new Map<string, LyingTransport>();
  const open = async (name: string, transport: LyingTransport, seeds: string[], extra: object = {}) => {
    transports.set(name, transport);
    const node = await AtlasNode.open({ chain, transport, seeds, network: 'eclipsenet', addressPolicy: LOCAL_ADDRESS_POLICY, clock, random: seededRandom(seed * 1_000 + nodes.length), ...extra });
    await node.start();
    nodes.push(node);
    return node;
  };

  const honestNodes: AtlasNode[] = [];
  for (const name of honest) {
    const transport = new LyingTransport(network.transport(name), (_method, _params, answer) => answer()); // counts calls only
    honestNodes.push(await open(name, transport, name === honest[0] ? [] : [honest[0] as string]));
  }
  const attackerRandom = seededRandom(seed + 2);
  for (const name of attackers) {
    const transport = new LyingTransport(network.transport(name), async (method, params, answer, context) => {
      if (method === 'peers') return { peers: shuffle(attackers.filter((a) => a !== name && a !== context.remote), attackerRandom).slice(0, 80) };
      if (method === 'putChunks') return { saved: ((params as { chunks?: unknown[] })?.chunks ?? []).map(() => false) };
      if (method === 'offer') return { wanted: 0 };
      return answer();
    });
    await open(name, transport, [honest[randomInt(random, HONEST)] as string], { downloads: { maxInFlight: 0 } });
  }
  await clock.advance(2 * MINUTE); // the network forms before the victim arrives
  const victim = await open('victim', new LyingTransport(network.transport('victim'), (_m, _p, answer) => answer()), [honest[0] as string]);

  const run: EclipseRun = { honestNeighbours: [], batches: [], walkCalls: { attackers: 0, honest: 0 }, end: 0 };
  const pending: { index: number; addresses: string[] }[] = [];
  const end = clock.now() + durationMs;
  let nextBatch = clock.now() + MINUTE;
  let nextSample = clock.now() + SAMPLE_MS;
  while (clock.now() < end) {
    if (clock.now() >= nextBatch) {
      const chunks = generateChunks(10, seededRandom(seed * 7 + run.batches.length), { prefix: `batch${run.batches.length}-` });
      chain.announce(chunks.map((c) => c.address));
      const holder = honestNodes[randomInt(random, HONEST)]!;
      // Put once the holder has followed the announcement, a virtual second later.
      clock.setTimeout(() => void holder.putChunks(chunks.map((c) => c.data)), 1_000);
      pending.push({ index: run.batches.length, addresses: chunks.map((c) => c.address) });
      run.batches.push({ at: clock.now() + 1_000, receivedAt: undefined });
      nextBatch += 2 * MINUTE;
    }
    if (clock.now() >= nextSample) {
      run.honestNeighbours.push(victim.stats().neighbors.filter((n) => n.startsWith('honest')).length);
      nextSample += SAMPLE_MS;
    }
    for (let i = pending.length - 1; i >= 0; i--) {
      const batch = pending[i]!;
      if (batch.addresses.every((a) => victim.store.has(a))) {
        run.batches[batch.index]!.receivedAt = clock.now();
        pending.splice(i, 1);
      }
    }
    await clock.advance(1_000);
  }
  run.end = clock.now();
  for (const [name, transport] of transports) {
    if (name === 'victim') continue;
    const calls = countPeerCalls(transport);
    if (name.startsWith('attacker')) run.walkCalls.attackers += calls;
    else run.walkCalls.honest += calls;
  }
  for (const node of nodes) await node.close();
  return run;
}

/** Peer-list calls a transport answered for the victim (the random walk's steps). */
function countPeerCalls(transport: LyingTransport): number {
  return transport.servedByRemoteAndMethod.get('victim peers') ?? 0;
}

function describeRun(run: EclipseRun): string {
  const delays = run.batches.map((b) => (b.receivedAt === undefined ? 'never' : `${Math.round((b.receivedAt - b.at) / 1000)}`));
  return `honest neighbours: ${run.honestNeighbours.join(' ')}; delivery delays (s): ${delays.join(' ')}; walk calls to attackers ${run.walkCalls.attackers}, to honest ${run.walkCalls.honest}`;
}

describe('eclipse resistance: one seed, attackers outnumbering honest peers 2:1', () => {
  let run: EclipseRun;

  it('the attack has teeth: the victim\'s random walk is trapped among the attackers', async () => {
    run = await simulate(74, 45 * MINUTE);
    console.info(`eclipse run: ${describeRun(run)}`);
    const { attackers, honest } = run.walkCalls;
    // A settled node walks only what neighbour renewal needs: a few hundred calls in 45 minutes.
    // A uniform walk would send two thirds of them to attackers: at 200 calls, 90% is 7 standard
    // deviations beyond that.
    expect(attackers + honest).toBeGreaterThan(200);
    expect(attackers / (attackers + honest)).toBeGreaterThan(0.9);
  });

  // Known weakness, found by this test: neighbours come from the random walk, which the attackers
  // trap, so the victim loses every honest neighbour for minutes at a time and misses new chunks.
  // Fixed by keeping one live seed among the neighbours (Overlay.keepNeighbors); turn `it.fails`
  // into `it` once that change is in.
  it('the victim keeps an honest neighbour at every sample and receives every new chunk within a minute', () => {
    expect(run).toBeDefined();
    const afterWarmUp = run.honestNeighbours.slice(2);
    expect(afterWarmUp.filter((n) => n === 0)).toEqual([]);
    const due = run.batches.filter((b) => b.at < run.end - 2 * MINUTE);
    expect(due.length).toBeGreaterThan(15);
    for (const batch of due) {
      expect(batch.receivedAt).toBeDefined();
      expect(batch.receivedAt! - batch.at).toBeLessThanOrEqual(MINUTE);
    }
  });
});
