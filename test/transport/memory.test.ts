import { afterEach, describe, expect, it } from 'vitest';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { seededRandom, type Clock, type TimerHandle } from '../../src/runtime.js';
import { Deadline } from '../../src/protocol/deadline.js';
import { encodeBinary, errorReply } from '../../src/transport/codec.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../src/transport/memory.js';
import type { RequestContext, TransportService } from '../../src/transport/types.js';

/** Virtual time: timers run only when the test advances the clock, in time order, FIFO at equal times. */
class ManualClock implements Clock {
  private time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.nextId;
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (let step = 0; step < 100_000; step++) {
      await settle();
      let nextId: number | undefined;
      let next: { at: number; callback: () => void } | undefined;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (next === undefined || timer.at < next.at)) {
          nextId = id;
          next = timer;
        }
      }
      if (next === undefined || nextId === undefined) break;
      this.timers.delete(nextId);
      this.time = next.at;
      next.callback();
    }
    this.time = end;
    await settle();
  }
}

/** Lets promise chains (handlers, replies) run to their next timer. */
/** Call options whose signal aborts with TIMEOUT after `ms` on `clock`: a caller's deadline. */
function within(clock: Clock, ms: number) {
  return { signal: new Deadline(clock, ms).signal };
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Outcome {
  settled: boolean;
  value?: unknown;
  code?: string;
  at?: number;
}

/** Tracks a call's outcome without awaiting it, so the test can advance virtual time. */
function track(promise: Promise<unknown>, clock: Clock): Outcome {
  const outcome: Outcome = { settled: false };
  promise.then(
    (value) => Object.assign(outcome, { settled: true, value, at: clock.now() }),
    (error: unknown) =>
      Object.assign(outcome, { settled: true, code: error instanceof AtlasError ? error.code : `not AtlasError: ${String(error)}`, at: clock.now() }),
  );
  return outcome;
}

/** A service that echoes, fails on request, or waits until its signal aborts. */
function fakeService(name: string, log: { method: string; remote: string }[] = []) {
  const aborted: string[] = [];
  const service: TransportService = {
    async handle(method: string, params: unknown, context: RequestContext): Promise<unknown> {
      log.push({ method, remote: context.remote });
      switch (method) {
        case 'echo':
          return { from: name, params };
        case 'refuse':
          throw new AtlasError(ErrorCodes.NOT_ANNOUNCED, 'not announced here');
        case 'crash':
          throw new Error('secret internal detail');
        case 'big':
          return { data: new Uint8Array((params as { size: number }).size) };
        case 'mutate': {
          const data = (params as { data: Uint8Array }).data;
          data.fill(7);
          return { data };
        }
        case 'wait':
          return new Promise((_resolve, reject) => {
            context.signal?.addEventListener('abort', () => {
              aborted.push(name);
              reject(new AtlasError(ErrorCodes.ABORTED, 'aborted'));
            });
          });
        default:
          throw new AtlasError(ErrorCodes.UNKNOWN_METHOD, `no method ${method}`);
      }
    },
  };
  return { service, aborted, log };
}

let networks: MemoryNetwork[] = [];
afterEach(async () => {
  await Promise.all(networks.map((n) => n.close()));
  networks = [];
});

async function setup(names: string[], options: Partial<MemoryNetworkOptions> = {}) {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, random: seededRandom(1), latencyMs: 10, ...options });
  networks.push(network);
  const log: { method: string; remote: string }[] = [];
  const nodes = new Map<string, ReturnType<typeof network.transport>>();
  const aborted: string[] = [];
  for (const name of names) {
    const transport = network.transport(name);
    const fake = fakeService(name, log);
    fake.aborted.push = (...items: string[]) => aborted.push(...items);
    await transport.listen(fake.service);
    nodes.set(name, transport);
  }
  const node = (name: string) => nodes.get(name)!;
  return { clock, network, node, log, aborted };
}

describe('MemoryNetwork: delivery in virtual time', () => {
  it('delivers a call after one latency and replies after another', async () => {
    const { clock, node } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'echo', { x: 1 }), clock);
    await clock.advance(19);
    expect(outcome.settled).toBe(false);
    await clock.advance(1);
    expect(outcome).toMatchObject({ settled: true, at: 20, value: { from: 'b', params: { x: 1 } } });
    expect(clock.pending).toBe(0);
  });

  it('applies per-link latency overrides, numbers or functions, in both directions', async () => {
    const { clock, network, node } = await setup(['a', 'b', 'c']);
    network.setLinkLatency('a', 'c', 50);
    network.setLinkLatency('b', 'c', (from, to) => (from === 'b' && to === 'c' ? 5 : 15));
    const ac = track(node('a').call('c', 'echo', {}), clock);
    const ca = track(node('c').call('a', 'echo', {}), clock);
    const bc = track(node('b').call('c', 'echo', {}), clock);
    const ab = track(node('a').call('b', 'echo', {}), clock);
    await clock.advance(200);
    expect([ac.at, ca.at, bc.at, ab.at]).toEqual([100, 100, 20, 20]);
  });

  it('copies every message: neither side sees the other side\'s objects', async () => {
    const { clock, node } = await setup(['a', 'b']);
    const data = new Uint8Array([1, 2, 3]);
    const outcome = track(node('a').call('b', 'mutate', { data }), clock);
    await clock.advance(20);
    expect(outcome.value).toEqual({ data: new Uint8Array([7, 7, 7]) });
    expect([...data]).toEqual([1, 2, 3]);
    expect((outcome.value as { data: Uint8Array }).data.constructor).toBe(Uint8Array);
  });

  it('refuses a request over maxRequestBytes and fails a reply over maxReplyBytes', async () => {
    const { clock, node } = await setup(['a', 'b'], { maxRequestBytes: 1000, maxReplyBytes: 2000 });
    await expect(node('a').call('b', 'echo', { data: new Uint8Array(1000) })).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    const small = track(node('a').call('b', 'big', { size: 1000 }), clock);
    const large = track(node('a').call('b', 'big', { size: 3000 }), clock);
    await clock.advance(20);
    expect((small.value as { data: Uint8Array }).data.length).toBe(1000);
    expect(large.code).toBe(ErrorCodes.BAD_REPLY);
  });
});

describe('MemoryNetwork: faults', () => {
  it('fails calls to unknown and non-listening nodes with UNREACHABLE', async () => {
    const { clock, network, node } = await setup(['a']);
    network.transport('silent');
    const unknown = track(node('a').call('nobody', 'echo', {}), clock);
    const silent = track(node('a').call('silent', 'echo', {}), clock);
    await clock.advance(10);
    expect(unknown.code).toBe(ErrorCodes.UNREACHABLE);
    expect(silent.code).toBe(ErrorCodes.UNREACHABLE);
  });

  it('takes nodes down and up', async () => {
    const { clock, network, node } = await setup(['a', 'b']);
    network.down('b');
    expect(network.isUp('b')).toBe(false);
    const toDown = track(node('a').call('b', 'echo', {}), clock);
    const fromDown = track(node('b').call('a', 'echo', {}), clock);
    await clock.advance(20);
    expect(toDown.code).toBe(ErrorCodes.UNREACHABLE);
    expect(fromDown.code).toBe(ErrorCodes.UNREACHABLE);
    network.up('b');
    const again = track(node('a').call('b', 'echo', {}), clock);
    await clock.advance(20);
    expect(again.value).toEqual({ from: 'b', params: {} });
  });

  it('resets calls in flight when the callee goes down, aborting its handler', async () => {
    const { clock, network, node, aborted } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'wait', {}), clock);
    await clock.advance(15);
    network.down('b');
    await clock.advance(10);
    expect(outcome.code).toBe(ErrorCodes.UNREACHABLE);
    expect(aborted).toEqual(['b']);
  });

  it('fails the calls of a node that goes down', async () => {
    const { clock, network, node } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'wait', {}), clock);
    await clock.advance(15);
    network.down('a');
    await settle();
    expect(outcome.code).toBe(ErrorCodes.UNREACHABLE);
  });

  it('partitions groups both ways until heal()', async () => {
    const { clock, network, node } = await setup(['a', 'b', 'c']);
    network.partition(['a'], ['b']);
    expect(network.canReach('a', 'b')).toBe(false);
    const ab = track(node('a').call('b', 'echo', {}), clock);
    const ba = track(node('b').call('a', 'echo', {}), clock);
    const ac = track(node('a').call('c', 'echo', {}), clock);
    await clock.advance(20);
    expect([ab.code, ba.code]).toEqual([ErrorCodes.UNREACHABLE, ErrorCodes.UNREACHABLE]);
    expect(ac.value).toEqual({ from: 'c', params: {} });
    network.heal();
    const healed = track(node('a').call('b', 'echo', {}), clock);
    await clock.advance(20);
    expect(healed.value).toEqual({ from: 'b', params: {} });
  });

  it('with cutLinks "drop", a partitioned call times out instead', async () => {
    const { clock, network, node } = await setup(['a', 'b'], { cutLinks: 'drop' });
    network.partition(['a'], ['b']);
    const outcome = track(node('a').call('b', 'echo', {}, within(clock, 500)), clock);
    await clock.advance(499);
    expect(outcome.settled).toBe(false);
    await clock.advance(1);
    expect(outcome).toMatchObject({ code: ErrorCodes.TIMEOUT, at: 500 });
  });

  it('a partition that starts while the request is handled loses the reply', async () => {
    const { clock, network, node, log } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'echo', {}, within(clock, 300)), clock);
    await clock.advance(9);
    network.partition(['b'], ['a']);
    await clock.advance(300);
    expect(outcome.code).toBe(ErrorCodes.UNREACHABLE);
    expect(log).toHaveLength(0);
    // delivered before the cut: handled, but the reply never arrives
    network.heal();
    const second = track(node('a').call('b', 'echo', {}, within(clock, 300)), clock);
    await clock.advance(10); // delivered and handled; the reply is on its way
    network.partition(['a'], ['b']);
    await clock.advance(300);
    expect(log).toHaveLength(1);
    expect(second).toMatchObject({ code: ErrorCodes.TIMEOUT, at: 609 });
  });

  it('builds a star: blocked peers reach only the seed, and the seed\'s replies come back', async () => {
    const peers = ['p1', 'p2', 'p3'];
    const { clock, network, node } = await setup(['seed', ...peers]);
    for (const from of peers) {
      network.block('seed', from);
      for (const to of peers) if (from !== to) network.block(from, to);
    }
    const outcomes = peers.map((p) => track(node(p).call('seed', 'echo', { p }), clock));
    const across = track(node('p1').call('p2', 'echo', {}), clock);
    const fromSeed = track(node('seed').call('p3', 'echo', {}), clock);
    await clock.advance(20);
    expect(outcomes.map((o) => o.value)).toEqual(peers.map((p) => ({ from: 'seed', params: { p } })));
    expect(across.code).toBe(ErrorCodes.UNREACHABLE);
    expect(fromSeed.code).toBe(ErrorCodes.UNREACHABLE);
    network.unblock('p1', 'p2');
    const unblocked = track(node('p1').call('p2', 'echo', {}), clock);
    const reverse = track(node('p2').call('p1', 'echo', {}), clock);
    await clock.advance(20);
    expect(unblocked.value).toEqual({ from: 'p2', params: {} });
    expect(reverse.code).toBe(ErrorCodes.UNREACHABLE);
  });

  it('drops every message on a link with drop rate 1, leaving others alone', async () => {
    const { clock, network, node } = await setup(['a', 'b', 'c']);
    network.setLinkDropRate('a', 'b', 1);
    const ab = track(node('a').call('b', 'echo', {}, within(clock, 100)), clock);
    const ac = track(node('a').call('c', 'echo', {}, within(clock, 100)), clock);
    await clock.advance(100);
    expect(ab).toMatchObject({ code: ErrorCodes.TIMEOUT, at: 100 });
    expect(ac).toMatchObject({ value: { from: 'c', params: {} }, at: 20 });
  });

  it('drops about the given share of messages at random', async () => {
    const { clock, node } = await setup(['a', 'b'], { dropRate: 0.5 });
    const outcomes = Array.from({ length: 200 }, (_, i) => track(node('a').call('b', 'echo', { i }, within(clock, 100)), clock));
    await clock.advance(100);
    const ok = outcomes.filter((o) => o.value !== undefined).length;
    const timedOut = outcomes.filter((o) => o.code === ErrorCodes.TIMEOUT).length;
    expect(ok + timedOut).toBe(200);
    // each call survives two independent drops: 25 % expected; 200 draws keep it well inside 10-40 %
    expect(ok).toBeGreaterThan(20);
    expect(ok).toBeLessThan(80);
  });
});

describe('MemoryNetwork: deadlines, aborts and closing', () => {
  it('ends a call to a slow handler at its caller\'s deadline and aborts the handler\'s signal', async () => {
    const { clock, node, aborted } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'wait', {}, within(clock, 100)), clock);
    await clock.advance(99);
    expect(outcome.settled).toBe(false);
    await clock.advance(1);
    expect(outcome).toMatchObject({ code: ErrorCodes.TIMEOUT, at: 100 });
    expect(aborted).toEqual(['b']);
    expect(clock.pending).toBe(0);
  });

  it('uses defaultTimeoutMs when the call gives none', async () => {
    const { clock, node } = await setup(['a', 'b'], { defaultTimeoutMs: 250 });
    const outcome = track(node('a').call('b', 'wait', {}), clock);
    await clock.advance(250);
    expect(outcome).toMatchObject({ code: ErrorCodes.TIMEOUT, at: 250 });
  });

  it('aborts on the caller\'s signal, before or during the call', async () => {
    const { clock, node, aborted } = await setup(['a', 'b']);
    const before = new AbortController();
    before.abort();
    await expect(node('a').call('b', 'echo', {}, { signal: before.signal })).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    const during = new AbortController();
    const outcome = track(node('a').call('b', 'wait', {}, { signal: during.signal }), clock);
    await clock.advance(15);
    during.abort();
    await settle();
    expect(outcome.code).toBe(ErrorCodes.ABORTED);
    expect(aborted).toEqual(['b']);
    expect(clock.pending).toBe(0);
  });

  it('close() fails calls in flight with CLOSED, refuses new ones, and frees the name', async () => {
    const { clock, network, node } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'wait', {}), clock);
    await clock.advance(5);
    await node('a').close();
    await settle();
    expect(outcome.code).toBe(ErrorCodes.CLOSED);
    await expect(node('a').call('b', 'echo', {})).rejects.toMatchObject({ code: ErrorCodes.CLOSED });
    expect(() => network.transport('b')).toThrow(AtlasError);
    const reborn = network.transport('a');
    expect(reborn.address).toBe('a');
    const fromReborn = track(reborn.call('b', 'echo', {}), clock);
    await clock.advance(20);
    expect(fromReborn.value).toEqual({ from: 'b', params: {} });
    expect(clock.pending).toBe(0);
  });

  it('a callee that closes while handling resets the call', async () => {
    const { clock, node } = await setup(['a', 'b']);
    const outcome = track(node('a').call('b', 'wait', {}), clock);
    await clock.advance(15);
    await node('b').close();
    await clock.advance(10);
    expect(outcome.code).toBe(ErrorCodes.UNREACHABLE);
  });
});

describe('MemoryNetwork: the handler\'s signal', () => {
  /** Counts the AbortControllers made while `work` runs. */
  async function controllersMade(work: () => Promise<void>): Promise<number> {
    const Real = globalThis.AbortController;
    let made = 0;
    globalThis.AbortController = class extends Real {
      constructor() {
        super();
        made++;
      }
    };
    try {
      await work();
    } finally {
      globalThis.AbortController = Real;
    }
    return made;
  }

  it('is made only when the handler reads it: 20 answered calls make none', async () => {
    const { clock, node } = await setup(['a', 'b']);
    const made = await controllersMade(async () => {
      const outcomes = Array.from({ length: 20 }, () => track(node('a').call('b', 'echo', {}), clock));
      await clock.advance(20);
      expect(outcomes.every((o) => o.settled && o.code === undefined)).toBe(true);
    });
    expect(made).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('read after the caller left, it is already aborted with the caller\'s reason; read before, it aborts then', async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, random: seededRandom(1), latencyMs: 10 });
    networks.push(network);
    const held: { context: RequestContext; release: () => void }[] = [];
    const server = network.transport('b');
    await server.listen({
      handle: (_method, _params, context) => new Promise((resolve) => held.push({ context, release: () => resolve({}) })),
    });
    const caller = network.transport('a');
    const late = new AbortController();
    const early = new AbortController();
    const lateCall = track(caller.call('b', 'hold', {}, { signal: late.signal }), clock);
    const earlyCall = track(caller.call('b', 'hold', {}, { signal: early.signal }), clock);
    await clock.advance(10);
    expect(held).toHaveLength(2);
    const earlySignal = held[1]!.context.signal!;
    expect(earlySignal.aborted).toBe(false);
    late.abort(new AtlasError(ErrorCodes.TIMEOUT, 'gave up'));
    early.abort(new AtlasError(ErrorCodes.TIMEOUT, 'gave up too'));
    await settle();
    expect([lateCall.code, earlyCall.code]).toEqual([ErrorCodes.TIMEOUT, ErrorCodes.TIMEOUT]);
    expect(earlySignal.reason).toMatchObject({ message: 'gave up too' });
    const lateSignal = held[0]!.context.signal!;
    expect(lateSignal.aborted).toBe(true);
    expect(lateSignal.reason).toMatchObject({ message: 'gave up' });
    expect(held[0]!.context.signal).toBe(lateSignal); // made once
    for (const h of held) h.release();
    await clock.advance(20);
    expect(clock.pending).toBe(0);
  });

  it('a node going down aborts its handlers\' signals, also one read only afterwards', async () => {
    const { clock, network, node } = await setup(['a']);
    const held: { context: RequestContext; release: () => void }[] = [];
    const server = network.transport('b');
    await server.listen({ handle: (_m, _p, context) => new Promise((resolve) => void held.push({ context, release: () => resolve({}) })) });
    const outcome = track(node('a').call('b', 'hold', {}), clock);
    await clock.advance(10);
    network.down('b');
    expect(held[0]!.context.signal).toMatchObject({ aborted: true, reason: { code: ErrorCodes.UNREACHABLE } });
    held[0]!.release(); // its answer is not sent: the connection was reset
    await clock.advance(10);
    expect(outcome.code).toBe(ErrorCodes.UNREACHABLE);
  });
});

describe('MemoryNetwork: statistics', () => {
  it('counts calls, messages and real encoded bytes per node and method', async () => {
    const { clock, network, node } = await setup(['a', 'b']);
    const params = { addresses: ['ab'.repeat(20)], data: new Uint8Array(100) };
    const outcome = track(node('a').call('b', 'echo', params), clock);
    const refused = track(node('a').call('b', 'refuse', {}), clock);
    await clock.advance(20);
    expect(outcome.settled && refused.settled).toBe(true);
    const request = encodeBinary(params).byteLength;
    const reply = encodeBinary({ from: 'b', params }).byteLength;
    const refuseRequest = encodeBinary({}).byteLength;
    const refuseReply = encodeBinary(errorReply(new AtlasError(ErrorCodes.NOT_ANNOUNCED, 'not announced here'))).byteLength;
    const a = network.stats('a');
    const b = node('b').stats();
    expect(a).toMatchObject({ callsOut: 2, callsIn: 0, messagesOut: 2, messagesIn: 2 });
    expect(b).toMatchObject({ callsOut: 0, callsIn: 2, messagesOut: 2, messagesIn: 2 });
    expect(a.bytesOut).toBe(request + refuseRequest);
    expect(b.bytesIn).toBe(a.bytesOut);
    expect(b.bytesOut).toBe(reply + refuseReply);
    expect(a.bytesIn).toBe(b.bytesOut);
    expect(a.byMethod.echo).toEqual({ messagesOut: 1, messagesIn: 1, bytesOut: request, bytesIn: reply });
    expect(b.byMethod.refuse).toEqual({ messagesOut: 1, messagesIn: 1, bytesOut: refuseReply, bytesIn: refuseRequest });
    network.resetStats('a');
    expect(network.stats('a')).toMatchObject({ callsOut: 0, bytesOut: 0, byMethod: {} });
    expect(network.stats('b').callsIn).toBe(2);
  });

  it('counts a dropped request as sent but not received', async () => {
    const { clock, network, node } = await setup(['a', 'b']);
    network.setLinkDropRate('a', 'b', 1);
    const outcome = track(node('a').call('b', 'echo', { x: 1 }, within(clock, 50)), clock);
    await clock.advance(50);
    expect(outcome.code).toBe(ErrorCodes.TIMEOUT);
    expect(network.stats('a')).toMatchObject({ callsOut: 1, messagesOut: 1, bytesOut: encodeBinary({ x: 1 }).byteLength });
    expect(network.stats('b')).toMatchObject({ callsIn: 0, messagesIn: 0, bytesIn: 0 });
  });

  it('bounds the methods tracked per node', async () => {
    const { clock, network, node } = await setup(['a', 'b'], { maxMethodsTracked: 2 });
    for (const method of ['m1', 'm2', 'm3', 'm4']) track(node('a').call('b', method, {}), clock);
    await clock.advance(20);
    expect(Object.keys(network.stats('a').byMethod).sort()).toEqual(['(other)', 'm1', 'm2']);
    expect(network.stats('a').byMethod['(other)']?.messagesOut).toBe(2);
  });
});

describe('MemoryNetwork: determinism', () => {
  async function run(seed: number): Promise<string[]> {
    const clock = new ManualClock();
    const network = new MemoryNetwork({
      clock,
      random: seededRandom(seed),
      dropRate: 0.3,
      latencyMs: (_from, _to, random) => 1 + Math.floor(random() * 50),
    });
    networks.push(network);
    const names = ['n0', 'n1', 'n2', 'n3'];
    const transports = names.map((name) => network.transport(name));
    for (const [i, t] of transports.entries()) await t.listen(fakeService(names[i]!).service);
    const outcomes = Array.from({ length: 60 }, (_, i) =>
      track(transports[i % 4]!.call(names[(i * 3 + 1) % 4]!, 'echo', { i }, within(clock, 200)), clock),
    );
    await clock.advance(300);
    return outcomes.map((o) => `${o.at}:${o.code ?? 'ok'}`);
  }

  it('replays exactly from the same seed, and differs with another', async () => {
    const first = await run(42);
    const second = await run(42);
    const other = await run(43);
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.some((o) => o.endsWith(':ok'))).toBe(true);
    expect(first.some((o) => o.endsWith(':TIMEOUT'))).toBe(true);
  });
});
