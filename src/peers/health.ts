/**
 * A peer's health (SPEC §5.1): the share of successful calls among those made in the last window
 * (default one hour), 0 with no samples. Samples live in a ring buffer bounded by `maxSamples`,
 * so a busy peer costs a fixed amount of memory: beyond the bound the oldest samples go first.
 */
export const DEFAULT_HEALTH_WINDOW_MS = 3_600_000;
export const DEFAULT_MAX_HEALTH_SAMPLES = 256;

export interface HealthWindowOptions {
  /** Samples older than this (in ms) are dropped. */
  windowMs?: number;
  /** Most samples kept. */
  maxSamples?: number;
}

const INITIAL_CAPACITY = 16;

export class HealthWindow {
  readonly windowMs: number;
  readonly maxSamples: number;
  private times: Float64Array;
  private oks: Uint8Array;
  private head = 0; // index of the oldest sample
  private count = 0;
  private okCount = 0;
  private lastTime = Number.NEGATIVE_INFINITY;
  /** Time of the oldest sample kept (times[head]); +Infinity with none. */
  private oldestTime = Number.POSITIVE_INFINITY;

  constructor(options: HealthWindowOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_HEALTH_WINDOW_MS;
    this.maxSamples = Math.floor(options.maxSamples ?? DEFAULT_MAX_HEALTH_SAMPLES);
    if (!(this.windowMs > 0)) throw new RangeError('windowMs must be positive');
    if (!(this.maxSamples >= 1)) throw new RangeError('maxSamples must be at least 1');
    const capacity = Math.min(INITIAL_CAPACITY, this.maxSamples);
    this.times = new Float64Array(capacity);
    this.oks = new Uint8Array(capacity);
  }

  /** Records one call's outcome at `now` (ms). A clock going backwards is read as standing still. */
  record(ok: boolean, now: number): void {
    const time = Math.max(now, this.lastTime);
    this.lastTime = time;
    this.prune(time);
    if (this.count === this.maxSamples) this.dropOldest();
    if (this.count === this.times.length) this.grow();
    const at = (this.head + this.count) % this.times.length;
    this.times[at] = time;
    this.oks[at] = ok ? 1 : 0;
    if (this.count === 0) this.oldestTime = time;
    this.count++;
    if (ok) this.okCount++;
  }

  /** ok / total over the window; 0 with no samples. */
  health(now: number): number {
    this.prune(now);
    return this.count === 0 ? 0 : this.okCount / this.count;
  }

  /** Until when health() stays as it is without new samples: the oldest one leaves the window after it. */
  steadyUntil(): number {
    return this.oldestTime + this.windowMs;
  }

  /** Number of samples in the window. */
  samples(now: number): number {
    this.prune(now);
    return this.count;
  }

  /** Number of successful samples in the window. */
  successes(now: number): number {
    this.prune(now);
    return this.okCount;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.okCount = 0;
    this.oldestTime = Number.POSITIVE_INFINITY;
  }

  private prune(now: number): void {
    const oldest = now - this.windowMs;
    // The common case reads one field of this object: health() is asked of every peer for each
    // peer-exchange reply, and the sample arrays are a cache miss away.
    if (!(this.oldestTime < oldest)) return;
    while (this.count > 0 && (this.times[this.head] as number) < oldest) this.dropOldest();
  }

  private dropOldest(): void {
    if (this.oks[this.head] === 1) this.okCount--;
    this.head = (this.head + 1) % this.times.length;
    this.count--;
    this.oldestTime = this.count === 0 ? Number.POSITIVE_INFINITY : (this.times[this.head] as number);
  }

  private grow(): void {
    const capacity = Math.min(this.times.length * 2, this.maxSamples);
    const times = new Float64Array(capacity);
    const oks = new Uint8Array(capacity);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) % this.times.length;
      times[i] = this.times[from] as number;
      oks[i] = this.oks[from] as number;
    }
    this.times = times;
    this.oks = oks;
    this.head = 0;
  }
}
