import type { Clock, TimerHandle } from '../runtime.js';

/**
 * One pending timer. `index` is its slot in the heap, kept up to date by every move, so that
 * clearTimeout takes it out at once: a cancelled call deadline leaves no entry behind, and the
 * heap holds only the timers that will fire (about 40 times fewer in an idle simulation, where
 * most deadlines are cleared long before their time).
 */
class Timer {
  constructor(
    readonly at: number,
    readonly seq: number,
    public callback: () => void,
    /** Its heap slot; -1 once fired or cleared. */
    public index: number,
  ) {}
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
  /** Timers fired so far. */
  fired = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = new Timer(this.time + Math.max(0, ms), this.seq++, callback, this.heap.length);
    this.heap.push(timer);
    this.siftUp(timer.index);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (!(handle instanceof Timer) || handle.index < 0) return;
    this.removeAt(handle.index);
    // Release the closure: the caller may keep the handle (and so a finished call) for a while.
    handle.callback = noop;
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Fires timers in order until `until` returns true, virtual time passes `deadline`, or no timer
   * is left. Returns why it stopped.
   */
  async run(options: { deadline: number; until?: () => boolean; maxEvents?: number }): Promise<'condition' | 'deadline' | 'idle' | 'max-events'> {
    const maxEvents = options.maxEvents ?? Number.MAX_SAFE_INTEGER;
    const { deadline, until } = options;
    const heap = this.heap;
    await yieldToEventLoop();
    let yieldAt = performance.now() + YIELD_EVERY_MS;
    for (let events = 0; ; events++) {
      if (until?.()) return 'condition';
      if (events >= maxEvents) return 'max-events';
      const next = heap[0];
      if (next === undefined) return 'idle';
      if (next.at > deadline) {
        this.time = Math.max(this.time, deadline);
        return 'deadline';
      }
      this.removeAt(0);
      this.time = Math.max(this.time, next.at);
      this.fired++;
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

  /** Takes the timer in slot `i` out of the heap (the last one fills the hole and moves up or down). */
  private removeAt(i: number): void {
    const heap = this.heap;
    const removed = heap[i] as Timer;
    removed.index = -1;
    const last = heap.pop() as Timer;
    if (last === removed) return;
    heap[i] = last;
    last.index = i;
    if (i > 0 && before(last, heap[(i - 1) >> 1] as Timer)) this.siftUp(i);
    else this.siftDown(i);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const timer = heap[i] as Timer;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = heap[parentIndex] as Timer;
      if (!before(timer, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    heap[i] = timer;
    timer.index = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const timer = heap[i] as Timer;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let child = heap[l] as Timer;
      let childIndex = l;
      if (r < n && before(heap[r] as Timer, child)) {
        child = heap[r] as Timer;
        childIndex = r;
      }
      if (!before(child, timer)) break;
      heap[i] = child;
      child.index = i;
      i = childIndex;
    }
    heap[i] = timer;
    timer.index = i;
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
