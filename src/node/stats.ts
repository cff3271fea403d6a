import type { Clock } from '../runtime.js';
import type { ReplicatorStats } from '../sync/replicator.js';
import type { LiveNodeState } from './lifecycle.js';

/** A snapshot of a node's counters, from `node.stats()`: its own, and its replicator's (downloads, pushes, audits, inventory reads). */
export interface NodeStats extends ReplicatorStats {
  /** Never 'closing' or 'closed': stats() refuses with CLOSED from the moment close() begins. */
  state: LiveNodeState;
  address: string | undefined;
  network: string;
  sequenceLength: number;
  /** Distinct chunks held that are announced now. */
  chunks: number;
  chunkBytes: number;
  /** Inventory bits set, out of `total`. */
  have: number;
  /** Announced positions that name a chunk (as the progress event's total). */
  total: number;
  /** What the chain adapter counts (ChainAdapter.counts), when it counts anything: its finite numbers only. */
  chain?: Readonly<Record<string, number>>;
  peers: number;
  pendingPeers: number;
  neighbors: string[];
  /** Chunks stored per second over the last few seconds. */
  chunksPerSecond: number;
}

/** Events per second over a sliding window of one-second buckets. */
export class RateMeter {
  private readonly buckets: number[];
  private bucketStart: number;
  private index = 0;

  constructor(
    private readonly clock: Clock,
    private readonly windowSeconds = 5,
  ) {
    this.buckets = new Array<number>(windowSeconds).fill(0);
    this.bucketStart = clock.now();
  }

  add(count: number): void {
    this.advance();
    this.buckets[this.index] = (this.buckets[this.index] ?? 0) + count;
  }

  rate(): number {
    this.advance();
    return this.buckets.reduce((a, b) => a + b, 0) / this.windowSeconds;
  }

  private advance(): void {
    const now = this.clock.now();
    const steps = Math.min(this.windowSeconds, Math.floor((now - this.bucketStart) / 1000));
    for (let i = 0; i < steps; i++) {
      this.index = (this.index + 1) % this.windowSeconds;
      this.buckets[this.index] = 0;
    }
    if (steps > 0) this.bucketStart = now - ((now - this.bucketStart) % 1000);
  }
}
