import type { Clock, TimerHandle } from '../runtime.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Virtual time for the simulator. Timers fire in (time, creation order), so a run is a pure
 * function of its seed; between two timers every pending promise settles first, so async code
 * behaves as it would in real time, only without waiting.
 *
 * Settling is a process.nextTick hop, not a macrotask: Node runs ticks only once the microtask
 * queue is empty, so the hop resumes after every promise chain the timer started has run, at a
 * fifth of the cost of a setImmediate (which was a tenth of an idle simulation's time). The node
 * code queues no ticks of its own (it uses promises and queueMicrotask). Every
 * YIELD_EVERY_MS of wall time the loop still yields one macrotask, so I/O, real timers (a test's
 * timeout) and child-process messages are not starved by a long run.
 */
export class VirtualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly heap: Timer[] = [];
  /** Cancelled timers still in the heap. */
  private cancelled = 0;
  /** Timers fired so far. */
  fired = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.time + Math.max(0, ms), seq: this.seq++, callback, cancelled: false };
    this.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (!handle || typeof handle !== 'object' || !('cancelled' in handle)) return;
    const timer = handle as Timer;
    if (timer.cancelled) return;
    timer.cancelled = true;
    // Release the closure now: a cancelled call deadline would otherwise keep its whole call
    // alive until its time comes round. The entry itself leaves the heap when popped, or in a
    // compaction once cancelled entries are the majority.
    timer.callback = noop;
    this.cancelled++;
    if (this.cancelled > 1_024 && this.cancelled * 2 > this.heap.length) this.compact();
  }

  /** Timers waiting to fire (cancelled ones excluded). */
  get pending(): number {
    return this.heap.length - this.cancelled;
  }

  /**
   * Fires timers in order until `until` returns true, virtual time passes `deadline`, or no timer
   * is left. Returns why it stopped.
   */
  async run(options: { deadline: number; until?: () => boolean; maxEvents?: number }): Promise<'condition' | 'deadline' | 'idle' | 'max-events'> {
    const maxEvents = options.maxEvents ?? Number.MAX_SAFE_INTEGER;
    await yieldToEventLoop();
    let yieldAt = performance.now() + YIELD_EVERY_MS;
    for (let events = 0; ; events++) {
      if (options.until?.()) return 'condition';
      if (events >= maxEvents) return 'max-events';
      const next = this.pop();
      if (!next) return 'idle';
      if (next.at > options.deadline) {
        this.push(next);
        this.time = Math.max(this.time, options.deadline);
        return 'deadline';
      }
      this.time = Math.max(this.time, next.at);
      this.fired++;
      next.cancelled = true; // fired: clearing it later must not count it as cancelled
      next.callback();
      await settle();
      // Checked every 64 events: reading the wall clock costs about as much as the hop itself.
      if ((events & 63) === 63 && performance.now() >= yieldAt) {
        await yieldToEventLoop();
        yieldAt = performance.now() + YIELD_EVERY_MS;
      }
    }
  }

  /** Advances by `ms`, firing every timer due meanwhile. */
  async advance(ms: number): Promise<void> {
    const deadline = this.time + ms;
    await this.run({ deadline });
    this.time = Math.max(this.time, deadline);
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Timer | undefined {
    const heap = this.heap;
    while (heap.length > 0) {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
          if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
          if (m === i) break;
          [heap[i], heap[m]] = [heap[m]!, heap[i]!];
          i = m;
        }
      }
      if (!top.cancelled) return top;
      this.cancelled--;
    }
    return undefined;
  }

  /** Drops every cancelled timer and rebuilds the heap (order is kept: (at, seq) is a total order). */
  private compact(): void {
    const live = this.heap.filter((timer) => !timer.cancelled);
    // A sorted array is a valid binary heap.
    live.sort((a, b) => (before(a, b) ? -1 : 1));
    this.heap.length = 0;
    for (const timer of live) this.heap.push(timer);
    this.cancelled = 0;
  }
}

function noop(): void {}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * Wall-clock milliseconds a run may go without letting the event loop turn. V8 runs some of its
 * garbage collector's tasks there too; a setImmediate every 5 ms costs about 0.2%.
 */
const YIELD_EVERY_MS = 5;

/**
 * Lets every queued microtask (and the promise chains they start) run to completion: a tick
 * queued now runs once the microtask queue is empty.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/** One turn of the event loop: settles microtasks and lets I/O and real timers run. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
