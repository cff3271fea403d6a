/**
 * Group commit for a store's writes: puts queued behind the same write of a serial queue share
 * one transaction (one fsync), so throughput grows with load instead of being capped at one batch
 * per commit.
 */
export class WriteGroup<P> {
  /** The parts of the write waiting at the tail of the queue: later parts join it. */
  #open: P[] | undefined;

  /**
   * `enqueue` queues a task on the store's serial queue (and closes every open group, so that
   * nothing queued later overtakes it); `write` writes one group's parts, answering each part
   * itself (it never throws).
   */
  constructor(
    private readonly enqueue: (task: () => Promise<void>) => Promise<void>,
    private readonly write: (parts: P[]) => Promise<void>,
  ) {}

  /** Adds `part` to the write waiting at the tail of the queue, or queues a write for it. */
  join(part: P): void {
    let parts = this.#open;
    if (parts === undefined) {
      const fresh: P[] = [];
      void this.enqueue(() => {
        if (this.#open === fresh) this.#open = undefined;
        return this.write(fresh);
      }).catch(() => {}); // each part carries its own failure
      this.#open = parts = fresh;
    }
    parts.push(part);
  }

  /** Parts joining from now on go to a new write (a task was queued that they must not overtake). */
  close(): void {
    this.#open = undefined;
  }
}
