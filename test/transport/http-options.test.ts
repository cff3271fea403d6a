/** HttpTransport's options are checked where they enter: each wrong one is an INVALID_OPTION naming it. */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, InvalidOptionError } from '../../src/errors.js';
import { HttpTransport, type HttpTransportOptions } from '../../src/transport/http.js';

const route = { method: 'GET', match: () => true, handle: async () => {} };

describe('HttpTransport options', () => {
  it('refuses each wrong option, naming it', () => {
    const cases: [unknown, string][] = [
      [null, 'options'],
      [{ listne: '127.0.0.1:0' }, 'listne'], // a misspelt listen made a client-only transport
      [{ legacy: true }, 'legacy'],
      [{ listen: '127.0.0.1' }, 'listen'],
      [{ listen: 6264 }, 'listen'],
      [{ advertise: 'a b:1' }, 'advertise'],
      [{ format: 'xml' }, 'format'], // was JSON, silently
      [{ routes: 5 }, 'routes'],
      [{ routes: [{ ...route, method: 'PUT' }] }, 'routes[0].method'],
      [{ routes: [route, { method: 'GET', handle: async () => {} }] }, 'routes[1].match'],
      [{ routes: [{ ...route, handle: 'later' }] }, 'routes[0].handle'],
      [{ routes: [{ ...route, maxBodyBytes: -1 }] }, 'routes[0].maxBodyBytes'],
      [{ clock: 5 }, 'clock'],
      [{ logger: { debug() {} } }, 'logger'],
      [{ limits: { maxConnections: 0 } }, 'limits.maxConnections'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        new HttpTransport(options as HttpTransportOptions);
      } catch (e) {
        error = e;
      }
      expect(error, option).toBeInstanceOf(InvalidOptionError);
      expect(error, option).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option });
    }
  });

  it('takes every option it documents', async () => {
    const transport = new HttpTransport({ listen: '127.0.0.1:0', advertise: 'node.example:6264', limits: { maxConnections: 10 }, format: 'json', routes: [route as never], clock: { now: () => 0, setTimeout, clearTimeout }, logger: console });
    await transport.close();
    await new HttpTransport().close();
  });

  it('a transport made without listen calls only: its listen() is an INVALID_OPTION naming listen', async () => {
    const transport = new HttpTransport();
    try {
      const error = await transport.listen({ handle: async () => null } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error).toMatchObject({ code: ErrorCodes.INVALID_OPTION, option: 'listen' });
      expect(transport.address).toBeUndefined();
    } finally {
      await transport.close();
    }
  });
});
