/**
 * The HTTP client's outbound sockets: a few peers that accept a connection and then stall (never
 * answer, or trickle a body a byte at a time) must not take the pool every call shares, and every
 * socket slot a call takes comes back on success, error, timeout, abort and close.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { DEFAULT_HTTP_LIMITS, resolveHttpLimits } from '../../src/transport/http-limits.js';
import { HostSlots } from '../../src/transport/http-outbound.js';
import { ContractService, codeOf } from './contract.js';
import { httpTransports } from '../support/http-transports.js';
import { stallingHosts, stallingServer } from '../support/stalling-hosts.js';
import { until } from '../support/raw-socket.js';

const { open, serve, client } = httpTransports();

/** Outcome of one honest call: its code ('resolved' when answered) and how long it took. */
interface Probe {
  code: string;
  ms: number;
}

async function timed(call: Promise<unknown>): Promise<Probe> {
  const start = performance.now();
  const code = await codeOf(call);
  return { code, ms: Math.round(performance.now() - start) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('HttpTransport client: stalling peers and the shared socket pool', () => {
  it('4 stalling hosts (16 ports each, held 2 s) cannot hold the pool: an honest peer is answered at once throughout', async () => {
    // 4 hosts x 16 ports x 4 sockets a peer (maxSocketsPerPeer) = 256, the whole default pool.
    const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const stallers = await stallingHosts(HOSTS, 16);
    open.push(...stallers);
    const { address: honest } = await serve(new ContractService());
    // Default limits; the per-host ones also for loopback, to play 4 hosts on 127.0.0.x.
    const peer = client({ limits: { perHostLimitsOnLoopback: true } });
    // Each attack call is held to its deadline, past the attack's end: the pool stays held throughout.
    const ATTACK_MS = 2_000;
    const ATTACK_TIMEOUT_MS = 2_500;
    const PROBE_TIMEOUT_MS = 1_000;
    const end = performance.now() + ATTACK_MS;

    // Each staller address kept at 4 calls for the attack's duration: a call that ends early is made again.
    let attackCalls = 0;
    const keepBusy = async (target: string) => {
      while (performance.now() < end) {
        attackCalls++;
        await codeOf(peer.call(target, 'echo', 1, { timeoutMs: ATTACK_TIMEOUT_MS }));
      }
    };
    const attack = Promise.all(stallers.flatMap((staller) => [0, 1, 2, 3].map(() => keepBusy(staller.address))));

    // Honest calls every 200 ms while the attack holds; the sockets the stallers hold, by host, before each.
    const probes: Probe[] = [];
    const held: number[] = [];
    const heldByHost: number[] = [];
    await sleep(200);
    while (performance.now() < end - 300) {
      const byHost = HOSTS.map((host) => stallers.filter((staller) => staller.address.startsWith(`${host}:`)).reduce((sum, staller) => sum + staller.open(), 0));
      held.push(byHost.reduce((a, b) => a + b, 0));
      heldByHost.push(Math.max(...byHost));
      probes.push(await timed(peer.call(honest, 'echo', 'honest', { timeoutMs: PROBE_TIMEOUT_MS })));
      await sleep(200);
    }
    await attack;
    const report = JSON.stringify({ attackCalls, held, heldByHost, probes });
    // Each host holds at most maxSocketsPerHost (default 8) sockets: 32 of the 256.
    expect(Math.max(...heldByHost), report).toBeLessThanOrEqual(8);
    expect(Math.max(...held), report).toBeLessThanOrEqual(HOSTS.length * 8);
    expect(probes.length, report).toBeGreaterThanOrEqual(5);
    expect(probes.every((probe) => probe.code === 'resolved'), report).toBe(true);
    expect(Math.max(...probes.map((probe) => probe.ms)), report).toBeLessThan(500);
    // Every socket to a staller is closed once the last attack call's deadline has passed.
    await until(() => stallers.every((staller) => staller.open() === 0), 3_000);
  });
});

describe('HttpTransport client: per-host socket slots come back', () => {
  const capped = () => client({ limits: { maxSocketsPerHost: 1, perHostLimitsOnLoopback: true } });

  it('after successes and errors: calls beyond the cap wait their turn, then run', async () => {
    const { address: honest } = await serve(new ContractService());
    const peer = capped();
    // five at once through one socket slot
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => peer.call(honest, 'echo', n)))).toEqual([1, 2, 3, 4, 5]);
    // errors the peer answers, and a port nobody listens on (same host: 127.0.0.1)
    expect(await codeOf(peer.call(honest, 'refuse', {}))).not.toBe('resolved');
    expect(await codeOf(peer.call(honest, 'crash', {}))).not.toBe('resolved');
    const closed = await stallingServer('127.0.0.1', 'silent');
    await closed.close();
    expect(await codeOf(peer.call(closed.address, 'echo', 1))).toBe(ErrorCodes.UNREACHABLE);
    expect(await timed(peer.call(honest, 'echo', 'after', { timeoutMs: 1_000 }))).toMatchObject({ code: 'resolved' });
  });

  it('after a timeout: the stalled socket is closed, and a call queued behind it counts its wait in its deadline', async () => {
    const staller = await stallingServer('127.0.0.1', 'trickle');
    open.push(staller);
    const { address: honest } = await serve(new ContractService());
    const peer = capped();
    const stalled = timed(peer.call(staller.address, 'echo', 1, { timeoutMs: 400 }));
    await until(() => staller.open() === 1);
    // queued behind the stalled call (same host, the one slot taken): its own deadline ends it
    const queued = await timed(peer.call(honest, 'echo', 2, { timeoutMs: 100 }));
    expect(queued.code).toBe(ErrorCodes.TIMEOUT);
    expect(queued.ms).toBeLessThan(350);
    expect((await stalled).code).toBe(ErrorCodes.TIMEOUT);
    await until(() => staller.open() === 0);
    expect(await timed(peer.call(honest, 'echo', 3, { timeoutMs: 1_000 }))).toMatchObject({ code: 'resolved' });
  });

  it('after an abort while waiting for a slot, and on close: every call ends CLOSED, every socket is closed', async () => {
    const staller = await stallingServer('127.0.0.1', 'silent');
    open.push(staller);
    const { address: honest } = await serve(new ContractService());
    const peer = capped();
    const stalled = codeOf(peer.call(staller.address, 'echo', 1));
    await until(() => staller.open() === 1);
    const controller = new AbortController();
    const aborted = codeOf(peer.call(honest, 'echo', 2, { signal: controller.signal }));
    controller.abort();
    expect(await aborted).toBe(ErrorCodes.ABORTED);
    const queued = codeOf(peer.call(honest, 'echo', 3));
    await peer.close();
    expect(await stalled).toBe(ErrorCodes.CLOSED);
    expect(await queued).toBe(ErrorCodes.CLOSED);
    await until(() => staller.open() === 0);
  });
});

describe('HttpLimits.maxSocketsPerHost', () => {
  it('defaults to 8 and is a positive integer: anything else is an INVALID_OPTION naming it', () => {
    expect(DEFAULT_HTTP_LIMITS.maxSocketsPerHost).toBe(8);
    for (const value of [0, 2.5, -1, Number.NaN, Infinity]) {
      expect(() => resolveHttpLimits({ maxSocketsPerHost: value }), String(value)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_OPTION, option: 'limits.maxSocketsPerHost' }));
    }
    expect(() => resolveHttpLimits({ maxSocketPerHost: 4 } as never)).toThrow(expect.objectContaining({ option: 'limits.maxSocketPerHost' }));
    expect(resolveHttpLimits({ maxSocketsPerHost: 2 }).maxSocketsPerHost).toBe(2);
  });

  it('counts a host over all its ports (an IPv6 host is its /64), and loopback only when asked', () => {
    const slots = new HostSlots({ perHost: 1, perPeer: 1, onLoopback: false });
    expect(slots.keyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(slots.keyOf('2001:db8:1:2::5')).toBe(slots.keyOf('[2001:db8:1:2:ffff::9]'));
    expect(slots.keyOf('2001:db8:1:2::5')).not.toBe(slots.keyOf('2001:db8:1:3::5'));
    expect(slots.keyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(slots.keyOf('Peer.Example')).toBe('peer.example');
    for (const loopback of ['127.0.0.2', '::1', 'localhost']) expect(slots.keyOf(loopback), loopback).toBeUndefined();
    expect(new HostSlots({ perHost: 1, perPeer: 1, onLoopback: true }).keyOf('127.0.0.2')).toBe('127.0.0.2');
  });

  it('hands a slot to the next waiter in order, drops an aborted waiter, and counts every slot back', async () => {
    const slots = new HostSlots({ perHost: 1, perPeer: 4, onLoopback: true });
    const never = new AbortController().signal;
    const first = await slots.take('10.0.0.1', 80, never);
    const order: number[] = [];
    const second = slots.take('10.0.0.1', 80, never).then((release) => (order.push(2), release));
    const leaving = new AbortController();
    const aborted = codeOf(slots.take('10.0.0.1', 80, leaving.signal));
    const third = slots.take('10.0.0.1', 80, never).then((release) => (order.push(3), release));
    leaving.abort(new Error('gone'));
    expect(await aborted).toMatch(/gone/);
    expect(slots.total).toBe(1);
    first();
    first(); // a second release gives nothing back twice
    (await second)();
    (await third)();
    expect(order).toEqual([2, 3]);
    expect(slots.total).toBe(0);
  });
});
