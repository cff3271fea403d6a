/**
 * The simulator's own machinery: virtual time, the trace digest (identical for a seed, different
 * for another), replication bookkeeping, the strict verifier, Byzantine rewriting, the SVG plot
 * and the `atlas sim` command.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryChain } from '../../src/chain/memory.js';
import { packAddresses } from '../../src/protocol/get-chunks.js';
import { seededRandom } from '../../src/runtime.js';
import { ByzantineTransport } from '../../src/sim/byzantine.js';
import { runSimCommand } from '../../src/sim/cli.js';
import { Replication } from '../../src/sim/replication.js';
import { findScenario } from '../../src/sim/scenarios/index.js';
import { deriveSeed } from '../../src/sim/seeds.js';
import { niceTicks, replicationSvg } from '../../src/sim/svg.js';
import { Trace } from '../../src/sim/trace.js';
import { verifyReplication } from '../../src/sim/verify.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { generateChunks } from '../../src/sim/workload.js';
import { MemoryChunkStore } from '../../src/store/memory.js';
import { MemoryNetwork } from '../../src/transport/memory.js';

describe('VirtualClock', () => {
  it('fires timers in (time, creation) order and settles promises between them', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    clock.setTimeout(() => order.push('b@10'), 10);
    clock.setTimeout(() => {
      order.push('a@5');
      void Promise.resolve().then(() => order.push('a@5 continuation'));
    }, 5);
    clock.setTimeout(() => order.push('c@10'), 10);
    const cancelled = clock.setTimeout(() => order.push('never'), 7);
    clock.clearTimeout(cancelled);
    expect(clock.pending).toBe(3);
    expect(await clock.run({ deadline: 100 })).toBe('idle');
    expect(order).toEqual(['a@5', 'a@5 continuation', 'b@10', 'c@10']);
    expect(clock.now()).toBe(10);
  });

  it('runs every promise chain a timer starts, however long, before the next timer', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    clock.setTimeout(() => {
      void (async () => {
        for (let i = 0; i < 10_000; i++) await null;
        await new Promise<void>((resolve) => queueMicrotask(resolve));
        order.push('chain done');
      })();
    }, 5);
    clock.setTimeout(() => order.push('next timer'), 5);
    await clock.run({ deadline: 100 });
    expect(order).toEqual(['chain done', 'next timer']);
  });

  it('lets the event loop turn during a long run', async () => {
    const clock = new VirtualClock();
    let realTimerFired = false;
    setTimeout(() => (realTimerFired = true), 1);
    let firedAfterRealTimer = 0;
    const tick = () => {
      if (realTimerFired) firedAfterRealTimer++;
      if (firedAfterRealTimer < 10) clock.setTimeout(tick, 1);
    };
    clock.setTimeout(tick, 1);
    // Without a yield this loop would never end: only the real timer stops it.
    expect(await clock.run({ deadline: Number.MAX_SAFE_INTEGER, maxEvents: 50_000_000 })).toBe('idle');
    expect(realTimerFired).toBe(true);
  });

  it('stops at the deadline, on the condition, or after maxEvents, and keeps the rest for later', async () => {
    const clock = new VirtualClock();
    let fired = 0;
    for (let i = 1; i <= 10; i++) clock.setTimeout(() => fired++, i * 10);
    expect(await clock.run({ deadline: 35 })).toBe('deadline');
    expect([fired, clock.now()]).toEqual([3, 35]);
    expect(await clock.run({ deadline: 1_000, until: () => fired >= 5 })).toBe('condition');
    expect(await clock.run({ deadline: 1_000, maxEvents: 2 })).toBe('max-events');
    expect(fired).toBe(7);
    await clock.advance(1_000);
    expect(fired).toBe(10);
    expect(clock.now()).toBe(1_070);
  });

  it('takes cancelled timers out of the heap without changing the order of the others', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const handles = Array.from({ length: 5_000 }, (_, i) => clock.setTimeout(() => fired.push(i), 5_000 - i));
    handles.forEach((handle, i) => {
      if (i % 3 !== 0) clock.clearTimeout(handle);
    });
    expect(clock.pending).toBe(Math.ceil(5_000 / 3));
    await clock.run({ deadline: 10_000 });
    const expected = Array.from({ length: 5_000 }, (_, i) => i).filter((i) => i % 3 === 0).reverse();
    expect(fired).toEqual(expected);
  });

  it('fires in (time, creation) order whatever is cleared, from anywhere in the heap, while it runs', async () => {
    const clock = new VirtualClock();
    const random = seededRandom(11);
    const fired: number[] = [];
    const expected: { at: number; id: number }[] = [];
    const live = new Map<number, ReturnType<VirtualClock['setTimeout']>>();
    let id = 0;
    const schedule = (): void => {
      const at = clock.now() + Math.floor(random() * 50); // many equal times: creation order decides
      const mine = id++;
      live.set(mine, clock.setTimeout(() => {
        live.delete(mine);
        fired.push(mine);
        // Each firing schedules up to two more and clears one pending timer picked at random.
        for (let k = 0; k < 2 && id < 3_000; k++) schedule();
        const pending = [...live.keys()];
        if (pending.length > 0 && random() < 0.5) {
          const victim = pending[Math.floor(random() * pending.length)] as number;
          clock.clearTimeout(live.get(victim));
          live.delete(victim);
          expected.splice(expected.findIndex((e) => e.id === victim), 1);
        }
      }, at - clock.now()));
      expected.push({ at, id: mine });
    };
    for (let i = 0; i < 20; i++) schedule();
    expect(await clock.run({ deadline: Number.MAX_SAFE_INTEGER })).toBe('idle');
    expect(clock.pending).toBe(0);
    expect(fired).toEqual(expected.sort((a, b) => a.at - b.at || a.id - b.id).map((e) => e.id));
    expect(fired.length).toBeGreaterThan(1_000);
  });

  it('ignores clearing a timer that has already fired', async () => {
    const clock = new VirtualClock();
    const fired = clock.setTimeout(() => undefined, 10);
    clock.setTimeout(() => undefined, 20);
    await clock.advance(10);
    expect(clock.pending).toBe(1);
    clock.clearTimeout(fired);
    expect(clock.pending).toBe(1);
  });
});

describe('trace and seeds', () => {
  it('hashes the ordered event log: same events, same digest; any change, another', () => {
    const a = new Trace({ keep: 2 });
    const b = new Trace();
    for (const t of [a, b]) {
      t.record(1, 'n0', 'chunk', 'aa');
      t.record(2, 'n1', 'peer:add', 'n0');
    }
    expect(a.digest()).toBe(b.digest());
    expect(a.digest()).toMatch(/^[0-9a-f]{64}$/);
    b.record(3, 'n1', 'chunk', 'bb');
    expect(b.digest()).not.toBe(a.digest());
    const c = new Trace();
    c.record(2, 'n1', 'peer:add', 'n0');
    c.record(1, 'n0', 'chunk', 'aa');
    expect(c.digest()).not.toBe(a.digest());
    expect(a.counts()).toEqual({ chunk: 1, 'peer:add': 1 });
    expect(a.latest().map((e) => e.kind)).toEqual(['chunk', 'peer:add']);
  });

  it('derives independent, stable streams from one seed', () => {
    expect(deriveSeed(1, 'node:n0')).toBe(deriveSeed(1, 'node:n0'));
    const seeds = new Set(['node:n0', 'node:n1', 'network', 'scenario'].map((label) => deriveSeed(1, label)));
    expect(seeds.size).toBe(4);
    expect(deriveSeed(2, 'node:n0')).not.toBe(deriveSeed(1, 'node:n0'));
  });
});

describe('a run is a pure function of scenario and seed', () => {
  it('the same seed gives the same trace digest and figures; another seed another digest', async () => {
    const scenario = findScenario('partition');
    if (!scenario) throw new Error('no partition scenario');
    const runs = await Promise.all([7, 7, 8].map((seed) => scenario.run({ seed, nodes: 10, chunks: 60 })));
    const [first, again, other] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
    expect(first.converged && again.converged && other.converged).toBe(true);
    expect(again.figures.traceDigest).toBe(first.figures.traceDigest);
    expect(again.figures.traceEvents).toBe(first.figures.traceEvents);
    expect(again.figures.convergedAtMs).toBe(first.figures.convergedAtMs);
    expect(again.figures.traffic).toEqual(first.figures.traffic);
    expect(again.figures.events).toBe(first.figures.events);
    expect(again.samples).toEqual(first.samples);
    expect(other.figures.traceDigest).not.toBe(first.figures.traceDigest);
  });
});

describe('Replication', () => {
  it('samples the share of nodes holding each chunk and the time for a chunk to reach all', () => {
    const replication = new Replication();
    for (const name of ['a', 'b', 'c', 'd']) replication.addHolder(name);
    replication.announced(['x', 'y']);
    replication.put('x', 100);
    replication.stored('a', 'x', false, 10, 100);
    replication.put('y', 100);
    replication.stored('a', 'y', false, 20, 100);
    replication.stored('b', 'x', true, 10, 150);
    replication.stored('b', 'x', true, 10, 160); // a duplicate event counts once
    replication.sample(200);
    expect(replication.samples.at(-1)).toMatchObject({ time: 200, chunks: 2, nodes: 4, min: 0.25, median: 0.25, max: 0.5, mean: 0.375 });
    replication.stored('c', 'x', true, 10, 300);
    replication.stored('d', 'x', true, 10, 400);
    expect(replication.timesToAll()).toEqual([300]);
    expect(replication.usefulBytes).toBe(30);
    expect(replication.holds('d', 'x')).toBe(true);
    expect(replication.holds('d', 'y')).toBe(false);
    expect(replication.incomplete()).toBe(1);
  });

  it('keeps a bounded number of samples on a long run', () => {
    const replication = new Replication({ maxSamples: 8 });
    replication.addHolder('a');
    replication.announced(['x']);
    replication.put('x', 0);
    for (let t = 0; t < 1_000; t++) replication.sample(t);
    expect(replication.samples.length).toBeLessThanOrEqual(9);
    expect(replication.samples.at(-1)?.time).toBeGreaterThan(800);
  });
});

describe('verifyReplication', () => {
  it('passes complete stores and reports missing positions', async () => {
    const chunks = generateChunks(4, seededRandom(1));
    const chain = new MemoryChain();
    chain.announce(chunks.map((c) => c.address));
    const full = new MemoryChunkStore();
    const partial = new MemoryChunkStore();
    for (const store of [full, partial]) await store.append(await chain.read(0, 10));
    await full.putMany(chunks.map((c) => c.data));
    await partial.putMany(chunks.slice(0, 3).map((c) => c.data));
    expect(verifyReplication(chain, [{ name: 'full', store: full }])).toMatchObject({ ok: true, missing: 0, corrupt: 0, verifiedChunks: 4 });
    const report = verifyReplication(chain, [{ name: 'full', store: full }, { name: 'partial', store: partial }]);
    expect(report.ok).toBe(false);
    expect(report.missing).toBeGreaterThan(0);
    expect(report.problems.join(' ')).toContain('partial');
  });

  it('reports a chunk whose stored bytes do not hash to its address', async () => {
    const [chunk] = generateChunks(1, seededRandom(2));
    const chain = new MemoryChain();
    chain.announce([chunk!.address]);
    class LyingStore extends MemoryChunkStore {
      override get(): Uint8Array {
        return Uint8Array.of(1, 2, 3);
      }
    }
    const lying = new LyingStore();
    await lying.append(await chain.read(0, 1));
    await lying.put(chunk!.data);
    const report = verifyReplication(chain, [], [{ name: 'liar', store: lying }]);
    expect(report.corrupt).toBe(1);
    expect(report.ok).toBe(false);
  });
});

describe('ByzantineTransport', () => {
  it('rewrites replies: corrupt bytes, claims of everything, "don\'t have", bogus peers', async () => {
    const clock = new VirtualClock();
    const network = new MemoryNetwork({ clock, latencyMs: 1 });
    const [chunk] = generateChunks(1, seededRandom(3));
    const service = {
      handle: async (method: string) => {
        if (method === 'getChunks') return { chunks: [{ address: chunk!.address, data: chunk!.data }], missing: [] };
        if (method === 'inventory') return { sequenceLength: 11, inventory: { epoch: 'e', version: 1 }, bytes: Uint8Array.of(0, 0) };
        return { peers: [] };
      },
    };
    const caller = network.transport('c');
    const reply = async (behaviour: 'corrupt' | 'liar' | 'flood' | 'omit', method: string, params: unknown): Promise<Record<string, unknown>> => {
      const name = `x-${behaviour}-${method}`;
      const transport = new ByzantineTransport(network.transport(name), behaviour, { random: seededRandom(4), clock, bogusPrefix: 'bogus-' });
      await transport.listen(service);
      const pending = caller.call(name, method, params);
      await clock.run({ deadline: clock.now() + 50 });
      await transport.close();
      return (await pending) as Record<string, unknown>;
    };
    const corrupt = await reply('corrupt', 'getChunks', { addresses: [chunk!.address] });
    const [served] = corrupt.chunks as { address: string; data: Uint8Array }[];
    expect(served?.address).toBe(chunk!.address);
    expect(Buffer.from(served!.data).equals(Buffer.from(chunk!.data))).toBe(false);
    expect(served!.data.length).toBe(chunk!.data.length);
    // 11 positions: every bit set, the 5 padding bits of the last byte clear.
    expect((await reply('corrupt', 'inventory', { offset: 0, length: 2 })).bytes).toEqual(Uint8Array.of(0xff, 0xe0));
    expect(await reply('liar', 'getChunks', { addresses: [chunk!.address] })).toEqual({ chunks: [], missing: [chunk!.address] });
    // Packed requests (what current nodes send) are read as well as hex lists.
    const packed = packAddresses([chunk!.address]);
    expect(await reply('liar', 'getChunks', { addresses: packed })).toEqual({ chunks: [], missing: [chunk!.address] });
    const [corruptPacked] = (await reply('corrupt', 'getChunks', { addresses: packed, inOrder: true })).inOrder as Uint8Array[];
    expect(corruptPacked?.length).toBe(chunk!.data.length);
    expect(Buffer.from(corruptPacked!).equals(Buffer.from(chunk!.data))).toBe(false);
    const two = packAddresses([chunk!.address, 'f'.repeat(40)]);
    expect(await reply('omit', 'getChunks', { addresses: two })).toEqual({ chunks: [], missing: [] });
    expect(await reply('omit', 'getChunks', { addresses: [chunk!.address, 'f'.repeat(40)] })).toEqual({ chunks: [], missing: [] });
    const peers = (await reply('flood', 'peers', {})).peers as string[];
    expect(peers).toHaveLength(80);
    expect(peers.every((p) => p.startsWith('bogus-'))).toBe(true);
    await network.close();
  });
});

describe('replication plot', () => {
  it('is a well-formed SVG with the three lines, a band and labelled axes', () => {
    const samples = [0, 1_000, 2_000, 3_000].map((time, i) => ({ time, chunks: 5, nodes: 10, min: i * 0.2, median: i * 0.3, max: Math.min(1, i * 0.4), mean: i * 0.3 }));
    const svg = replicationSvg(samples, { title: 'a <test> & "plot"', subtitle: 'seed 1' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a &lt;test&gt; &amp; &quot;plot&quot;');
    expect(svg.match(/<path /g)?.length).toBe(4);
    expect(svg).toContain('100%');
    expect(svg).toContain('>median<');
    // Every opened element is closed (self-closing or with its end tag).
    const opened = (svg.match(/<(svg|text)\b/g) ?? []).length;
    const closed = (svg.match(/<\/(svg|text)>/g) ?? []).length;
    expect(closed).toBe(opened);
    expect(replicationSvg([])).toContain('no samples');
  });

  it('picks round tick values', () => {
    expect(niceTicks(10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.6, 6)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(niceTicks(0, 5)).toEqual([0]);
  });
});

describe('atlas sim', () => {
  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
  }

  it('runs a scenario, prints the summary and verdict, and writes the plot', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atlas-sim-'));
    try {
      const svgPath = join(dir, 'plot.svg');
      const { io, out, err } = capture();
      expect(await runSimCommand(['mesh', '--nodes', '5', '--chunks', '30', '--seed', '3', '--svg', svgPath], io)).toBe(0);
      const text = out.join('');
      expect(text).toContain('converged at (virtual)');
      expect(text).toMatch(/redundancy/);
      expect(text).toContain('PASS: all 5 honest nodes hold all 30 positions');
      expect(text).toMatch(/digest [0-9a-f]{64}/);
      expect(err.join('')).toContain('30 chunks put at random nodes');
      const svg = await readFile(svgPath, 'utf8');
      expect(svg).toContain('atlas sim mesh: replication over time');
      expect(svg).toContain('5 honest + 0 Byzantine nodes, 30 chunks, seed 3');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints JSON with --json, the same digest for the same seed', async () => {
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { io, out } = capture();
      expect(await runSimCommand(['line', '--nodes', '4', '--chunks', '10', '--json'], io)).toBe(0);
      const parsed = JSON.parse(out.join('')) as { passed: boolean; figures: { traceDigest: string; honestNodes: number } };
      expect(parsed.passed).toBe(true);
      expect(parsed.figures.honestNodes).toBe(4);
      digests.push(parsed.figures.traceDigest);
    }
    expect(digests[1]).toBe(digests[0]);
  });

  it('lists scenarios and refuses bad usage with exit code 2', async () => {
    const list = capture();
    expect(await runSimCommand(['--list'], list.io)).toBe(0);
    for (const name of ['mesh', 'line', 'star', 'churn', 'storage', 'peer-exchange', 'big-chunks', 'partition', 'byzantine', 'reorg', 'late-joiner', 'scale']) {
      expect(list.out.join('')).toContain(name);
    }
    for (const argv of [[], ['nope'], ['mesh', '--nodes', 'x'], ['mesh', '--bogus'], ['mesh', 'line']]) {
      const { io, err } = capture();
      expect(await runSimCommand(argv, io), argv.join(' ')).toBe(2);
      expect(err.join('')).toContain('atlas sim:');
    }
  });
});
