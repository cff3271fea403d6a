import { hash160Hex } from '../hash/index.js';
import { randomInt, type Random } from '../runtime.js';

export interface GeneratedChunk {
  address: string;
  data: Uint8Array;
}

/**
 * Zone-file-like chunks with the size distribution of the real corpus (SPEC §9): mostly 70-250
 * bytes, about 1 in 1,000 between 1 and 40 KiB, mean about 180. Deterministic for a given random.
 */
export function generateChunks(count: number, random: Random, options: { maxSize?: number; prefix?: string; size?: number } = {}): GeneratedChunk[] {
  const maxSize = options.maxSize ?? 40_960;
  const chunks: GeneratedChunk[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.min(maxSize, options.size ?? drawSize(random));
    const data = zoneFile(`${options.prefix ?? 'name'}${i}`, size, random);
    chunks.push({ address: hash160Hex(data), data });
  }
  return chunks;
}

function drawSize(random: Random): number {
  if (random() < 0.001) return 1_024 + randomInt(random, 39_936);
  // Mean of three uniforms: a bell between 70 and 250 centred near 160.
  return 70 + Math.floor(((random() + random() + random()) / 3) * 180);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A plausible zone file of exactly `size` bytes (unique per name). */
function zoneFile(name: string, size: number, random: Random): Uint8Array {
  const head = Buffer.from(`$ORIGIN ${name}.id\n$TTL 3600\n_http._tcp URI 10 1 "https://gaia.example/`, 'utf8');
  const out = Buffer.allocUnsafe(size);
  const kept = head.copy(out, 0, 0, Math.min(head.length, size));
  for (let i = kept; i < size; i++) out[i] = ALPHABET.charCodeAt(randomInt(random, ALPHABET.length));
  if (size > kept + 2) {
    out[size - 2] = 0x22; // closing quote
    out[size - 1] = 0x0a;
  }
  return out;
}
