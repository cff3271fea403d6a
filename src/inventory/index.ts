export { Inventory, type ApplyMode, type ReadonlyInventory } from './inventory.js';
export { MAX_INVENTORY_LENGTH, bitMaskOf, byteIndexOf, byteLengthOf, decodeRange, encodeRange, encodeRangeInto } from './codec.js';
export { bitmapFromBytes, bitmapToBytesInto } from './roaring-bytes.js';
export { decodePositions, encodePositions, type DecodePositionsOptions } from './varint.js';
export { InventoryLog, type InventoryLogOptions, type InventoryVersion, type ReadonlyInventoryLog, type SinceOptions } from './change-log.js';
export { planRarestFirst, TIE_RUN, type HolderCounting, type PlannedPosition, type RarestFirstInput } from './rarest.js';
export { bitmapBackend, bitmapBackendInfo, type BitmapBackendInfo, type BitmapBackendName, type ReadonlyBitmap } from './bitmap.js';
