// Placeholder until the three-backend implementation lands: node:crypto only.
import { createHash } from 'node:crypto';

export function hash160(data: Uint8Array): Uint8Array {
  const sha = createHash('sha256').update(data).digest();
  return new Uint8Array(createHash('ripemd160').update(sha).digest());
}
export function hash160Hex(data: Uint8Array): string {
  return Buffer.from(hash160(data)).toString('hex');
}
export function hash160Batch(chunks: readonly Uint8Array[]): Uint8Array[] {
  return chunks.map(hash160);
}
export function hashBackend(): 'native' | 'node' | 'wasm' {
  return 'node';
}
