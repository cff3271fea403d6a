/**
 * A deliberately naive model of the SPEC §4 inventory, one boolean per position and one loop per
 * bit, written straight from the spec's wording so that the fast implementation can be checked
 * against it.
 */
export function naiveEncode(bits: readonly boolean[]): Uint8Array {
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) {
    if (bits[i]) bytes[Math.floor(i / 8)] = (bytes[Math.floor(i / 8)] as number) | (0x80 >> i % 8);
  }
  return bytes;
}

/** The bits of `bytes` as a vector of `length` positions (missing bytes read as zero). */
export function naiveDecode(bytes: Uint8Array, length: number): boolean[] {
  const bits: boolean[] = [];
  for (let i = 0; i < length; i++) {
    const byte = bytes[Math.floor(i / 8)] ?? 0;
    bits.push((byte & (0x80 >> i % 8)) !== 0);
  }
  return bits;
}

/** The inventory call of SPEC §3: bytes [offset, offset+length) clamped, empty past the end. */
export function naiveRange(vector: Uint8Array, offset: number, length: number): Uint8Array {
  const out: number[] = [];
  for (let i = offset; i < offset + length && i < vector.length; i++) out.push(vector[i] as number);
  return Uint8Array.from(out);
}

export function naivePositions(bits: readonly boolean[]): number[] {
  const positions: number[] = [];
  bits.forEach((bit, i) => {
    if (bit) positions.push(i);
  });
  return positions;
}

export function bitsFromPositions(positions: Iterable<number>, length: number): boolean[] {
  const bits = new Array<boolean>(length).fill(false);
  for (const position of positions) bits[position] = true;
  return bits;
}
