import { describe, expect, it } from 'vitest';
import { OutboundGuard } from '../../src/node/outbound-guard.js';
import { Blocklist } from '../../src/peers/blocklist.js';
import { ErrorCodes, isAtlasError } from '../../src/errors.js';
import { systemClock } from '../../src/runtime.js';
import type { Transport } from '../../src/transport/types.js';

/** Records every call that gets through and answers it at once. */
class RecordingTransport implements Transport {
  readonly address = undefined;
  readonly dialled: string[] = [];
  async listen(): Promise<string> {
    return 'recording';
  }
  async call(peer: string): Promise<unknown> {
    this.dialled.push(peer);
    return {};
  }
  async close(): Promise<void> {}
}

const outcome = (call: Promise<unknown>) => call.then(() => 'dialled', (error: unknown) => (isAtlasError(error) ? error.code : 'other'));

describe('OutboundGuard: a block holds under both forms of an IPv4 address', () => {
  it('a peer blocked as IPv4 is not dialled as IPv4-mapped IPv6, nor the reverse; other addresses still are', async () => {
    const inner = new RecordingTransport();
    const blocklist = new Blocklist();
    blocklist.block('8.8.4.4:6264', Infinity);
    blocklist.block('[::ffff:9.9.9.9]:6264', Infinity);
    const guard = new OutboundGuard(inner, { clock: systemClock, blocklist });
    for (const peer of ['8.8.4.4:6264', '[::ffff:8.8.4.4]:6264', '[::FFFF:0808:0404]:6264', '[0:0:0:0:0:ffff:8.8.4.4]:6264', '9.9.9.9:6264', '[::ffff:9.9.9.9]:6264']) {
      expect(await outcome(guard.call(peer, 'ping', {}))).toBe(ErrorCodes.BLOCKED);
    }
    expect(guard.refusedBlocked).toBe(6);
    // The block is on that address and port only.
    expect(await outcome(guard.call('8.8.4.4:6265', 'ping', {}))).toBe('dialled');
    expect(await outcome(guard.call('[::ffff:8.8.4.5]:6264', 'ping', {}))).toBe('dialled');
    expect(await outcome(guard.call('[2001:4860::8888]:6264', 'ping', {}))).toBe('dialled');
    expect(inner.dialled).toEqual(['8.8.4.4:6265', '[::ffff:8.8.4.5]:6264', '[2001:4860::8888]:6264']);
  });
});
