/**
 * The node command's progress log: at most one line per interval while chunks arrive, and always
 * a trailing line with the final count (an update that came inside the interval is logged when
 * the interval ends), so the log never ends on a stale count.
 */
import type { Clock } from '../runtime.js';

export interface ProgressLog<T> {
  update(value: T): void;
  /** Logs a pending update now and cancels the trailing timer. */
  flush(): void;
}

export function throttledLog<T>(write: (value: T) => void, intervalMs: number, clock: Clock): ProgressLog<T> {
  let last = Number.NEGATIVE_INFINITY;
  let pending: { value: T } | undefined;
  let timer: unknown;
  const flush = (): void => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    if (pending === undefined) return;
    const { value } = pending;
    pending = undefined;
    last = clock.now();
    write(value);
  };
  return {
    update(value) {
      pending = { value };
      const wait = last + intervalMs - clock.now();
      if (wait <= 0) flush();
      else if (timer === undefined) {
        timer = clock.setTimeout(() => {
          timer = undefined;
          flush();
        }, wait);
      }
    },
    flush,
  };
}
