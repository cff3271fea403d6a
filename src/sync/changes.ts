import type { Clock } from '../runtime.js';

/**
 * "Something changed": a chunk was stored or the chain moved. Waits (fetchChunks with `wait`,
 * whenSynced) sleep on next() instead of polling the store; each waiter holds one entry, removed
 * when it wakes, whichever way.
 */
export class Changes {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: Clock) {}

  notify(): void {
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const wake of woken) wake();
  }

  /** Resolves at the next change, after `maxMs`, or when `signal` aborts, whichever comes first. */
  next(signal: AbortSignal, maxMs: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const wake = (): void => {
        this.waiters.delete(wake);
        this.clock.clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = this.clock.setTimeout(wake, maxMs);
      signal.addEventListener('abort', wake, { once: true });
      this.waiters.add(wake);
    });
  }

  get waiting(): number {
    return this.waiters.size;
  }
}
