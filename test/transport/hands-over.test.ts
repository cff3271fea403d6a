import { describe, expect, it } from 'vitest';
import { OutboundGuard } from '../../src/node/outbound-guard.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { ProtocolClient } from '../../src/protocol/client.js';
import { seededRandom, systemClock } from '../../src/runtime.js';
import { ByzantineTransport } from '../../src/sim/byzantine.js';
import { ObservedTransport } from '../../src/sim/observed-transport.js';
import { HttpTransport } from '../../src/transport/http.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import type { Transport } from '../../src/transport/types.js';

/** A transport that only says whether it hands its replies over. */
function saying(handsOverReplies: boolean | undefined): Transport {
  return {
    address: undefined,
    ...(handsOverReplies === undefined ? {} : { handsOverReplies }),
    listen: () => Promise.reject(new Error('not used')),
    call: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}

describe('Transport.handsOverReplies', () => {
  it('is true for both shipped transports', async () => {
    const http = new HttpTransport();
    const memory = new MemoryNetwork().transport('n1');
    expect(http.handsOverReplies).toBe(true);
    expect(memory.handsOverReplies).toBe(true);
    await Promise.all([http.close(), memory.close()]);
  });

  it('is what the wrapped transport says, for every wrapper, and ProtocolClient reports it', () => {
    for (const says of [true, false, undefined]) {
      const inner = saying(says);
      const wrappers: Transport[] = [
        new OutboundGuard(inner, { clock: systemClock, blocklist: new Blocklist(16) }),
        new ObservedTransport(inner),
        new ByzantineTransport(inner, 'corrupt', { random: seededRandom(1), clock: systemClock, bogusPrefix: 'bogus-' }),
      ];
      for (const wrapper of wrappers) expect(wrapper.handsOverReplies, `${wrapper.constructor.name} over ${String(says)}`).toBe(says === true);
      expect(new ProtocolClient(inner).handsOverReplies).toBe(says === true);
    }
  });
});
