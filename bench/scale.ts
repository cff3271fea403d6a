/**
 * Scale benchmark (issue 7 items 2 and 3): memory of a node with many positions and tracked
 * peers, and the bytes an inventory refresh moves when little changed, against the original
 * design's whole-vector refresh measured in the same run.
 */
import { bundleScript } from './bundle.js';
import { runJsonChild } from './child.js';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryChain } from '../src/chain/memory.js';
import { AtlasNode } from '../src/node/index.js';
import { LOCAL_ADDRESS_POLICY } from '../src/peers/address-policy.js';
import { ProtocolClient } from '../src/protocol/client.js';
import { seededRandom } from '../src/runtime.js';
import { generateChunks } from '../src/sim/workload.js';
import { HttpTransport } from '../src/transport/http.js';
import { randomBytes } from 'node:crypto';
import type { BenchReport, BenchSuite } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
/** RSS budget of a node with 1,000,000 positions tracking 80 peers. */
const MEMORY_TARGET_MB = 150;

interface MemorySample {
  rss: number;
  anon: number;
  file: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

interface MemoryResult {
  positions: number;
  peers: number;
  neighbors: number;
  dataFileMb: number;
  baseline: MemorySample;
  opened: MemorySample;
  tracking: MemorySample;
  peakRss: number;
}

/** The measured process runs bundled plain JavaScript (bundle.ts), so the TypeScript loader is not counted as the node's memory. */
function memoryScript(): Promise<string> {
  return bundleScript(join(here, 'scale', 'memory-node.ts'));
}

async function measureMemory(script: string, positions: number, peers: number): Promise<MemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'atlasnet-memory-chain-'));
  try {
    const chainFile = join(dir, 'addresses.bin');
    const fd = openSync(chainFile, 'w');
    try {
      for (let written = 0; written < positions; written += 50_000) writeSync(fd, randomBytes(Math.min(50_000, positions - written) * 20));
    } finally {
      closeSync(fd);
    }
    return await runJsonChild<MemoryResult>(script, [String(positions), String(peers), chainFile], { label: 'memory-node', nodeArgs: ['--expose-gc'], plainJs: true, timeoutMs: 300_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes on the wire for one whole-vector fetch, then for incremental refreshes after `changes` new chunks. */
async function inventoryTraffic(positions: number, changeSets: number[]): Promise<{ whole: number; wholePayload: number; incremental: { changes: number; wire: number; payload: number }[] }> {
  const random = seededRandom(11);
  const total = changeSets.reduce((a, b) => a + b, 0);
  const chunks = generateChunks(total, random);
  const chain = new MemoryChain();
  const addresses: string[] = [];
  const filler = randomBytes((positions - total) * 20);
  for (let i = 0; i < positions - total; i++) addresses.push(filler.toString('hex', i * 20, i * 20 + 20));
  // Real chunks at spread-out positions, so varint gaps are realistic.
  chunks.forEach((chunk, i) => addresses.splice(Math.floor(((i + 0.5) / total) * addresses.length), 0, chunk.address));
  for (let i = 0; i < addresses.length; i += 100_000) chain.announce(addresses.slice(i, i + 100_000));

  const server = await AtlasNode.open({ chain, transport: new HttpTransport({ listen: '127.0.0.1:0' }), network: 'bench', addressPolicy: LOCAL_ADDRESS_POLICY });
  await server.start();
  const clientTransport = new HttpTransport();
  const client = new ProtocolClient(clientTransport);
  const peer = server.address!;
  try {
    let before = clientTransport.stats().bytesIn;
    const first = await client.inventory(peer, { offset: 0, length: 524_288 });
    const whole = clientTransport.stats().bytesIn - before;
    let since = first.inventory;
    const incremental = [];
    let offset = 0;
    for (const changes of changeSets) {
      await server.putChunks(chunks.slice(offset, offset + changes).map((c) => c.data));
      offset += changes;
      before = clientTransport.stats().bytesIn;
      const reply = await client.inventoryChanges(peer, { since });
      if (!reply.complete) throw new Error('the change log did not reach back');
      incremental.push({ changes, wire: clientTransport.stats().bytesIn - before, payload: reply.added.byteLength });
      since = reply.inventory;
    }
    return { whole, wholePayload: first.bytes.byteLength, incremental };
  } finally {
    await clientTransport.close();
    await server.close();
  }
}

/** log2 of the number of `k`-element subsets of `n` items: the fewest bits that can name one of them. */
function subsetBits(n: number, k: number): number {
  let bits = 0;
  for (let i = 0; i < k; i++) bits += Math.log2((n - i) / (k - i));
  return bits;
}

/** The sequence length of the refresh-traffic rows. */
const POSITIONS = 1_000_000;

const suite: BenchSuite = async ({ quick }) => {
  const report: BenchReport = { name: 'scale: memory with many positions and peers; inventory refresh traffic', rows: [], notes: [] };
  const ORIGINAL_REFRESH = 125_000; // whole vector of 1,000,000 positions, SPEC §6
  const traffic = await inventoryTraffic(POSITIONS, [10, 100, 1_000]);
  report.rows.push({ label: 'whole-vector refresh, 1M positions (wire)', value: traffic.whole, unit: 'B', reference: { label: 'original: whole vector', value: ORIGINAL_REFRESH } });
  for (const { changes, wire, payload } of traffic.incremental) {
    report.rows.push({
      label: `incremental refresh, ${changes} changed of 1M (wire)`,
      value: wire,
      unit: 'B',
      reference: { label: 'original: whole vector', value: ORIGINAL_REFRESH },
      target: changes <= 1_000 ? { max: 0.01, of: 'ratio' } : undefined,
      // No encoding of the change can be shorter than the information in it, which positions are new, for every change.
      note: `payload ${payload} B; an encoding that can name any ${changes} of ${POSITIONS.toLocaleString('en')} positions needs at least ${Math.ceil(subsetBits(POSITIONS, changes) / 8)} B for some of them, and about as much on average (log2 of the number of such sets)`,
    });
  }

  const script = await memoryScript();
  const cases: [number, number][] = quick ? [[1_000_000, 80]] : [[100_000, 0], [100_000, 80], [1_000_000, 0], [1_000_000, 8], [1_000_000, 80]];
  for (const [positions, peers] of cases) {
    const m = await measureMemory(script, positions, peers);
    const target = positions === 1_000_000 && peers === 80 ? { max: MEMORY_TARGET_MB, of: 'value' as const } : undefined;
    report.rows.push({
      label: `RSS, ${positions.toLocaleString('en')} positions, ${peers} peers tracked`,
      value: m.tracking.rss,
      unit: 'MB',
      reference: { label: 'same process before the node', value: m.baseline.rss },
      ...(target ? { target } : {}),
      note: `heap ${m.tracking.heapUsed} MB of ${m.tracking.heapTotal} MB, external ${m.tracking.external} MB, neighbours ${m.neighbors}`,
    });
    // The raw data: 20 bytes an address, and one bit a position for each tracked peer.
    const rawMb = Math.round(((positions * 20 + (peers * positions) / 8) / 1e6) * 10) / 10;
    report.rows.push({
      label: `RSS the node adds, ${positions.toLocaleString('en')} positions, ${peers} peers`,
      value: Math.round((m.tracking.rss - m.baseline.rss) * 10) / 10,
      unit: 'MB',
      reference: { label: 'raw data: addresses + peer bit vectors', value: rawMb },
    });
    const part = (s: MemorySample) => `${s.rss} MB (anon ${s.anon}, file ${s.file}, V8 heap ${s.heapUsed} used of ${s.heapTotal}, external ${s.external})`;
    report.notes!.push(
      `${positions} positions x ${peers} peers: before the node ${part(m.baseline)}; after open ${part(m.opened)}; tracking ${part(m.tracking)}; peak ${m.peakRss} MB; data.mdb ${m.dataFileMb} MB`,
    );
  }
  return report;
};

export default suite;
