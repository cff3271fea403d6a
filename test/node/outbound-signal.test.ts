import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { OutboundGuard, type CallOutcome } from '../../src/node/outbound-guard.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { PeerTable } from '../../src/peers/table.js';
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
  it('gives every call a signal of its own: 50 calls on one shared signal add no listener to it', async () => {
    const inner = new HoldingTransport();
    const outcomes: CallOutcome[] = [];
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, blocklist: new Blocklist(), onCall: (o) => outcomes.push(o) });
    const shared = new AbortController();
    const calls = Array.from({ length: 50 }, (_, i) => guard.call(`127.0.0.1:${1000 + i}`, 'offer', {}, { signal: shared.signal }).catch((e: unknown) => e));
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
    expect(new Set(inner.signals).size).toBe(50);
    shared.abort(new Error('round over'));
    const results = await Promise.all(calls);
    expect(results.every((r) => (r as Error).message === 'round over')).toBe(true);
    expect(outcomes).toHaveLength(50);
    expect(outcomes.every((o) => o.method === 'offer' && o.error !== undefined && o.ms >= 0)).toBe(true);
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
