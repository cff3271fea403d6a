/**
 * Verify-on-serve (store/verified-read.ts): what hashing every chunk before it leaves the node
 * costs, against the same reads unverified, on the same store in the same run, in alternating
 * blocks so that both see the same machine weather. Part of `bench:load`.
 */
import type { Address } from '../src/address.js';
import { randomInt, seededRandom } from '../src/runtime.js';
import type { ChunkStore } from '../src/store/types.js';
import { VerifiedReader } from '../src/store/verified-read.js';

export interface VerifyServeFigures {
  /** Microseconds per read of `batch` addresses, hash-checked. */
  verifiedUs: number;
  /** The same reads without the check. */
  unverifiedUs: number;
  reads: number;
  batch: number;
}

export function measureVerifyOnServe(store: ChunkStore, addresses: readonly Address[], options: { quick: boolean; batch: number }): VerifyServeFigures {
  const verified = new VerifiedReader(store);
  const unverified = new VerifiedReader(store, { verify: false });
  const random = seededRandom(77);
  const blocks = options.quick ? 10 : 40;
  const perBlock = 2_000;
  const requests = Array.from({ length: perBlock }, () => Array.from({ length: options.batch }, () => addresses[randomInt(random, addresses.length)] as Address));
  const time = (reader: VerifiedReader): number => {
    const start = process.hrtime.bigint();
    let served = 0;
    for (const request of requests) served += reader.read(request).chunks.length;
    if (served === 0) throw new Error('nothing served');
    return Number(process.hrtime.bigint() - start) / 1_000;
  };
  time(verified); // warm-up
  time(unverified);
  let verifiedTotal = 0;
  let unverifiedTotal = 0;
  for (let block = 0; block < blocks; block++) {
    if (block % 2 === 0) {
      verifiedTotal += time(verified);
      unverifiedTotal += time(unverified);
    } else {
      unverifiedTotal += time(unverified);
      verifiedTotal += time(verified);
    }
  }
  if (verified.corruptFound !== 0) throw new Error('the benchmark store holds corrupt chunks');
  const reads = blocks * perBlock;
  return { verifiedUs: verifiedTotal / reads, unverifiedUs: unverifiedTotal / reads, reads, batch: options.batch };
}
