/**
 * Three atlasnet nodes (HttpTransport on 127.0.0.1-3) each follow their own observer of one
 * stacks-node stream; only the first observer receives /attachments/new. Every node resolves
 * every name, through node.resolve and through the /v1/names routes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { namesRoutes } from '../../src/bns/routes.js';
import { StacksObserverChain } from '../../src/chain/stacks/observer-chain.js';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { attachmentSource } from '../../src/sync/sources/local-sources.js';
import { HttpTransport } from '../../src/transport/http.js';
import { FAST_TIMERS } from '../support/cluster.js';
import { corpus, CORPUS_SKIP_MESSAGE } from '../support/data.js';
import { waitFor } from '../support/wait.js';
import { BNS, deliver, FakeChain } from './fake-stacks-node.js';

const files = corpus ?? generateChunks(1_631, seededRandom(17));
if (!corpus) console.warn(`${CORPUS_SKIP_MESSAGE}: using 1,631 generated zone files instead`);
const root = mkdtempSync(join(tmpdir(), 'atlasnet-stacks-net-'));
const nodes: AtlasNode[] = [];
const chains: StacksObserverChain[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await Promise.all(chains.map((c) => c.close()));
  rmSync(root, { recursive: true, force: true });
});

async function getJson(url: string): Promise<[number, Record<string, unknown>, string | null]> {
  const res = await fetch(url);
  return [res.status, (await res.json()) as Record<string, unknown>, res.headers.get('access-control-allow-origin')];
}

describe('three nodes following one stacks-node stream', () => {
  it('resolve every name on every node though one observer alone received the zone files', async () => {
    for (let i = 0; i < 3; i++) {
      const host = `127.0.0.${i + 1}`;
      const chain = await StacksObserverChain.open({ dir: join(root, `n${i}`), listen: `${host}:0`, contracts: [BNS] });
      chains.push(chain);
      let self: AtlasNode | undefined;
      const node = await AtlasNode.open({
        chain,
        transport: new HttpTransport({ listen: `${host}:0`, routes: namesRoutes(() => self) }),
        seeds: i === 0 ? [] : [nodes[0]!.address!],
        network: 'testnet',
        timers: FAST_TIMERS,
        addressPolicy: LOCAL_ADDRESS_POLICY,
        sources: [attachmentSource(chain)],
        backfill: { intervalMs: 50 },
      });
      self = node;
      await node.start();
      nodes.push(node);
    }
    const fake = new FakeChain();
    const names = files.map((_, i) => `name${i}.id`);
    for (let i = 0; i < files.length; i += 200) {
      const block = fake.block(files.slice(i, i + 200).map((file, k) => ({ name: names[i + k]!, op: 'name-register' as const, zonefile: file.data })));
      for (const chain of chains) expect(await deliver(chain.address!, '/new_block', block)).toBe(200);
      expect(await deliver(chains[0]!.address!, '/attachments/new', fake.takeAttachments())).toBe(200);
    }
    expect(chains[1]!.stats.attachmentsStored).toBe(0);

    await waitFor(() => nodes.every((n) => n.stats().have === files.length), 'every node to hold every zone file', 60_000);
    
    for (const node of nodes) {
      for (let i = 0; i < files.length; i++) {
        const resolution = await node.resolve(names[i]!);
        expect(resolution.status).toBe('ok');
        expect(resolution.zonefileHash).toBe(files[i]!.address);
      }
      expect(node.missing()).toEqual([]);
    }


    // the routes clients call, on each node's own listener
    const sample = names[7]!;
    
    for (const node of nodes) {
      const [status, body, cors] = await getJson(`http://${node.address}/v1/names/${sample}/zonefile`);
      expect([status, cors]).toEqual([200, '*']);
      expect(body.zonefile).toBe(Buffer.from(files[7]!.data).toString('utf8'));
      const [, info] = await getJson(`http://${node.address}/v1/names/${sample}`);
      expect(info).toMatchObject({ status: 'ok', zonefile_hash: files[7]!.address, last_txid: expect.stringMatching(/^0x[0-9a-f]{64}$/), address: expect.stringMatching(/^SP/) });
      expect((await getJson(`http://${node.address}/v1/names/${sample}/zonefile/${files[7]!.address}`))[0]).toBe(200);
      expect(await getJson(`http://${node.address}/v1/names/nobody.id/zonefile`)).toEqual([404, { error: 'cannot find name nobody.id', code: 'NAME_NOT_FOUND' }, '*']);
      expect((await getJson(`http://${node.address}/v1/names/${sample}/zonefile/${files[8]!.address}`))[1]).toMatchObject({ code: 'NAME_NOT_FOUND' });
    }
  });
});
