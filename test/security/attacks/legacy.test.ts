/**
 * Attacks through the legacy API, against a real node over HttpTransport on 127.0.0.1: a
 * 90,000-digit <double>, a cross-site POST /RPC2, a hash spelt in 100 letter cases; and what
 * browsers and the original clients need of it (CORS, preflight, POST /v1/zonefile/).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ADDRESS_POLICY } from '../../../src/peers/address-policy.js';
import { caseVariants, honestClient, postRaw, sleep } from '../hostile/attackers.js';
import { startVictim, type Victim } from '../hostile/victim.js';
import { SMALL_LIMITS } from './limits.js';

let victim: Victim;
/** The victim's maintenance round: offered peers are dialled (admission ping) within a round or two. */
const ROUND_MS = 100;

beforeAll(async () => {
  // The local policy lets the victim dial 127.x, so "dials nothing" depends on the origin check alone.
  victim = await startVictim({ limits: SMALL_LIMITS, chunkCount: 4, addressPolicy: LOCAL_ADDRESS_POLICY, timers: { roundMs: ROUND_MS } });
});
afterAll(async () => {
  await victim?.close();
});

const XML = { 'content-type': 'text/xml' };
/** About two rounds: long enough for the victim to dial an offered address. */
const DIAL_WINDOW_MS = 2.5 * ROUND_MS;

/** A TCP listener on `host` that counts the connections it gets (and drops them). */
async function countingListener(host: string): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function call(method: string, params: string): string {
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params}</params></methodCall>`;
}

describe('legacy API under attack', () => {
  it('a <double> of 90,000 digits is refused as a fault, and the honest client is served meanwhile', async () => {
    // Four of these froze the event loop for about 18 s with the old quadratic pattern.
    const honest = honestClient(victim.port, [victim.chunks[0]!.address], { timeoutMs: 5_000 });
    await sleep(150);
    const replies = await Promise.all(
      Array.from({ length: 4 }, () => postRaw(victim.port, '/RPC2', call('get_zonefiles', `<param><value><double>${'9'.repeat(90_000)}x</double></value></param>`), XML)),
    );
    await sleep(150);
    const result = await honest.stop();
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.text).toContain('<fault>');
      expect(reply.text).toContain('longer than 64 characters');
    }
    expect(result.failures).toEqual([]);
    expect(result.ok).toBeGreaterThanOrEqual(1);
  });

  it('a cross-site POST /RPC2 is refused: text/plain (415), a foreign Origin (403), a page under a name rebound to the node (403); the node dials nothing', async () => {
    const offered = await countingListener('127.0.0.3');
    try {
      // Sent from the offered host itself, so the node's sender check keeps the offer: only the
      // content-type and Origin checks stand between these calls and a dial.
      const exchange = call('atlas_peer_exchange', `<param><value><string>127.0.0.3:${offered.port}</string></value></param>`);
      const plain = await postRaw(victim.port, '/RPC2', exchange, { 'content-type': 'text/plain', origin: 'http://evil.example' }, '127.0.0.3');
      expect(plain.status).toBe(415);
      const foreign = await postRaw(victim.port, '/RPC2', exchange, { ...XML, origin: 'http://evil.example' }, '127.0.0.3');
      expect(foreign.status).toBe(403);
      const none = await postRaw(victim.port, '/RPC2', exchange, { 'content-type': 'text/plain' }, '127.0.0.3');
      expect(none.status).toBe(415);
      // DNS rebinding: a page whose own name now points here posts to it; its Origin is its Host, a name.
      const rebound = `rebound.example:${victim.port}`;
      const rebinding = await postRaw(victim.port, '/RPC2', exchange, { ...XML, host: rebound, origin: `http://${rebound}` }, '127.0.0.3');
      expect(rebinding.status).toBe(403);
      const localhost = await postRaw(victim.port, '/RPC2', call('ping', ''), { ...XML, host: `localhost:${victim.port}`, origin: `http://localhost:${victim.port}` });
      expect(localhost.status).toBe(200);
      // The node's own origin and calls without an Origin (not from a page) pass.
      const own = await postRaw(victim.port, '/RPC2', call('ping', ''), { ...XML, origin: `http://127.0.0.1:${victim.port}` });
      expect(own.status).toBe(200);
      expect(own.text).toContain('alive');
      await sleep(DIAL_WINDOW_MS);
      expect(offered.connections()).toBe(0);
      expect(victim.node.stats().peers).toBe(0);
      // Control: the same exchange from the node's own origin, as text/xml, does make it dial the offered address in that time.
      const sameOrigin = await postRaw(victim.port, '/RPC2', exchange, { ...XML, origin: `http://127.0.0.1:${victim.port}` }, '127.0.0.3');
      expect(sameOrigin.status).toBe(200);
      expect(sameOrigin.text).not.toContain('<fault>');
      await sleep(DIAL_WINDOW_MS);
      expect(offered.connections()).toBeGreaterThanOrEqual(1);
    } finally {
      await offered.close();
    }
  });

  it('get_zonefiles with one 40 KiB zone file spelt in 100 letter cases answers it once, keyed by its canonical hash', async () => {
    const chunk = victim.chunks[0]!;
    const variants = caseVariants(chunk.address, 100);
    expect(new Set(variants).size).toBe(100);
    const params = `<param><value><array><data>${variants.map((v) => `<value><string>${v}</string></value>`).join('')}</data></array></value></param>`;
    const reply = await postRaw(victim.port, '/RPC2', call('get_zonefiles', params), XML);
    expect(reply.status).toBe(200);
    expect(reply.text.length).toBeLessThan(80_000);
    const json = /<string>([\s\S]*)<\/string>/.exec(reply.text)![1]!.replace(/&quot;/g, '"');
    const zonefiles = (JSON.parse(json) as { zonefiles: Record<string, string> }).zonefiles;
    expect(Object.keys(zonefiles)).toEqual([chunk.address]);
    expect(Buffer.from(zonefiles[chunk.address]!, 'base64').equals(Buffer.from(chunk.data))).toBe(true);
  });

  it('zone-file and attachment routes answer CORS and OPTIONS preflight; POST /v1/zonefile/ works like /v1/zonefile', async () => {
    const base = `http://127.0.0.1:${victim.port}`;
    const get = await fetch(`${base}/v1/zonefiles/${victim.chunks[1]!.address}`, { headers: { origin: 'http://wallet.example' } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
    await get.arrayBuffer();
    for (const path of ['/v1/zonefile', '/v1/zonefile/', `/v1/zonefiles/${victim.chunks[1]!.address}`, `/v2/attachments/${victim.chunks[1]!.address}`]) {
      const preflight = await fetch(`${base}${path}`, { method: 'OPTIONS', headers: { origin: 'http://wallet.example', 'access-control-request-method': 'POST' } });
      expect(preflight.status, path).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    }
    for (const path of ['/v1/zonefile', '/v1/zonefile/']) {
      // Stored already: the node saves nothing new, yet answers as the original did for a valid body.
      const reply = await postRaw(victim.port, path, JSON.stringify({ zonefile_b64: Buffer.from(victim.chunks[2]!.data).toString('base64') }), { 'content-type': 'application/json', origin: 'http://wallet.example' });
      expect(reply.status, path).toBe(200);
      expect(reply.headers['access-control-allow-origin']).toBe('*');
      expect(JSON.parse(reply.text)).toMatchObject({ status: true });
    }
    // /RPC2 is not a CORS route.
    const rpcPreflight = await fetch(`${base}/RPC2`, { method: 'OPTIONS' });
    expect(rpcPreflight.status).toBe(405);
    await rpcPreflight.arrayBuffer();
  });
});
