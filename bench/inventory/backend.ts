/**
 * Child process of bench/inventory.ts: times the inventory operations on the bitmap backend
 * ATLAS_BITMAP names (picked once at load, hence one process per backend) and prints their
 * periods as one JSON line: { backend, peers, periods: { operation: ms } }. Quick mode (CI) plans
 * over 20 peers instead of 80.
 */
import { Bench } from 'tinybench';
import { bitmapBackend } from '../../src/inventory/bitmap.js';
import { Inventory, planRarestFirst } from '../../src/inventory/index.js';
import { seededRandom, type Random } from '../../src/runtime.js';



function randomInventory(length: number, density: number, random: Random): Inventory {
  const positions = new Uint32Array(length);
  let n = 0;
  for (let i = 0; i < length; i++) if (random() < density) positions[n++] = i;
  return Inventory.fromPositions(positions.subarray(0, n), length);
}

const quick = process.argv.includes('--quick');
const length = 1_000_000;
const random = seededRandom(1);
const own = randomInventory(length, 0.99, random);
const peers = new Map<string, Inventory>();
const peerCount = quick ? 20 : 80;
for (let p = 0; p < peerCount; p++) peers.set(`peer-${p}`, randomInventory(length, 0.9, random));
const peer = peers.get('peer-0') as Inventory;
const bytes = peer.toBytes();
const target = new Inventory(length);

const tasks: Record<string, () => unknown> = {
  toBytes: () => peer.toBytes(),
  fromBytes: () => Inventory.fromBytes(bytes, length),
  'applyBytes (or)': () => target.applyBytes(0, bytes, 'or'),
  missingFrom: () => own.missingFrom(peer),
  'rarest-first, limit 1000': () => planRarestFirst({ own, peers, random: seededRandom(2), limit: 1000 }),
};
const bench = new Bench({ name: 'bitmaps', time: quick ? 200 : 1500, warmupTime: quick ? 50 : 300, iterations: quick ? 3 : 10, throws: true });
for (const [name, task] of Object.entries(tasks)) bench.add(name, task);
await bench.run();
const periods: Record<string, number> = {};
for (const task of bench.tasks) {
  if (task.result.state !== 'completed') throw new Error(`bitmap bench: ${task.name} ended ${task.result.state}`);
  periods[task.name] = task.result.period;
}
console.log(JSON.stringify({ backend: bitmapBackend(), peers: peerCount, periods }));
