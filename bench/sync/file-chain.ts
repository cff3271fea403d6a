/**
 * A read-only chain for benchmarks: a file of 20-byte addresses, position = index. Lets several
 * processes share one large sequence without a JSON DevChain of a million lines. Each read takes
 * its page from the file, so the chain holds no copy of the sequence (memory benchmarks measure
 * the node, not the chain).
 */
import { fstatSync, openSync, readSync } from 'node:fs';
import type { Announcement, ChainAdapter } from '../../src/chain/types.js';

export class AddressFileChain implements ChainAdapter {
  readonly size: number;
  /** Open for the life of the (benchmark) process. */
  readonly #fd: number;

  constructor(path: string) {
    this.#fd = openSync(path, 'r');
    this.size = Math.floor(fstatSync(this.#fd).size / 20);
  }

  async length(): Promise<number> {
    return this.size;
  }

  async read(from: number, limit: number): Promise<Announcement[]> {
    const end = Math.min(this.size, from + limit);
    if (end <= from) return [];
    const bytes = Buffer.alloc((end - from) * 20);
    readSync(this.#fd, bytes, 0, bytes.length, from * 20);
    const out: Announcement[] = new Array(end - from);
    for (let i = 0; i < out.length; i++) out[i] = { position: from + i, address: bytes.toString('hex', i * 20, i * 20 + 20) };
    return out;
  }

  subscribe(): () => void {
    return () => {};
  }
}
