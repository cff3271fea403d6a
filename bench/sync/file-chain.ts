/**
 * A read-only chain for benchmarks: a file of 20-byte addresses, position = index. Lets several
 * processes share one large sequence without a JSON DevChain of a million lines.
 */
import { readFileSync } from 'node:fs';
import type { Announcement, ChainAdapter } from '../../src/chain/types.js';

export class AddressFileChain implements ChainAdapter {
  private readonly bytes: Buffer;

  constructor(path: string) {
    this.bytes = readFileSync(path);
  }

  get size(): number {
    return this.bytes.length / 20;
  }

  async length(): Promise<number> {
    return this.size;
  }

  async read(from: number, limit: number): Promise<Announcement[]> {
    const end = Math.min(this.size, from + limit);
    const out: Announcement[] = [];
    for (let position = from; position < end; position++) {
      out.push({ position, address: this.bytes.toString('hex', position * 20, position * 20 + 20) });
    }
    return out;
  }

  subscribe(): () => void {
    return () => {};
  }
}
