/** MemoryNetwork's options are checked where they enter: each wrong one is an INVALID_OPTION naming it. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidOptionError } from '../../src/errors.js';
import { seededRandom, systemClock } from '../../src/runtime.js';
import { MemoryNetwork, type MemoryNetworkOptions } from '../../src/transport/memory.js';
import { refusal } from '../support/refusal.js';

describe('MemoryNetwork options', () => {
  it('refuses each wrong option, naming it', () => {
    const cases: [unknown, string][] = [
      [null, 'options'],
      [{ latency: 50 }, 'latency'], // a misspelt latencyMs ran the network at 1 ms, silently
      [{ latencyMs: -5 }, 'latencyMs'],
      [{ latencyMs: NaN }, 'latencyMs'],
      [{ latencyMs: '10' }, 'latencyMs'],
      [{ dropRate: 1.5 }, 'dropRate'],
      [{ dropRate: NaN }, 'dropRate'],
      [{ cutLinks: 'cut' }, 'cutLinks'],
      [{ defaultTimeoutMs: 0 }, 'defaultTimeoutMs'],
      [{ maxRequestBytes: 0 }, 'maxRequestBytes'], // every call was TOO_LARGE
      [{ maxReplyBytes: 1.5 }, 'maxReplyBytes'],
      [{ maxMethodsTracked: Infinity }, 'maxMethodsTracked'],
      [{ clock: { now: () => 0 } }, 'clock'],
      [{ random: 0.5 }, 'random'],
    ];
    for (const [options, option] of cases) {
      const error = refusal(() => new MemoryNetwork(options as MemoryNetworkOptions));
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect(error, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
  });

  it('refuses a latency or a drop rate set later that the options would refuse, naming the option', () => {
    const network = new MemoryNetwork();
    expect(refusal(() => network.setDefaultLatency(-1))).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'latencyMs' });
    expect(refusal(() => network.setLinkLatency('a', 'b', Infinity))).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'latencyMs' });
    expect(refusal(() => network.setDefaultDropRate(1.5))).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'dropRate' });
    expect(refusal(() => network.setLinkDropRate('a', 'b', NaN))).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'dropRate' });
    network.setLinkDropRate('a', 'b', 0.5);
    expect(new MemoryNetwork({ defaultTimeoutMs: Infinity }).defaultTimeoutMs).toBe(Infinity); // no deadline of its own
    network.setDefaultLatency(0);
    network.setLinkLatency('a', 'b', () => 3);
  });

  it('takes every option it documents, and a call travels with them', async () => {
    const network = new MemoryNetwork({ clock: systemClock, random: seededRandom(3), latencyMs: () => 0, dropRate: 0, cutLinks: 'drop', defaultTimeoutMs: 1000, maxRequestBytes: 64, maxReplyBytes: 64, maxMethodsTracked: 2 });
    expect(network).toMatchObject({ defaultTimeoutMs: 1000, maxRequestBytes: 64, maxReplyBytes: 64 });
    const server = network.transport('server');
    await server.listen({ handle: async (_method, params) => params });
    const client = network.transport('client');
    await expect(client.call('server', 'echo', 'hi')).resolves.toBe('hi');
    await expect(client.call('server', 'echo', 'x'.repeat(100))).rejects.toMatchObject({ code: ErrorCodes.TOO_LARGE });
    await Promise.all([client.close(), server.close()]);
  });
});
