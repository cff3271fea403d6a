import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { OutboundGuard, type CallOutcome } from '../../src/node/outbound-guard.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
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
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, onCall: (o) => outcomes.push(o) });
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
    const guard = new OutboundGuard(inner, { clock: systemClock, policy: LOCAL_ADDRESS_POLICY, seeds: ['10.0.0.1:7'] });
    const check = vi.spyOn(guard.policy, 'check');
    const judge = vi.spyOn(guard.policy, 'judge');
    guard.block('127.0.0.1:9', 60_000);
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
