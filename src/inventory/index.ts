export { Inventory, type ApplyMode, type ReadonlyInventory } from './inventory.js';
export { MAX_INVENTORY_LENGTH, bitMaskOf, byteIndexOf, byteLengthOf, decodeRange, encodeRange, encodeRangeInto } from './codec.js';
export { decodePositions, encodePositions, type DecodePositionsOptions } from './varint.js';
export { InventoryLog, type InventoryLogOptions, type SinceOptions } from './change-log.js';
export { planRarestFirst, type PlannedPosition, type RarestFirstInput } from './rarest.js';
