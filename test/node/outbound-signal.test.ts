import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
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
});
