/** The /v1/names routes on a node's HTTP listener: never a 200 with an empty zone file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { namesRoutes } from '../../src/bns/routes.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { hash160Hex } from '../../src/hash/index.js';
import { AtlasNode } from '../../src/node/index.js';
import { missingRoute } from '../../src/sync/sources/missing-route.js';
import { attachmentSource } from '../../src/sync/sources/local-sources.js';
import { HttpTransport } from '../../src/transport/http.js';
import { waitFor } from '../support/wait.js';
import { BNS, FakeChain } from '../stacks/fake-stacks-node.js';

const root = mkdtempSync(join(tmpdir(), 'atlasnet-names-routes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const zone = (name: string) => new Uint8Array(Buffer.from(`$ORIGIN ${name}\n$TTL 3600\n_http._tcp IN URI 10 1 "https://gaia.example/${name}.json"\n`));

async function get(base: string, path: string): Promise<[number, unknown]> {
  const res = await fetch(`${base}${path}`);
  return [res.status, await res.json()];
}

describe('/v1/names routes', () => {
  it('answer ok, missing, unbound, revoked and unknown names as clients expect', async () => {
    const chain = await StacksObserverChain.open({ dir: root, contracts: [BNS] });
    const fake = new FakeChain();
    const [alice, bob, carol] = [zone('alice.id'), zone('bob.id'), zone('carol.id')];
    chain.ingestBlock(fake.block([
      { name: 'alice.id', op: 'name-register', zonefile: alice },
      { name: 'bob.id', op: 'name-register', zonefile: bob },
      { name: 'carol.id', op: 'name-register', zonefile: carol },
    ]));
    chain.ingestBlock(fake.block([{ name: 'carol.id', op: 'name-revoke' }, { name: 'dave.id', op: 'name-import' }]));
    chain.ingestAttachments(fake.takeAttachments().filter((a) => a.content_hash !== `0x${hash160Hex(bob)}`));
    let node: AtlasNode | undefined;
    node = await AtlasNode.open({
      chain,
      transport: new HttpTransport({ listen: '127.0.0.1:0', routes: [...namesRoutes(() => node), missingRoute(() => node)] }),
      sources: [attachmentSource(chain)],
      backfill: { graceMs: 0, intervalMs: 20 },
    });
    await node.start();
    const base = `http://${node.address}`;
    try {
      await waitFor(async () => (await node!.resolve('alice.id')).status === 'ok', 'alice.id to resolve');
      expect(await get(base, '/v1/names/alice.id/zonefile')).toEqual([200, { zonefile: Buffer.from(alice).toString() }]);
      expect(await get(base, '/v1/names/ALICE.id/zonefile')).toEqual([200, { zonefile: Buffer.from(alice).toString() }]);
      expect(await get(base, '/v1/names/bob.id/zonefile')).toEqual([404, { error: 'the zone file of bob.id is not held yet', code: 'ZONEFILE_MISSING', zonefile_hash: hash160Hex(bob) }]);
      const [status, info] = await get(base, '/v1/names/bob.id');
      expect(status).toBe(200);
      expect(info).toMatchObject({ status: 'zonefile-missing', zonefile: null, zonefile_hash: hash160Hex(bob), last_op: 'name-register' });
      expect(await get(base, '/v1/names/carol.id/zonefile')).toEqual([404, { error: 'name carol.id is revoked', code: 'ZONEFILE_MISSING' }]);
      expect((await get(base, '/v1/names/carol.id'))[1]).toMatchObject({ status: 'revoked', zonefile: null, zonefile_hash: null });
      expect((await get(base, '/v1/names/dave.id/zonefile'))[1]).toEqual({ error: 'the zone file of dave.id is not held yet', code: 'ZONEFILE_MISSING' });
      expect(await get(base, '/v1/names/nobody.id')).toEqual([404, { error: 'cannot find name nobody.id', code: 'NAME_NOT_FOUND' }]);
      expect((await get(base, '/v1/names/no%20dots/zonefile'))[0]).toBe(400);
      expect((await get(base, `/v1/names/alice.id/zonefile/${hash160Hex(alice)}`))[0]).toBe(200);
      expect((await get(base, '/v1/names/alice.id/zonefile/xyz'))[0]).toBe(400);
      const [, missing] = await get(base, '/v1/atlas/missing');
      expect(missing).toMatchObject({ total: 1, missing: [{ address: hash160Hex(bob), positions: [1] }] });
      const post = await fetch(`${base}/v1/names/alice.id`, { method: 'POST', body: '{}' });
      expect(post.status).toBe(405);
      await post.arrayBuffer();
    } finally {
      await node.close();
      await chain.close();
    }
  });
});
