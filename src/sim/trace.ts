/**
 * The run's fingerprint: every observable event (virtual time, node, kind, detail) is hashed in
 * the order it happens. Two runs of the same scenario and seed give the same digest; any change in
 * ordering or timing anywhere in the network changes it.
 */
import { createHash, type Hash } from 'node:crypto';

/** One event of a run's trace. */
export interface TraceEvent {
  /** Virtual milliseconds. */
  time: number;
  node: string;
  kind: string;
  detail: string;
}

/** Options of `new Trace(...)`. */
export interface TraceOptions {
  /** The latest events kept in memory for inspection (the digest covers all of them). Default 0. */
  keep?: number;
}

/** A run's fingerprint: a digest over every event recorded, in order, with counts by kind (`Simulation.trace`). */
export class Trace {
  private hash: Hash = createHash('sha256');
  private readonly keep: number;
  private readonly recent: TraceEvent[] = [];
  private readonly byKind = new Map<string, number>();
  /** Events recorded so far. */
  count = 0;

  constructor(options: TraceOptions = {}) {
    this.keep = Math.max(0, Math.floor(options.keep ?? 0));
  }

  /** Records one event: virtual time, node, kind and detail. */
  record(time: number, node: string, kind: string, detail = ''): void {
    this.hash.update(`${time}\u0000${node}\u0000${kind}\u0000${detail}\n`);
    this.count++;
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    if (this.keep > 0) {
      this.recent.push({ time, node, kind, detail });
      if (this.recent.length > this.keep) this.recent.shift();
    }
  }

  /** Hex SHA-256 over every event so far; recording may continue afterwards. */
  digest(): string {
    return this.hash.copy().digest('hex');
  }

  /** Events recorded, by kind. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.byKind].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** The latest `keep` events, oldest first. */
  latest(): readonly TraceEvent[] {
    return this.recent;
  }
}
