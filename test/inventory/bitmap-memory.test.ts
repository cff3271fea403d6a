// roaring-wasm keeps bitmaps in WebAssembly memory, which the garbage collector neither sees nor
// frees promptly: every temporary the inventory code makes must be released at once. A
// synchronous loop gives finalizers no chance to run, so without the releases the WebAssembly
// memory (counted in process.memoryUsage().external) would grow by the temporaries' size.
import { describe, expect, it } from 'vitest';
import { externalBytes } from '../support/heap.js';

process.env.ATLAS_BITMAP = 'wasm';
const { bitmapBackend } = await import('../../src/inventory/bitmap.js');
const { Inventory, planRarestFirst } = await import('../../src/inventory/index.js');
const { seededRandom } = await import('../../src/runtime.js');

const MB = 1024 * 1024;

function randomInventory(length: number, density: number, seed: number): InstanceType<typeof Inventory> {
  const random = seededRandom(seed);
  const positions: number[] = [];
  for (let i = 0; i < length; i++) if (random() < density) positions.push(i);
  return Inventory.fromPositions(positions, length);
}

describe('WebAssembly bitmap memory', () => {
  it('stays flat over 60 measured rounds of six inventory operations each, after 10 warm-up rounds', { timeout: 180_000 }, () => {
    expect(bitmapBackend()).toBe('wasm');
    const length = 200_000;
    const own = randomInventory(length, 0.5, 1);
    const peers = new Map(Array.from({ length: 8 }, (_, p) => [`peer-${p}`, randomInventory(length, 0.6, p + 2)] as const));
    const peer = peers.get('peer-0')!;
    const bytes = peer.toBytes();
    const target = new Inventory(length);
    const round = () => {
      own.toBytes(1000, 20_000); // a range: two temporaries
      own.missingFrom(peer); // one
      target.applyBytes(0, bytes, 'replace'); // one
      planRarestFirst({ own, peers, random: seededRandom(3), limit: 100, counting: 'counters' });
      planRarestFirst({ own, peers, random: seededRandom(3), limit: 100, counting: 'slices' });
      planRarestFirst({ own, peers, random: seededRandom(3), limit: 100, exclude: [1, 2, 3] });
    };
    for (let i = 0; i < 10; i++) round(); // WebAssembly memory grows to its working size once
    // Garbage buffers (toBytes results) count as external memory too and a loaded machine collects
    // them late: each reading collects them first. A collection cannot hide an unreleased bitmap.
    const before = externalBytes();
    const rounds = 60;
    for (let i = 0; i < rounds; i++) round();
    const grown = externalBytes() - before;
    // Each round makes well over 1 MB of temporaries (40 KB bitset containers, dozens of them):
    // unreleased, 60 rounds would add well over 100 MB.
    expect(grown / MB).toBeLessThan(8);
  });
});
