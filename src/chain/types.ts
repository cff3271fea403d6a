import type { Address } from '../address.js';

/** One chain event binding a key (a name, in BNS) to a chunk address. */
export interface Announcement {
  /** Position in the linearised sequence, from 0, with no gaps. */
  position: number;
  address: Address;
  key?: string;
  height?: number;
  txid?: string;
}

/** What a chain adapter reports: announcements appended, or a rollback to a shorter sequence. */
export type ChainEvent =
  | { type: 'append'; announcements: readonly Announcement[] }
  /** The chain rolled back: only the first `length` announcements remain. */
  | { type: 'rollback'; length: number };

/** Receives the events of a chain adapter, in order. */
export type ChainListener = (event: ChainEvent) => void;

/** Where announcements come from. Implement this to plug atlasnet into a real chain. */
export interface ChainAdapter {
  /** Number of announcements in the sequence now. */
  length(options?: { signal?: AbortSignal }): Promise<number>;
  /** Up to `limit` announcements from position `from`, in order. */
  read(from: number, limit: number, options?: { signal?: AbortSignal }): Promise<Announcement[]>;
  /** Calls `listener` on every append and rollback; returns the unsubscribe function. */
  subscribe(listener: ChainListener): () => void;
  close?(): Promise<void>;
  /**
   * What the adapter counts of what it was given, shown as `node.stats().chain` (the Stacks
   * observer's blocks, blocks it could not place, events that did not decode...): an operator sees
   * there what would otherwise be only a log line. Optional; each value a finite number.
   */
  counts?(): Readonly<Record<string, number>>;
}
