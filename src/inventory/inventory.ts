// Placeholder, replaced by the roaring-backed implementation.
export class Inventory {
  readonly length: number = 0;
}
