/**
 * Comparing inventories fetched from several nodes (SPEC §4 byte layout: bit i is byte i >> 3,
 * mask 0x80 >> (i & 7)): per node present and missing counts, per pair what each holds that the
 * other lacks, and the positions nobody holds.
 */

export interface NodeInventory {
  peer: string;
  sequenceLength: number;
  bytes: Uint8Array;
}

export interface NodeSummary {
  peer: string;
  sequenceLength: number;
  present: number;
  missing: number;
}

export interface PairDifference {
  a: string;
  b: string;
  /** Positions a holds and b lacks. */
  onlyA: number;
  onlyB: number;
  /** The first few positions that differ, ascending. */
  firstDifferences: number[];
}

export interface InventoryComparison {
  nodes: NodeSummary[];
  pairs: PairDifference[];
  /** Positions below the longest sequence that no node holds. */
  missingEverywhere: number;
  /** True when the nodes report different sequence lengths. */
  lengthsDiffer: boolean;
}

const POPCOUNT = new Uint8Array(256).map((_, byte) => {
  let n = 0;
  for (let b = byte; b !== 0; b >>= 1) n += b & 1;
  return n;
});

/** Bits set among the first `length` positions. */
export function countPresent(bytes: Uint8Array, length: number): number {
  let n = 0;
  const full = length >> 3;
  for (let i = 0; i < full && i < bytes.length; i++) n += POPCOUNT[bytes[i] as number] as number;
  const rest = length & 7;
  if (rest > 0 && full < bytes.length) n += POPCOUNT[(bytes[full] as number) & ((0xff << (8 - rest)) & 0xff)] as number;
  return n;
}

function byteAt(bytes: Uint8Array, index: number, length: number): number {
  if (index >= bytes.length || index * 8 >= length) return 0;
  const rest = length - index * 8;
  const value = bytes[index] as number;
  return rest >= 8 ? value : value & ((0xff << (8 - rest)) & 0xff);
}

export function compareInventories(inventories: readonly NodeInventory[], maxExamples = 10): InventoryComparison {
  const nodes = inventories.map((inv) => {
    const present = countPresent(inv.bytes, inv.sequenceLength);
    return { peer: inv.peer, sequenceLength: inv.sequenceLength, present, missing: inv.sequenceLength - present };
  });
  const pairs: PairDifference[] = [];
  for (let i = 0; i < inventories.length; i++) {
    for (let j = i + 1; j < inventories.length; j++) {
      pairs.push(difference(inventories[i] as NodeInventory, inventories[j] as NodeInventory, maxExamples));
    }
  }
  const longest = Math.max(0, ...inventories.map((inv) => inv.sequenceLength));
  let held = 0;
  for (let index = 0; index * 8 < longest; index++) {
    let union = 0;
    for (const inv of inventories) union |= byteAt(inv.bytes, index, inv.sequenceLength);
    held += POPCOUNT[union] as number;
  }
  return {
    nodes,
    pairs,
    missingEverywhere: inventories.length === 0 ? 0 : longest - held,
    lengthsDiffer: new Set(inventories.map((inv) => inv.sequenceLength)).size > 1,
  };
}

function difference(a: NodeInventory, b: NodeInventory, maxExamples: number): PairDifference {
  const longest = Math.max(a.sequenceLength, b.sequenceLength);
  let onlyA = 0;
  let onlyB = 0;
  const firstDifferences: number[] = [];
  for (let index = 0; index * 8 < longest; index++) {
    const x = byteAt(a.bytes, index, a.sequenceLength);
    const y = byteAt(b.bytes, index, b.sequenceLength);
    if (x === y) continue;
    onlyA += POPCOUNT[x & ~y & 0xff] as number;
    onlyB += POPCOUNT[y & ~x & 0xff] as number;
    for (let bit = 0; bit < 8 && firstDifferences.length < maxExamples; bit++) {
      const mask = 0x80 >> bit;
      if ((x & mask) !== (y & mask)) firstDifferences.push(index * 8 + bit);
    }
  }
  return { a: a.peer, b: b.peer, onlyA, onlyB, firstDifferences };
}
