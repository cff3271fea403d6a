/**
 * One memory measurement, in its own process: bench/scale.ts bundles this script to plain
 * JavaScript and runs node --expose-gc memory-node.mjs <positions> <peers> <chain file>, the
 * chain file holding <positions> 20-byte addresses (written by the parent, so that no buffer of
 * it is left in this process). An LMDB-backed node follows a chain of
 * <positions> announcements and tracks <peers> neighbours' inventories (each holding a random
 * half of the sequence), served by light fake peers on a MemoryNetwork. Downloads are off: this
 * measures what tracking costs. Prints RSS and heap figures as one JSON line.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtlasNode } from '../../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../../src/peers/address-policy.js';
import { PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { peakResidentBytes } from '../resident-memory.js';
import { AddressFileChain } from '../sync/file-chain.js';

const [positions, peers] = process.argv.slice(2, 4).map(Number) as [number, number];
const chainFile = process.argv[4] as string;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (n: number) => Math.round((n / 1e6) * 10) / 10;
/** RSS split as Linux reports it: anonymous (heap, native) vs file-backed (LMDB's memory map). */
function rssParts(): { anon: number; file: number; shmem: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    return { anon: mb(kb('RssAnon')), file: mb(kb('RssFile')), shmem: mb(kb('RssShmem')) };
  } catch {
    return { anon: NaN, file: NaN, shmem: NaN };
  }
}

function memory() {
  gc();
  const m = process.memoryUsage();
  return { rss: mb(m.rss), ...rssParts(), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
}

const dir = mkdtempSync(join(tmpdir(), 'atlasnet-memory-'));
const baseline = memory();

const network = new MemoryNetwork({ latencyMs: 0 });
const names = Array.from({ length: peers }, (_, i) => `peer${i}`);
const half = randomBytes(Math.ceil(positions / 8)); // each fake peer holds a random half
const zeroDigest = '00'.repeat(20);
for (const name of names) {
  await network.transport(name).listen({
    handle: async (method, params) => {
      const p = params as { offset?: number; length?: number };
      switch (method) {
        case 'ping':
          return { protocol: PROTOCOL_VERSION, network: 'bench', sequenceLength: positions, chunkCount: 0, digestLength: 0, digest: zeroDigest, inventory: { epoch: name, version: 0 } };
        case 'peers':
          return { peers: names.filter((n) => n !== name).slice(0, 80) };
        case 'inventory':
          return { sequenceLength: positions, inventory: { epoch: name, version: 0 }, bytes: half.subarray(p.offset ?? 0, (p.offset ?? 0) + (p.length ?? 0)) };
        case 'inventoryChanges':
          return { complete: true, sequenceLength: positions, inventory: { epoch: name, version: 0 }, added: new Uint8Array(0) };
        case 'offer':
          return { wanted: 0 };
        default:
          return { chunks: [], missing: [] };
      }
    },
  });
}

const node = await AtlasNode.open({
  dataDir: join(dir, 'store'),
  chain: new AddressFileChain(chainFile),
  transport: network.transport('me'),
  seeds: names,
  network: 'bench',
  neighbors: Math.max(1, peers),
  addressPolicy: LOCAL_ADDRESS_POLICY,
  timers: { roundMs: 20, inventoryRefreshMs: 200 },
  downloads: { maxInFlight: 0 },
});
const opened = memory();
await node.start();
const deadline = Date.now() + 120_000;
const settled = () => node.stats().neighbors.length >= peers && node.stats().inventoryRefreshes >= 2 * peers;
while (peers > 0 && !settled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
// Refreshes keep running while we measure: the median of three samples, so one taken mid-refresh does not decide.
const samples = [];
for (let i = 0; i < 3; i++) {
  await new Promise((r) => setTimeout(r, 300));
  samples.push(memory());
}
const tracking = samples.sort((a, b) => a.rss - b.rss)[1]!;
const stats = node.stats();
if (process.env.ATLAS_SMAPS) {
  // Which mappings hold the file-backed RSS (diagnostics only).
  const blocks = readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const rows = blocks.map((b) => ({ head: b.split('\n')[0]!, rss: Number(/\nRss:\s+(\d+)/.exec(b)?.[1] ?? 0) })).sort((a, b) => b.rss - a.rss).slice(0, 8);
  for (const r of rows) process.stderr.write(`${(r.rss / 1024).toFixed(1)} MB  ${r.head}\n`);
}
const dataFileMb = mb(statSync(join(dir, 'store', 'data.mdb')).size);
await node.close();
await network.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ positions, peers, dataFileMb, neighbors: stats.neighbors.length, refreshes: stats.inventoryRefreshes, baseline, opened, tracking, peakRss: mb(peakResidentBytes()) }) + '\n');
