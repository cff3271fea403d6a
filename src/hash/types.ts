/** The three ways atlasnet can compute hash160, fastest first. */
export type HashBackendName = 'native' | 'node' | 'wasm';

export const HASH_BACKEND_NAMES: readonly HashBackendName[] = ['native', 'node', 'wasm'];

/** hash160 = RIPEMD160(SHA256(data)): 20 bytes. */
export const HASH160_BYTES = 20;

/** hash160 of zero bytes (Bitcoin's well-known constant): each backend's self-test at load. */
export const EMPTY_HASH160 = 'b472a266d0bd89c13706a4132ccfb16f7c3b9fcb';

/**
 * One backend. Every method returns fresh bytes the caller may keep; the arrays returned by
 * `hash160Batch` may be views into one shared buffer. Results are Uint8Arrays (some backends hand
 * back Buffers, which are Uint8Arrays too: do not rely on Buffer methods).
 */
export interface Hash160Impl {
  readonly name: HashBackendName;
  hash160(data: Uint8Array): Uint8Array;
  /** One result per chunk, in order. */
  hash160Batch(chunks: readonly Uint8Array[]): Uint8Array[];
  /** hash160Batch's digests end to end (20 * n bytes): no view a digest. */
  hash160Digests(chunks: readonly Uint8Array[]): Uint8Array;
  /**
   * Chunks laid end to end in `data`: chunk i is `data[offsets[i], offsets[i + 1])`, so n chunks
   * take n + 1 offsets, non-decreasing and at most `data.length`. Returns the n digests end to
   * end (20 * n bytes).
   */
  hash160Packed(data: Uint8Array, offsets: Uint32Array): Uint8Array;
  /**
   * The digest chain `d = hash160(d || address)` over the 20-byte addresses laid end to end in
   * `addresses`, from `previous` (20 bytes): the sequence digest of SPEC §6. Returns the last d.
   */
  hash160Chain(previous: Uint8Array, addresses: Uint8Array): Uint8Array;
}
