/**
 * The node:crypto backend: OpenSSL too, one call per digest. crypto.hash (Node >= 20.12) skips
 * the Hash object that createHash builds, about twice as fast on small chunks; older Node uses
 * createHash. Unavailable when this node's OpenSSL lacks RIPEMD-160 (OpenSSL 3.0.0 to 3.0.6
 * kept it in the legacy provider).
 */
import * as crypto from 'node:crypto';
import { requireBytes, requireChunkArray, requirePacked } from './validate.js';
import { EMPTY_HASH160, HASH160_BYTES, type Hash160Impl } from './types.js';

type Digest = (algorithm: string, data: Uint8Array) => Buffer;

const oneShot: Digest | undefined =
  typeof crypto.hash === 'function' ? (algorithm, data) => crypto.hash(algorithm, data, 'buffer') : undefined;
const viaHashObject: Digest = (algorithm, data) => crypto.createHash(algorithm).update(data).digest();

export type NodeLoad = { impl: Hash160Impl } | { impl: undefined; reason: string };

export function loadNodeHash(): NodeLoad {
  const impl = nodeImpl(oneShot ?? viaHashObject);
  let digest: string;
  try {
    digest = Buffer.from(impl.hash160(new Uint8Array(0))).toString('hex');
  } catch (error) {
    // What OpenSSL 3.0.0-3.0.6 says: "Digest method not supported".
    return { impl: undefined, reason: `node:crypto has no ripemd160 (${(error as Error).message})` };
  }
  if (digest !== EMPTY_HASH160) return { impl: undefined, reason: 'node:crypto failed the hash160 self-test' };
  return { impl };
}

function nodeImpl(digest: Digest): Hash160Impl {
  const one = (data: Uint8Array): Buffer => digest('ripemd160', digest('sha256', data));
  return {
    name: 'node',
    hash160(data) {
      requireBytes(data, 'hash160');
      return one(data);
    },
    hash160Batch(chunks) {
      requireChunkArray(chunks, 'hash160Batch');
      const results = new Array<Uint8Array>(chunks.length);
      for (let i = 0; i < chunks.length; i++) {
        const chunk = chunks[i];
        requireBytes(chunk, 'hash160Batch item');
        results[i] = one(chunk);
      }
      return results;
    },
    hash160Packed(data, offsets) {
      requirePacked(data, offsets, 'hash160Packed');
      const out = Buffer.allocUnsafe((offsets.length - 1) * HASH160_BYTES);
      for (let i = 0; i + 1 < offsets.length; i++) {
        one(data.subarray(offsets[i], offsets[i + 1])).copy(out, i * HASH160_BYTES);
      }
      return out;
    },
  };
}
