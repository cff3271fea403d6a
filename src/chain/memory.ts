/**
 * A chain held in memory, for tests, the simulator and examples: announce() appends, rollback()
 * simulates a reorganisation, and subscribers hear both synchronously, in order.
 */
import { AtlasError, ErrorCodes } from '../errors.js';
import { pushAll, type Logger } from '../runtime.js';
import { checkOptionNames } from '../options-overlay.js';
import { checkMaxReadLimit, checkRollback, checkSignal, readPage, toAnnouncements, type AnnounceInput } from './announcement.js';
import { ChainListeners } from './listeners.js';
import type { Announcement, ChainAdapter, ChainListener } from './types.js';

/** Options of `MemoryChain`, the in-process chain for tests and embedding. */
export interface MemoryChainOptions {
  /** Announcements to start with (positions from 0). */
  announcements?: readonly AnnounceInput[];
  /** Most announcements one read returns (default 10,000): larger limits are capped. */
  maxReadLimit?: number;
  /** Where errors thrown by listeners are reported. */
  logger?: Logger;
}

/** A `ChainAdapter` held in memory: announce, roll back and subscribe from the same process. */
export class MemoryChain implements ChainAdapter {
  readonly maxReadLimit: number;
  readonly #announcements: Announcement[] = [];
  readonly #listeners: ChainListeners;
  #closed = false;

  constructor(options: MemoryChainOptions = {}) {
    checkOptionNames<MemoryChainOptions>(options, { announcements: true, maxReadLimit: true, logger: true }, 'MemoryChain');
    this.maxReadLimit = checkMaxReadLimit(options.maxReadLimit);
    this.#listeners = new ChainListeners(options.logger);
    if (options.announcements !== undefined) pushAll(this.#announcements, toAnnouncements(options.announcements, 0));
  }

  /**
   * Appends announcements at the next positions and tells subscribers; returns them. Throws
   * BAD_ADDRESS or BAD_ANNOUNCEMENT (and appends nothing) when one is malformed.
   */
  announce(input: AnnounceInput | readonly AnnounceInput[]): Announcement[] {
    this.#checkOpen();
    const added = toAnnouncements(input, this.#announcements.length);
    if (added.length === 0) return [];
    pushAll(this.#announcements, added);
    this.#listeners.emit({ type: 'append', announcements: added.slice() });
    return added;
  }

  /** Drops every announcement at position >= length (a reorganisation) and tells subscribers. */
  rollback(length: number): void {
    this.#checkOpen();
    checkRollback(length, this.#announcements.length);
    if (length === this.#announcements.length) return;
    this.#announcements.length = length;
    this.#listeners.emit({ type: 'rollback', length });
  }

  /** The current length, synchronously. */
  get size(): number {
    return this.#announcements.length;
  }

  /** The announcement at `position`, or undefined. */
  at(position: number): Announcement | undefined {
    return this.#announcements[position];
  }

  async length(options?: { signal?: AbortSignal }): Promise<number> {
    this.#checkOpen();
    checkSignal(options?.signal);
    return this.#announcements.length;
  }

  async read(from: number, limit: number, options?: { signal?: AbortSignal }): Promise<Announcement[]> {
    this.#checkOpen();
    return readPage(this.#announcements, from, limit, this.maxReadLimit, options?.signal);
  }

  subscribe(listener: ChainListener): () => void {
    this.#checkOpen();
    return this.#listeners.add(listener);
  }

  unsubscribe(listener: ChainListener): void {
    this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new AtlasError(ErrorCodes.CLOSED, 'the chain is closed');
  }
}
