/**
 * Inventory work at the scale of a real network (a million positions, 80 neighbours), each figure
 * beside a reference from the same run:
 * - SPEC §4 bytes out of / into a roaring bitmap, a container at a time (this library), against
 *   the same conversion one set position at a time (rangeUint32Array + encodeRangeInto; decodeRange
 *   + addMany), which is what an implementation that iterates set bits in bulk does;
 * - rarest-first planning (typed-array counters when the missing set is sparse, bit-sliced
 *   counters when it is dense), against the plain typed-array counters everywhere;
 * - bytes on the wire for an incremental refresh (delta-varint) against the whole vector;
 * - the same inventory operations on roaring-wasm against native roaring, each backend in a
 *   child process of its own (the backend is picked once at load), one after the other.
 */
import { runJsonChild } from './child.js';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { bitmapBackend, bitmaps, type Bitmap, type ReadonlyBitmap } from '../src/inventory/bitmap.js';
import { Inventory, decodeRange, encodePositions, encodeRangeInto, planRarestFirst } from '../src/inventory/index.js';
import { seededRandom, type Random } from '../src/runtime.js';
import type { BenchOptions, BenchRow, BenchSuite } from './report.js';

/** Positions per page when copying set positions out. */
const PAGE = 524_288;

function randomInventory(length: number, density: number, random: Random): Inventory {
  const positions = new Uint32Array(length);
  let n = 0;
  for (let i = 0; i < length; i++) if (random() < density) positions[n++] = i;
  return Inventory.fromPositions(positions.subarray(0, n), length);
}

/** The per-position way: copy set positions out in batches and set one bit each. */
function toBytesPerPosition(bitmap: ReadonlyBitmap, length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 8));
  for (let start = 0; start < length; start += PAGE) encodeRangeInto(out, bitmaps.valuesInRange(bitmap, start, Math.min(start + PAGE, length)), 0);
  return out;
}

/** The per-position way back: decode positions, then addMany. */
function fromBytesPerPosition(bytes: Uint8Array, length: number): Bitmap {
  return bitmaps.create(decodeRange(bytes, 0, length));
}

/** Rarest-first the obvious way: holder counts in a typed array, a bucket sort, holders by `has`. */
function planWithCounters(own: Inventory, peers: Map<string, Inventory>, limit: number, random: Random): { position: number; holders: string[] }[] {
  const peerBitmaps = [...peers.values()].map((inventory) => inventory.bitmap);
  const missing = bitmaps.orMany(peerBitmaps);
  missing.andNotInPlace(own.bitmap);
  missing.removeRange(own.length, 0x1_0000_0000);
  const counts = new Uint16Array(own.length);
  for (const bitmap of peerBitmaps) {
    const heldBitmap = bitmaps.and(bitmap, missing);
    const held = heldBitmap.toUint32Array();
    bitmaps.release(heldBitmap);
    for (let k = 0; k < held.length; k++) counts[held[k] as number] = (counts[held[k] as number] as number) + 1;
  }
  const buckets: number[][] = Array.from({ length: peerBitmaps.length + 1 }, () => []);
  for (const position of missing.toUint32Array()) buckets[counts[position] as number]!.push(position);
  bitmaps.release(missing);
  const out: number[] = [];
  for (const bucket of buckets) {
    for (let i = 0; i < bucket.length && out.length < limit; i++) {
      const j = i + Math.floor(random() * (bucket.length - i));
      [bucket[i], bucket[j]] = [bucket[j] as number, bucket[i] as number];
      out.push(bucket[i] as number);
    }
  }
  return out.map((position) => ({ position, holders: [...peers].filter(([, inventory]) => inventory.has(position)).map(([peer]) => peer) }));
}

async function timeTasks(tasks: Record<string, () => unknown>, options: BenchOptions): Promise<Map<string, number>> {
  const bench = new Bench({
    name: 'inventory',
    time: options.quick ? 200 : 1500,
    warmupTime: options.quick ? 50 : 300,
    iterations: options.quick ? 3 : 10,
    throws: true,
  });
  for (const [name, task] of Object.entries(tasks)) bench.add(name, task);
  await bench.run();
  const periods = new Map<string, number>();
  for (const task of bench.tasks) {
    if (task.result.state !== 'completed') throw new Error(`inventory bench: task ${task.name} ended ${task.result.state}`);
    periods.set(task.name, task.result.period);
  }
  return periods;
}

const suite: BenchSuite = async (options) => {
  const length = 1_000_000;
  const random = seededRandom(1);
  const rows: BenchRow[] = [];
  const perSecond = (ms: number) => 1000 / ms;

  // Byte codec, on a random vector (bitset containers) and a full one (run containers).
  const codecCases = [
    { name: '70% random', inventory: randomInventory(length, 0.7, random) },
    { name: 'full', inventory: Inventory.fromBitmap(bitmaps.fromRange(0, length), length) },
  ];
  for (const { name, inventory } of codecCases) {
    const bytes = inventory.toBytes();
    if (!Buffer.from(toBytesPerPosition(inventory.bitmap, length)).equals(Buffer.from(bytes))) throw new Error('inventory bench: encoders disagree');
    if (!fromBytesPerPosition(bytes, length).isEqual(Inventory.fromBytes(bytes, length).bitmap)) throw new Error('inventory bench: decoders disagree');
    const periods = await timeTasks(
      {
        toBytes: () => inventory.toBytes(),
        perPositionTo: () => toBytesPerPosition(inventory.bitmap, length),
        fromBytes: () => Inventory.fromBytes(bytes, length),
        perPositionFrom: () => fromBytesPerPosition(bytes, length),
      },
      options,
    );
    rows.push({
      label: `toBytes, 1M positions ${name}`,
      value: perSecond(periods.get('toBytes')!),
      unit: 'vectors/s',
      reference: { label: 'per set position', value: perSecond(periods.get('perPositionTo')!) },
      target: { min: 2, of: 'ratio' },
    });
    rows.push({
      label: `fromBytes, 1M positions ${name}`,
      value: perSecond(periods.get('fromBytes')!),
      unit: 'vectors/s',
      reference: { label: 'per set position', value: perSecond(periods.get('perPositionFrom')!) },
      target: { min: 2, of: 'ratio' },
    });
  }

  // Rarest-first, 80 neighbours each holding 90%: a node holding 99%, and a fresh node.
  const peers = new Map<string, Inventory>();
  for (let p = 0; p < 80; p++) peers.set(`peer-${p}`, randomInventory(length, 0.9, random));
  const owners = [
    { name: 'own 99%', own: randomInventory(length, 0.99, random) },
    { name: 'fresh node', own: new Inventory(length) },
  ];
  for (const { name, own } of owners) {
    const periods = await timeTasks(
      {
        planned: () => planRarestFirst({ own, peers, random: seededRandom(2), limit: 1000 }),
        counters: () => planWithCounters(own, peers, 1000, seededRandom(2)),
      },
      options,
    );
    rows.push({
      label: `rarest-first, 1M positions x 80 peers, ${name}, limit 1000`,
      value: perSecond(periods.get('planned')!),
      unit: 'plans/s',
      reference: { label: 'typed-array counters', value: perSecond(periods.get('counters')!) },
      target: { min: name === 'fresh node' ? 4 : 1.2, of: 'ratio' },
      note: `${periods.get('planned')!.toFixed(1)} ms per plan`,
    });
  }

  // Bytes on the wire to learn of 1,000 new positions in a 1M vector.
  const added = Uint32Array.from(new Set(Array.from({ length: 1000 }, () => Math.floor(random() * length)))).sort();
  rows.push({
    label: `incremental refresh, ${added.length} new positions (delta-varint)`,
    value: encodePositions(added).length,
    unit: 'B',
    reference: { label: 'whole vector', value: Math.ceil(length / 8) },
    target: { max: 0.05, of: 'ratio' },
  });

  rows.push(...(await backendRows(options)));

  return {
    name: `inventory${options.quick ? ' (quick)' : ''}`,
    rows,
    notes: [
      `the rows above the "wasm vs native" ones ran on the ${bitmapBackend()} bitmap backend`,
      'wasm vs native: the same operations (1M positions, peers at 90%, own 99%) timed on each backend in a child process of its own, one after the other',
      'toBytes/fromBytes convert whole roaring containers (bitset bytes bit-reversed, runs filled) via the portable serialization',
      'reference "per set position": valuesInRange + encodeRangeInto, and decodeRange + addMany',
      'reference "typed-array counters": per-peer held positions counted in a Uint16Array, a bucket sort, then holders by has()',
    ],
  };
};

interface BackendTimes {
  backend: string;
  peers: number;
  periods: Record<string, number>;
}

function timeBackend(backend: 'native' | 'wasm', options: BenchOptions): Promise<BackendTimes> {
  return runJsonChild<BackendTimes>(join(import.meta.dirname, 'inventory', 'backend.ts'), options.quick ? ['--quick'] : [], {
    label: `inventory bench: the ${backend} bitmap child`,
    env: { ...process.env, ATLAS_BITMAP: backend },
  });
}

/** One row per operation: roaring-wasm's rate beside native roaring's. */
async function backendRows(options: BenchOptions): Promise<BenchRow[]> {
  let native: BackendTimes;
  try {
    native = await timeBackend('native', options);
  } catch (error) {
    return [{ label: 'wasm vs native bitmaps', value: Number.NaN, unit: '', note: `native roaring cannot run here: ${(error as Error).message}` }];
  }
  const wasm = await timeBackend('wasm', options);
  return Object.entries(native.periods).map(([operation, nativeMs]) => {
    const wasmMs = wasm.periods[operation] as number;
    return {
      label: `wasm vs native bitmaps: ${operation}${operation.startsWith('rarest') ? `, ${native.peers} peers` : ''}`,
      value: 1000 / wasmMs,
      unit: 'ops/s',
      reference: { label: 'native roaring', value: 1000 / nativeMs },
      note: `${wasmMs.toFixed(2)} ms vs ${nativeMs.toFixed(2)} ms`,
    };
  });
}

export default suite;
