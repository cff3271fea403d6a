/**
 * The HTTP client's socket slots keep both caps, per peer ("host:port", maxSocketsPerPeer) and
 * per host (maxSocketsPerHost): calls queued for one stalling port must not hold the host's slots
 * while they wait for the agent (head-of-line blocking of the host's other ports), waiters are
 * granted in order of arrival among those that can be, and a retry on a fresh socket after a
 * stale keep-alive one keeps its slot.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../src/errors.js';
import { HostSlots } from '../../src/transport/http-outbound.js';
import { HttpTransport } from '../../src/transport/http.js';
import { ContractService, codeOf } from './contract.js';
import { httpTransports } from '../support/http-transports.js';
import { stallingServer } from '../support/stalling-hosts.js';
import { until } from '../support/raw-socket.js';

const { open, serve, client } = httpTransports();

async function timed(call: Promise<unknown>): Promise<{ code: string; ms: number }> {
  const start = performance.now();
  const code = await codeOf(call);
  return { code, ms: Math.round(performance.now() - start) };
}

describe('HttpTransport client: calls to one stalling port of a host', () => {
  it('do not hold the host: 8 calls to a silent port (4 sockets, 4 waiting) leave an honest port of the same host answered at once', async () => {
    const staller = await stallingServer('127.0.0.2', 'silent');
    open.push(staller);
    const server = new HttpTransport({ listen: '127.0.0.2:0' });
    open.push(server);
    const honest = await server.listen(new ContractService());
    // Default limits: maxSocketsPerPeer 4, maxSocketsPerHost 8; the per-host ones also for loopback.
    const peer = client({ limits: { perHostLimitsOnLoopback: true } });
    const stalled = Array.from({ length: 8 }, () => timed(peer.call(staller.address, 'echo', 1, { timeoutMs: 1_500 })));
    await until(() => staller.open() === 4);
    const probe = await timed(peer.call(honest, 'echo', 'hi', { timeoutMs: 1_000 }));
    const report = JSON.stringify({ socketsToStaller: staller.open(), probe });
    expect(probe.code, report).toBe('resolved');
    expect(probe.ms, report).toBeLessThan(500);
    // The staller never had more than its 4 at once; its calls all end at their deadlines.
    expect(staller.accepted(), report).toBeLessThanOrEqual(8);
    expect((await Promise.all(stalled)).every((call) => call.code === ErrorCodes.TIMEOUT)).toBe(true);
    await until(() => staller.open() === 0);
  });
});

describe('HttpTransport client: a stale keep-alive socket', () => {
  it('is retried on a fresh socket within the same slot, not behind the calls waiting for one', async () => {
    const { address: honest, port: honestPort } = await serve(new ContractService());
    // A proxy to the honest server that resets a connection when a second request comes on it.
    let resets = 0;
    const proxy = net.createServer((downstream) => {
      const upstream = net.connect(honestPort, '127.0.0.1');
      let answered = false;
      downstream.on('error', () => {});
      upstream.on('error', () => downstream.destroy());
      upstream.on('data', (data: Buffer) => {
        answered = true;
        downstream.write(data);
      });
      downstream.on('data', (data: Buffer) => {
        if (!answered) {
          upstream.write(data);
          return;
        }
        resets++;
        upstream.destroy();
        downstream.resetAndDestroy();
      });
      downstream.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => proxy.close(() => resolve())) });
    const proxied = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
    const staller = await stallingServer('127.0.0.1', 'silent');
    open.push(staller);
    const peer = client({ limits: { maxSocketsPerHost: 1, perHostLimitsOnLoopback: true } });
    expect(await peer.call(proxied, 'echo', 1)).toBe(1); // its socket stays open, kept alive
    // reuses the kept socket, which the proxy resets; the only slot of 127.0.0.1 is its
    const retried = timed(peer.call(proxied, 'echo', 2, { timeoutMs: 3_000 }));
    // waits for that slot, then stalls until its deadline once it has it
    const waiting = timed(peer.call(staller.address, 'echo', 3, { timeoutMs: 800 }));
    const [first, second] = await Promise.all([retried, waiting]);
    const report = JSON.stringify({ resets, first, second });
    expect(resets, report).toBe(1);
    expect(first.code, report).toBe('resolved');
    expect(first.ms, report).toBeLessThan(400);
    expect(second.code, report).toBe(ErrorCodes.TIMEOUT);
    expect(await peer.call(honest, 'echo', 4, { timeoutMs: 1_000 })).toBe(4);
  });
});

describe('HostSlots: per peer and per host', () => {
  const never = new AbortController().signal;

  it('a call waiting on its own peer cap holds nothing of its host: another port is granted at once', async () => {
    const slots = new HostSlots({ perHost: 8, perPeer: 4, onLoopback: false });
    const granted: number[] = [];
    const releases = Array.from({ length: 8 }, (_, i) => slots.take('203.0.113.7', 80, never).then((release) => (granted.push(i), release)));
    await Promise.resolve();
    expect(granted).toEqual([0, 1, 2, 3]);
    expect(slots.total).toBe(4);
    expect(slots.waiting).toBe(4);
    const other = await slots.take('203.0.113.7', 81, never);
    expect(slots.total).toBe(5);
    // One of port 80's is done: its first waiter takes the slot.
    (await releases[0]!)();
    await Promise.resolve();
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    expect(slots.total).toBe(5);
    other();
    for (const release of releases) (await release)();
    expect(slots.total).toBe(0);
    expect(slots.waiting).toBe(0);
    expect(slots.hostsTracked).toBe(0);
  });

  it('grants the earliest waiter whose peer and host both have a slot free', async () => {
    const slots = new HostSlots({ perHost: 2, perPeer: 1, onLoopback: false });
    const host = 'peer.example';
    const a1 = await slots.take(host, 1, never);
    const b1 = await slots.take(host, 2, never);
    const order: string[] = [];
    const wait = (port: number, name: string) => slots.take(host, port, never).then((release) => (order.push(name), release));
    const a2 = wait(1, 'a2');
    const b2 = wait(2, 'b2');
    const c1 = wait(3, 'c1');
    expect(slots.waiting).toBe(3);
    b1(); // a2 came first but port 1 is at its cap: b2 before c1
    await Promise.resolve();
    expect(order).toEqual(['b2']);
    a1(); // a2 and c1 could both go: a2 came first
    await Promise.resolve();
    expect(order).toEqual(['b2', 'a2']);
    (await b2)();
    await Promise.resolve();
    expect(order).toEqual(['b2', 'a2', 'c1']);
    (await a2)();
    (await c1)();
    expect(slots.total).toBe(0);
    expect(slots.hostsTracked).toBe(0);
  });

  it('waiters are granted in order of arrival; waiting ends with the signal, taking nothing; a release counts once', async () => {
    const slots = new HostSlots({ perHost: 1, perPeer: 1, onLoopback: false });
    const first = await slots.take('10.0.0.1', 80, never);
    const leaving = new AbortController();
    const aborted = codeOf(slots.take('10.0.0.1', 81, leaving.signal));
    const order: number[] = [];
    const second = slots.take('10.0.0.1', 82, never).then((release) => (order.push(2), release));
    leaving.abort(new Error('gone'));
    expect(await aborted).toMatch(/gone/);
    expect(slots.waiting).toBe(1);
    first();
    first(); // once only
    const third = slots.take('10.0.0.1', 81, never).then((release) => (order.push(3), release));
    (await second)();
    (await third)();
    expect(order).toEqual([2, 3]);
    expect(slots.total).toBe(0);
    expect(slots.hostsTracked).toBe(0);
    // an aborted signal takes nothing; loopback is not counted unless asked
    const gone = new AbortController();
    gone.abort(new Error('before'));
    expect(await codeOf(slots.take('10.0.0.1', 80, gone.signal))).toMatch(/before/);
    await Promise.all([1, 2, 3].map(() => slots.take('127.0.0.1', 80, never)));
    expect(slots.total).toBe(0);
    expect(slots.hostsTracked).toBe(0);
  });
});
