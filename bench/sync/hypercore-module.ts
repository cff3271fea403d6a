/**
 * Hypercore as the comparison's scripts use it: loaded from the folder it was installed into for
 * the benchmark (it is not a dependency of atlasnet), typed only as far as they use it.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface Hypercore {
  readonly key: Buffer;
  readonly length: number;
  /** Blocks held from the start without a gap. */
  readonly contiguousLength: number;
  ready(): Promise<void>;
  append(blocks: Buffer[]): Promise<unknown>;
  replicate(isInitiator: boolean): NodeJS.ReadWriteStream;
  download(range: { start: number; end: number }): { done(): Promise<void> };
  close(): Promise<void>;
}

export type HypercoreConstructor = new (storage: string, key?: Buffer) => Hypercore;

/** The Hypercore class installed under `dir` (its node_modules). */
export function loadHypercore(dir: string): HypercoreConstructor {
  return createRequire(join(dir, 'package.json'))('hypercore') as HypercoreConstructor;
}
