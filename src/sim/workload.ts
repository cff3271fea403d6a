import { hash160Hex } from '../hash/index.js';
import { randomInt, type Random } from '../runtime.js';

export interface GeneratedChunk {
  address: string;
  data: Uint8Array;
}

/**
 * Zone-file-like chunks with the size distribution of the real corpus (SPEC §9): mostly 80-300
 * bytes (mean about 170), about 1 in 200 between 1 and 40 KiB. Deterministic for a given random.
 */
export function generateChunks(count: number, random: Random, options: { maxSize?: number; prefix?: string } = {}): GeneratedChunk[] {
  const maxSize = options.maxSize ?? 40_960;
  const chunks: GeneratedChunk[] = [];
  for (let i = 0; i < count; i++) {
    const size = Math.min(maxSize, drawSize(random));
    const data = zoneFile(`${options.prefix ?? 'name'}${i}`, size, random);
    chunks.push({ address: hash160Hex(data), data });
  }
  return chunks;
}

function drawSize(random: Random): number {
  if (random() < 0.005) return 1_024 + randomInt(random, 39_936);
  // Sum of uniforms: a bell between 80 and 300 centred near 170.
  return 80 + Math.floor(((random() + random() + random()) / 3) * 220);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A plausible zone file of exactly `size` bytes (unique per name). */
function zoneFile(name: string, size: number, random: Random): Uint8Array {
  const head = `$ORIGIN ${name}.id\n$TTL 3600\n_http._tcp URI 10 1 "https://gaia.example/`;
  let body = head;
  while (body.length < size - 2) body += ALPHABET[randomInt(random, ALPHABET.length)];
  body = (body + '"\n').slice(0, size);
  return Buffer.from(body, 'utf8');
}
