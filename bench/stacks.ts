/**
 * Stacks benchmark: (1) BNS announcements ingested per second from stacks-node observer payloads,
 * over HTTP with the fsynced journal and in-process, against parsing the same payloads and
 * appending them to a file with one fsync per block (the least a durable observer does); (2) time from /new_block to a name resolvable on every node of a
 * 5-node network (HttpTransport on 127.0.0.1-5, one observer each, /attachments/new to one only),
 * against the same path on a lone node (observer to resolvable, no replication).
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StacksObserverChain } from '../src/chain/stacks/observer-chain.js';
import { AtlasNode } from '../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../src/peers/address-policy.js';
import { seededRandom } from '../src/runtime.js';
import { quantile } from '../src/sim/figures.js';
import { generateChunks } from '../src/sim/workload.js';
import { attachmentSource } from '../src/sync/sources/local-sources.js';
import { HttpTransport } from '../src/transport/http.js';
import { BNS, deliver, FakeChain } from '../test/stacks/fake-stacks-node.js';
import { loadCorpus } from '../test/support/data.js';
import type { BenchReport, BenchSuite } from './report.js';

const PRINTS_PER_BLOCK = 100;

function zoneFiles(): { data: Uint8Array }[] {
  return loadCorpus() ?? generateChunks(1_631, seededRandom(1631));
}

/** Blocks of BNS registrations carrying `count` names (zone files reused under new names). */
function payloads(count: number): Record<string, unknown>[] {
  const files = zoneFiles();
  const fake = new FakeChain();
  const blocks: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i += PRINTS_PER_BLOCK) {
    const ops = Array.from({ length: Math.min(PRINTS_PER_BLOCK, count - i) }, (_, k) => ({ name: `bench${i + k}.id`, op: 'name-register' as const, zonefile: files[(i + k) % files.length]!.data }));
    blocks.push(fake.block(ops));
  }
  return blocks;
}

async function ingest(count: number, root: string): Promise<{ httpPerS: number; directPerS: number; parsePerS: number }> {
  const blocks = payloads(count);
  const bodies = blocks.map((b) => JSON.stringify(b));
  // The reference: the least a durable observer does per block: parse the payload, then append
  // it to a file and fsync (as many bytes as the payload, one fsync per block).
  const fd = openSync(join(root, 'reference.log'), 'a');
  const begun = performance.now();
  for (const body of bodies) {
    JSON.parse(body);
    writeSync(fd, body);
    fsyncSync(fd);
  }
  const parsePerS = count / ((performance.now() - begun) / 1000);
  closeSync(fd);
  let started: number;

  const direct = await StacksObserverChain.open({ dir: join(root, 'direct'), contracts: [BNS] });
  started = performance.now();
  for (const body of bodies) direct.ingestBlock(JSON.parse(body));
  const directPerS = count / ((performance.now() - started) / 1000);
  await direct.close();

  const chain = await StacksObserverChain.open({ dir: join(root, 'http'), listen: '127.0.0.1:0', contracts: [BNS] });
  started = performance.now();
  for (const block of blocks) if ((await deliver(chain.address!, '/new_block', block, 1)) !== 200) throw new Error('observer refused a block');
  const httpPerS = count / ((performance.now() - started) / 1000);
  if ((await chain.length()) !== count) throw new Error('observer lost announcements');
  await chain.close();
  return { httpPerS, directPerS, parsePerS };
}

interface Network {
  nodes: AtlasNode[];
  chains: StacksObserverChain[];
}

async function network(size: number, root: string): Promise<Network> {
  const nodes: AtlasNode[] = [];
  const chains: StacksObserverChain[] = [];
  for (let i = 0; i < size; i++) {
    const host = `127.0.0.${i + 1}`;
    const chain = await StacksObserverChain.open({ dir: join(root, `net${size}-${i}`), listen: `${host}:0`, contracts: [BNS] });
    chains.push(chain);
    const node = await AtlasNode.open({
      chain,
      transport: new HttpTransport({ listen: `${host}:0` }),
      seeds: i === 0 ? [] : [nodes[0]!.address!],
      network: 'bench',
      addressPolicy: LOCAL_ADDRESS_POLICY,
      timers: { roundMs: 250 },
      sources: [attachmentSource(chain)],
    });
    await node.start();
    nodes.push(node);
  }
  const deadline = Date.now() + 60_000;
  while (size > 1 && !nodes.every((n) => n.stats().neighbors.length >= Math.min(2, size - 1))) {
    if (Date.now() > deadline) throw new Error(`the network did not form: ${JSON.stringify(nodes.map((n) => [n.stats().neighbors.length, n.stats().peers]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { nodes, chains };
}

/** Per name: ms from posting /new_block until every node resolves it. */
async function timeToResolve(net: Network, names: number): Promise<number[]> {
  const files = zoneFiles();
  const fake = new FakeChain();
  const times: number[] = [];
  for (let i = 0; i < names; i++) {
    const name = `late${i}.id`;
    const block = fake.block([{ name, op: 'name-register', zonefile: files[(i * 7) % files.length]!.data }]);
    const started = performance.now();
    await Promise.all(net.chains.map((chain) => deliver(chain.address!, '/new_block', block, 1)));
    await deliver(net.chains[0]!.address!, '/attachments/new', fake.takeAttachments(), 1);
    const deadline = started + 30_000;
    for (;;) {
      const statuses = await Promise.all(net.nodes.map((node) => node.resolve(name).then((r) => r.status)));
      if (statuses.every((s) => s === 'ok')) break;
      if (performance.now() > deadline) throw new Error(`${name} did not resolve everywhere within 30 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

async function close(net: Network): Promise<void> {
  await Promise.all(net.nodes.map((n) => n.close()));
  await Promise.all(net.chains.map((c) => c.close()));
}

const suite: BenchSuite = async ({ quick }) => {
  const root = mkdtempSync(join(tmpdir(), 'atlasnet-bench-stacks-'));
  try {
    const count = quick ? 2_000 : 20_000;
    const rates = await ingest(count, root);
    const names = quick ? 10 : 50;
    const lone = await network(1, root);
    const loneTimes = await timeToResolve(lone, names);
    await close(lone);
    const five = await network(5, root);
    const fiveTimes = await timeToResolve(five, names);
    await close(five);
    const report: BenchReport = {
      name: 'stacks',
      rows: [
        { label: `announcements ingested, HTTP /new_block + fsync (${count}, ${PRINTS_PER_BLOCK} per block)`, value: rates.httpPerS, unit: 'names/s', reference: { label: 'JSON.parse + append + fsync per block', value: rates.parsePerS } },
        { label: 'announcements ingested, in-process ingestBlock', value: rates.directPerS, unit: 'names/s', reference: { label: 'JSON.parse + append + fsync per block', value: rates.parsePerS } },
        { label: `/new_block -> resolvable on all 5 nodes, median of ${names}`, value: quantile(fiveTimes, 0.5), unit: 'ms', reference: { label: 'same on a lone node', value: quantile(loneTimes, 0.5) } },
        { label: `/new_block -> resolvable on all 5 nodes, p90 of ${names}`, value: quantile(fiveTimes, 0.9), unit: 'ms', reference: { label: 'same on a lone node', value: quantile(loneTimes, 0.9) } },
      ],
      notes: ['5-node network: HttpTransport on 127.0.0.1-5, one observer per node, /attachments/new to the first only, maintenance rounds every 250 ms, other timers default'],
    };
    return report;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

export default suite;
