/**
 * The node:crypto backend: OpenSSL too, one call per digest. crypto.hash (Node >= 20.12) skips
 * the Hash object that createHash builds, about twice as fast on small chunks; older Node uses
 * createHash. Unavailable when this node's OpenSSL lacks RIPEMD-160 (OpenSSL 3.0.0 to 3.0.6
 * kept it in the legacy provider).
 */
import * as crypto from 'node:crypto';
import { perItemImpl } from './per-item.js';
import { EMPTY_HASH160, type Hash160Impl } from './types.js';

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
  return perItemImpl('node', (data) => digest('ripemd160', digest('sha256', data)));
}
