/**
 * Where the slices of large getChunks replies wait their turn (service.ts): one waiting slice goes
 * on per turn of the event loop, so the sockets' I/O (another caller's request) is handled between
 * any two slices, however many large replies are being read at once. A pause that let every
 * waiting slice go at once (a 0 ms timer each) ran them back to back: 64 connections each reading
 * a reply of 40 KiB chunks held an honest request behind 64 slices.
 *
 * At most one entry a reply being read: the transport's request limits bound how many there are.
 */
export class SliceQueue {
  readonly #defer: (run: () => void) => void;
  #waiting: (() => void)[] = [];
  #scheduled = false;

  /** `defer(run)`: calls `run` on a later turn of the event loop (setImmediate, or a 0 ms timer of a virtual clock). */
  constructor(defer: (run: () => void) => void) {
    this.#defer = defer;
  }

  /** Resolves on a later turn, after every slice that paused before it. */
  readonly pause = (): Promise<void> =>
    new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });

  /** Slices waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(() => this.#next());
  }

  #next(): void {
    this.#scheduled = false;
    const resolve = this.#waiting.shift();
    // A deferred call made now runs on the next turn: the slice released here runs first, then I/O.
    if (this.#waiting.length > 0) this.#schedule();
    resolve?.();
  }
}
