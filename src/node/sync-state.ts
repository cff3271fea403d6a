import { NO_CHUNK_ADDRESS } from '../address.js';
import { abortedError, AtlasError, ErrorCodes } from '../errors.js';
import type { Clock } from '../runtime.js';
import type { ChunkStore } from '../store/types.js';
import { Changes } from '../sync/changes.js';
import type { ProgressEvent } from './events.js';

/** How long whenSynced sleeps at most between two looks at the inventory. */
const SYNC_CHECK_MS = 60_000;

/**
 * Where the node stands against the chain: have, total and missing; when it has just caught up
 * (the 'synced' event); and the waits on it (whenSynced, and fetchChunks' `wait` through `changes`).
 */
export class SyncState {
  readonly changes: Changes;
  /** Some announced chunk is missing: the next time none is, the node has caught up. */
  private behind: boolean;
  /** Positions naming no chunk, at a sequence length (noChunkPositions); undefined once the sequence changed. */
  private noChunk: { length: number; count: number } | undefined;

  constructor(
    private readonly store: ChunkStore,
    clock: Clock,
    private readonly lifetime: AbortSignal,
  ) {
    this.changes = new Changes(clock);
    this.behind = this.progress().missing > 0;
  }

  /** Positions that name no chunk (NO_CHUNK_ADDRESS) are left out of total: nothing can fetch them. */
  progress(): ProgressEvent {
    const { count, length } = this.store.inventory;
    const total = length - this.noChunkPositions(length);
    return { have: count, total, missing: total - count };
  }

  /** The sequence was appended to or cut back: positions naming no chunk are counted again at the next progress(). */
  sequenceChanged(): void {
    this.noChunk = undefined;
  }

  /**
   * How many positions announce NO_CHUNK_ADDRESS, counted once per change of the sequence: the
   * store lists them, and progress() is read for every stored batch.
   */
  private noChunkPositions(length: number): number {
    if (this.noChunk === undefined || this.noChunk.length !== length) this.noChunk = { length, count: this.store.positionsOf(NO_CHUNK_ADDRESS).length };
    return this.noChunk.count;
  }

  /** Call after every change of have or total; `caughtUp` is true once each time the node catches up. */
  changed(): { progress: ProgressEvent; caughtUp: boolean } {
    const progress = this.progress();
    let caughtUp = false;
    if (progress.missing > 0) this.behind = true;
    else if (this.behind) {
      this.behind = false;
      caughtUp = true;
    }
    this.changes.notify();
    return { progress, caughtUp };
  }

  /** Resolves once nothing announced is missing; ABORTED when `signal` aborts, CLOSED when the node closes. */
  async whenSynced(options: { signal?: AbortSignal }): Promise<ProgressEvent> {
    let signal: AbortSignal | undefined;
    for (;;) {
      // Checked before the progress: an aborted signal rejects even when nothing is missing.
      if (this.lifetime.aborted) throw new AtlasError(ErrorCodes.CLOSED, 'whenSynced: the node closed');
      if (options.signal?.aborted) throw abortedError('whenSynced', options.signal);
      const progress = this.progress();
      if (progress.missing === 0) return progress;
      signal ??= options.signal ? AbortSignal.any([this.lifetime, options.signal]) : this.lifetime;
      await this.changes.next(signal, SYNC_CHECK_MS);
    }
  }
}
