/**
 * One scenario seed, many independent random streams: each consumer (a node, the network, the
 * workload) gets its own stream derived from the seed and a label, so adding a node or drawing
 * one more number for the workload does not shift anybody else's draws.
 */
import { mix32, seededRandom, type Random } from '../runtime.js';

/** A 32-bit seed for `label` under `seed` (FNV-1a over both, then a murmur3 finaliser). */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  h = Math.imul(h, 0x01000193);
  h ^= Math.floor(seed / 0x1_0000_0000) >>> 0;
  h = Math.imul(h, 0x01000193);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** The random stream named `label` under `seed`. */
export function streamFor(seed: number, label: string): Random {
  return seededRandom(deriveSeed(seed, label));
}
