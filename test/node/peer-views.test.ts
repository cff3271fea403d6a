/** A peer's claims cannot make our view of it larger than our own sequence. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { PeerViews } from '../../src/sync/peer-views.js';
import type { Transport, TransportService } from '../../src/transport/types.js';

/** A peer that claims a sequence of 2^32 - 1 positions, all held. */
class BoastingPeer implements Transport {
  readonly address = 'me';
  requests: { method: string; params: unknown }[] = [];
  async listen(_service: TransportService): Promise<string> {
    return this.address;
  }
  async call(_peer: string, method: string, params: unknown): Promise<unknown> {
    this.requests.push({ method, params });
    const huge = 0xffff_ffff;
    const inventory = { epoch: 'boast', version: 1 };
    if (method === 'inventory') {
      const { length } = params as { length: number };
      return { sequenceLength: huge, inventory, bytes: new Uint8Array(length).fill(0xff) };
    }
    if (method === 'inventoryChanges') return { complete: true, sequenceLength: huge, inventory: { epoch: 'boast', version: 2 }, added: Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0x0f) };
    return { protocol: PROTOCOL_VERSION };
  }
  async close(): Promise<void> {}
}

describe('PeerViews', () => {
  it('clamps a view to our own sequence length, whatever the peer claims', async () => {
    const transport = new BoastingPeer();
    const views = new PeerViews(new ProtocolClient(transport), DEFAULT_LIMITS, 4, () => 'me', () => 1_000);
    views.track('boaster');
    const whole = await views.refresh('boaster', 0);
    expect(whole.full).toBe(true);
    expect(views.get('boaster')!.inventory.length).toBe(1_000);
    expect(views.get('boaster')!.inventory.count).toBe(1_000);
    // One page of 125 bytes, not 2^32 / 8; then the changes made meanwhile (which registers us).
    expect(transport.requests.map((r) => r.method)).toEqual(['inventory', 'inventoryChanges']);
    expect((transport.requests[0]!.params as { length: number }).length).toBe(125);

    await views.refresh('boaster', 1); // incremental: a position far beyond our sequence
    expect(views.get('boaster')!.inventory.length).toBe(1_000);
    expect(views.markHeld('boaster', Uint32Array.of(5, 999, 4_000_000_000))).toBe(0);
  });
});
