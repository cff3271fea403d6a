/** The legacy XML-RPC endpoint's same-origin rule (legacy/http-io.ts `foreignOrigin`). */
import { describe, expect, it } from 'vitest';
import { foreignOrigin } from '../../src/legacy/http-io.js';

const request = (host: string | undefined, origin: string | undefined) => ({ headers: { host, origin } }) as unknown as Parameters<typeof foreignOrigin>[0];

describe('foreignOrigin', () => {
  it.each(['127.0.0.1:6264', '127.0.0.1', '[::1]:6264', '[::1]', 'localhost:6264', 'LOCALHOST'])('takes a page of the node\'s own origin, the node named by address (%s)', (host) => {
    expect(foreignOrigin(request(host, `http://${host}`), [])).toBe(false);
    expect(foreignOrigin(request(host, `https://${host}`), [])).toBe(false);
  });

  it.each(['rebound.example:6264', 'localhost.', 'node.localhost', '1.2.3.4.nip.io', '[::1]evil.example', '[::1', '127.0.0.1:80:80'])(
    'refuses a page whose Host names the node otherwise, Origin and Host agreeing (%s): DNS rebinding',
    (host) => {
      expect(foreignOrigin(request(host, `http://${host}`), [])).toBe(true);
      expect(foreignOrigin(request(host, `http://${host}`), [`http://${host}`])).toBe(false); // listed: let in
    },
  );

  it('passes calls without an Origin (not from a page), and refuses a foreign one or one without a Host', () => {
    expect(foreignOrigin(request('rebound.example', undefined), [])).toBe(false);
    expect(foreignOrigin(request('127.0.0.1:6264', 'http://evil.example'), [])).toBe(true);
    expect(foreignOrigin(request(undefined, 'http://127.0.0.1'), [])).toBe(true);
    expect(foreignOrigin(request('127.0.0.1', 'http://evil.example'), ['*'])).toBe(false);
  });
});
