import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { OutboundGuard, type CallOutcome } from '../../src/node/outbound-guard.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { PeerTable } from '../../src/peers/table.js';
import { AtlasError, ErrorCodes } from '../../src/errors.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { PROTOCOL_VERSION, type PingResult } from '../../src/protocol/messages.js';
import { systemClock } from '../../src/runtime.js';
import type { CallOptions, Transport } from '../../src/transport/types.js';

/** Holds every call until its signal aborts, listening on that signal as real transports do. */
class HoldingTransport implements Transport {
  readonly address = undefined;
  readonly signals: AbortSignal[] = [];
  async listen(): Promise<string> {
    return 'held';
  }
  call(_peer: string, _method: string, _params: unknown, options?: CallOptions): Promise<unknown> {
    const signal = options?.signal as AbortSignal;
    this.signals.push(signal);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  }
  async close(): Promise<void> {}
}

describe('OutboundGuard and shared signals', () => {
  it('passes each call\'s signal through as it is: no wrapper signal, no listener of its own', async () => {
    const inner = new HoldingTransport();
    const outcomes: CallOutcome[] = [];
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, blocklist: new Blocklist(), onCall: (o) => outcomes.push(o) });
    const controllers = Array.from({ length: 5 }, () => new AbortController());
    const calls = controllers.map((c, i) => guard.call(`127.0.0.1:${1000 + i}`, 'offer', {}, { signal: c.signal }).catch((e: unknown) => e));
    expect(inner.signals).toEqual(controllers.map((c) => c.signal));
    // The one listener on each is the holding transport's own.
    expect(controllers.every((c) => getEventListeners(c.signal, 'abort').length === 1)).toBe(true);
    for (const c of controllers) c.abort(new Error('round over'));
    const results = await Promise.all(calls);
    expect(results.every((r) => (r as Error).message === 'round over')).toBe(true);
    expect(outcomes).toHaveLength(5);
    expect(outcomes.every((o) => o.method === 'offer' && o.error !== undefined && o.ms >= 0)).toBe(true);
  });

  it('behind the node\'s client, 50 calls on one shared signal put one listener on it and one on the lifetime, which stays one; closing aborts every call at once', async () => {
    const inner = new HoldingTransport();
    const outcomes: CallOutcome[] = [];
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, blocklist: new Blocklist(), onCall: (o) => outcomes.push(o) });
    const lifetime = new AbortController();
    const client = new ProtocolClient(guard, { clock: systemClock, signal: lifetime.signal });
    const round = (shared: AbortSignal) =>
      Array.from({ length: 50 }, (_, i) => client.peers(`127.0.0.1:${1000 + i}`, {}, { signal: shared }).then(() => undefined, (e: unknown) => e as AtlasError));

    const first = new AbortController();
    const ended = round(first.signal);
    expect(new Set(inner.signals).size).toBe(50);
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1);
    first.abort(new Error('round over'));
    expect((await Promise.all(ended)).every((e) => e?.code === ErrorCodes.ABORTED)).toBe(true);
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1); // kept for the next calls, not one per call

    const second = new AbortController();
    const closed = round(second.signal);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(1);
    lifetime.abort(new AtlasError(ErrorCodes.CLOSED, 'node closed'));
    expect(inner.signals.slice(50).every((signal) => signal.aborted)).toBe(true); // at once, not at the next step
    const errors = await Promise.all(closed);
    expect(errors.every((e) => e?.code === ErrorCodes.ABORTED && (e.cause as AtlasError).code === ErrorCodes.CLOSED)).toBe(true);
    expect(getEventListeners(second.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    expect(outcomes).toHaveLength(100);
    await expect(client.peers('127.0.0.1:9', {})).rejects.toMatchObject({ code: ErrorCodes.ABORTED });
    expect(inner.signals).toHaveLength(100); // a closed node sends nothing
  });

  it('parses a peer address once per call: the blocklist, the seeds and the policy all read that parse', async () => {
    const inner = new HoldingTransport();
    const blocklist = new Blocklist();
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, seeds: ['10.0.0.1:7'], blocklist });
    const check = vi.spyOn(guard.policy, 'check');
    const judge = vi.spyOn(guard.policy, 'judge');
    blocklist.block('127.0.0.1:9', Number.POSITIVE_INFINITY);
    await expect(guard.call('127.0.0.1:09', 'ping', {})).rejects.toMatchObject({ code: 'BLOCKED' }); // canonical form blocked
    const controller = new AbortController();
    const held = guard.call('127.0.0.1:10', 'ping', {}, { signal: controller.signal }).catch(() => undefined);
    const seed = guard.call('10.0.0.1:07', 'ping', {}, { signal: controller.signal }).catch(() => undefined); // a seed: not judged
    expect(inner.signals).toHaveLength(2);
    expect(judge.mock.calls.map(([peer]) => peer.address)).toEqual(['127.0.0.1:10']);
    expect(check).not.toHaveBeenCalled();
    controller.abort();
    await Promise.all([held, seed]);
  });
});

describe('the outbound guard remembers its verdicts', () => {
  it('judges an address once however often it is dialled, while the blocklist still applies to every call', async () => {
    const inner = new HoldingTransport();
    const blocklist = new Blocklist();
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, blocklist });
    const judge = vi.spyOn(guard.policy, 'judge');
    const controller = new AbortController();
    const calls = Array.from({ length: 3 }, () => guard.call('127.0.0.1:10', 'ping', {}, { signal: controller.signal }).catch(() => undefined));
    expect(inner.signals).toHaveLength(3);
    expect(judge).toHaveBeenCalledTimes(1);
    blocklist.block('127.0.0.1:10', Number.POSITIVE_INFINITY);
    await expect(guard.call('127.0.0.1:10', 'ping', {})).rejects.toMatchObject({ code: 'BLOCKED' });
    blocklist.unblock('127.0.0.1:10');
    calls.push(guard.call('127.0.0.1:10', 'ping', {}, { signal: controller.signal }).catch(() => undefined));
    expect(inner.signals).toHaveLength(4);
    await expect(guard.call('169.254.169.254:7', 'ping', {})).rejects.toMatchObject({ code: 'ADDRESS_REFUSED' }); // link-local: never dialled
    await expect(guard.call('169.254.169.254:7', 'ping', {})).rejects.toMatchObject({ code: 'ADDRESS_REFUSED' });
    expect(judge).toHaveBeenCalledTimes(2);
    controller.abort();
    await Promise.all(calls);
  });
});

describe('one blocklist for the peer table and the outbound guard', () => {
  it('a peer the table blocks is never dialled, and dialled again the moment the block is lifted or ends', async () => {
    let now = 0;
    const clock = { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined };
    const blocklist = new Blocklist();
    const table = new PeerTable({ clock, random: () => 0, network: 'main', policy: LOCAL_ADDRESS_POLICY, blocklist, maxOffences: 1, blockMs: 1_000 });
    const answered: string[] = [];
    const inner: Transport = { address: undefined, listen: async () => 'me', close: async () => {}, call: async (peer) => void answered.push(peer) };
    const guard = new OutboundGuard(inner, { clock, policy: LOCAL_ADDRESS_POLICY, blocklist });
    const ping: PingResult = { network: 'main', protocol: PROTOCOL_VERSION, sequenceLength: 0, chunkCount: 0, digestLength: 0, digest: '', inventory: { epoch: 'e', version: 0 } };
    table.admit('127.0.0.1:7', ping);
    table.penalise('127.0.0.1:7', 'bad chunk'); // one offence is the limit here: removed and blocked
    await expect(guard.call('127.0.0.1:007', 'ping', {})).rejects.toMatchObject({ code: 'BLOCKED' });
    now = 1_000;
    await guard.call('127.0.0.1:7', 'ping', {}); // the block ran out
    table.block('127.0.0.1:8');
    await expect(guard.call('127.0.0.1:8', 'ping', {})).rejects.toMatchObject({ code: 'BLOCKED' });
    table.unblock('127.0.0.1:8');
    await guard.call('127.0.0.1:8', 'ping', {});
    expect(answered).toEqual(['127.0.0.1:7', '127.0.0.1:8']);
    expect(guard.refusedBlocked).toBe(2);
  });
});
