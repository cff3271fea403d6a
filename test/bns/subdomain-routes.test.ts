/** GET /v1/names/<subdomain>/zonefile/<hash>: a subdomain's zone file lives in its parent's, not in the store. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NameResolver } from '../../src/bns/names.js';
import { namesRoutes } from '../../src/bns/routes.js';
import { MemoryChain } from '../../src/chain/memory.js';
import { hash160Hex } from '../../src/hash/index.js';
import type { HttpRouteContext } from '../../src/transport/http-route.js';

/** The names routes over a resolver of `file`, the one zone file announced (for `name`), on 127.0.0.1; answers its base URL and a close. */
async function serveNames(name: string, file: Uint8Array, options: ConstructorParameters<typeof NameResolver>[1] = {}): Promise<{ base: string; close: () => Promise<unknown> }> {
  const chain = new MemoryChain();
  chain.announce([{ address: hash160Hex(file), key: name }]);
  const chunks = new Map([[hash160Hex(file), file]]);
  const resolver = new NameResolver({ chain, chunk: (address) => chunks.get(address) }, options);
  const service = { resolve: resolver.resolve.bind(resolver), history: resolver.history.bind(resolver), zonefile: (hash: string) => chunks.get(hash) };
  const [route] = namesRoutes(() => service);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const params = route!.match(url.pathname);
    const context = { signal: AbortSignal.timeout(5_000), params: typeof params === 'object' ? params : {}, url, caller: { family: 4, host: '127.0.0.1', port: 1 } } as unknown as HttpRouteContext;
    void route!.handle(req, res, context);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('/v1/names/<subdomain>/zonefile/<hash>', () => {
  it('serves the current zone file of a subdomain by its hash', async () => {
    const sub = '$ORIGIN bob\n_https._tcp URI 10 1 "https://one.example"\n';
    const file = new Uint8Array(Buffer.from(`$ORIGIN dmails.id\n$TTL 3600\nbob IN TXT "owner=1Alice" "seqn=0" "parts=1" "zf0=${Buffer.from(sub).toString('base64')}"\n`));
    const { base, close } = await serveNames('dmails.id', file);
    try {
      const current = await fetch(`${base}/v1/names/bob.dmails.id/zonefile`);
      expect([current.status, await current.json()]).toEqual([200, { zonefile: sub }]);
      const byHash = await fetch(`${base}/v1/names/bob.dmails.id/zonefile/${hash160Hex(Buffer.from(sub))}`);
      expect([byHash.status, await byHash.json()]).toEqual([200, { zonefile: sub }]);
    } finally {
      await close();
    }
  });

  it('answers 507 TOO_LARGE for a subdomain of a parent with more records than names.maxParentBytes', async () => {
    const records = Array.from({ length: 200 }, (_, i) => `s${i} IN TXT "owner=1Alice" "seqn=0" "parts=1" "zf0="`);
    const file = new Uint8Array(Buffer.from(`$ORIGIN big.id\n${records.join('\n')}\n`));
    const { base, close } = await serveNames('big.id', file, { subdomains: { maxParentBytes: 10_000 } });
    try {
      for (const path of ['s1.big.id', 's1.big.id/zonefile']) {
        const reply = await fetch(`${base}/v1/names/${path}`);
        expect(reply.status).toBe(507);
        expect(await reply.json()).toMatchObject({ code: 'TOO_LARGE' });
      }
      expect((await fetch(`${base}/v1/names/big.id`)).status).toBe(200); // the parent itself resolves
    } finally {
      await close();
    }
  });
});
