/**
 * What an accepted offer is worth (Replicator.acceptOffer): the positions below our sequence, and
 * how many of them we lack, counted with one bitmap instead of one Inventory.has a position. Both
 * must answer what the per-position filters they replace answered, on any list: unsorted,
 * repeated, past our sequence or our inventory's length.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { lackedCount, positionsBelow } from '../../src/sync/replicator.js';

/** The filters acceptOffer ran before: one closure and one Inventory.has a position. */
function reference(inventory: Inventory, positions: Uint32Array, length: number): { known: number[]; wanted: number } {
  const known = positions.filter((p) => p < length);
  return { known: [...known], wanted: known.filter((p) => !inventory.has(p)).length };
}

const list = (max: number) => fc.array(fc.oneof(fc.nat(max), fc.constant(0xffff_ffff)), { maxLength: 300 }).map((values) => Uint32Array.from(values));

describe('acceptOffer counting', () => {
  it('answers as the per-position filters did: unsorted, repeated, held, past the sequence or the inventory', () => {
    fc.assert(
      fc.property(fc.nat(400), fc.nat(400), list(500), list(500), (length, inventoryLength, held, offered) => {
        const inventory = Inventory.fromPositions(held.filter((p) => p < inventoryLength), inventoryLength);
        const known = positionsBelow(offered, length);
        const expected = reference(inventory, offered, length);
        expect([...known]).toEqual(expected.known);
        expect(lackedCount(inventory, known)).toBe(expected.wanted);
        // Unfiltered too: a position past the inventory's length is lacked, as Inventory.has says.
        expect(lackedCount(inventory, offered)).toBe(offered.filter((p) => !inventory.has(p)).length);
      }),
      { numRuns: 300 },
    );
  });

  it('answers a full offer (65,536 ascending positions, every other one held, some past the sequence) and keeps it when all are below', () => {
    const length = 70_000;
    const inventory = Inventory.fromPositions(Uint32Array.from({ length: length / 2 }, (_, i) => 2 * i), length);
    const offered = Uint32Array.from({ length: 65_536 }, (_, i) => 10_000 + i);
    const known = positionsBelow(offered, length);
    expect(known.length).toBe(60_000);
    expect(lackedCount(inventory, known)).toBe(30_000);
    expect(positionsBelow(offered, 80_000)).toBe(offered); // nothing dropped: no copy
    expect(lackedCount(inventory, new Uint32Array(0))).toBe(0);
  });
});
