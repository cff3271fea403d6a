/**
 * What each process of the sync benchmark measures of itself: a catching-up side the CPU, time
 * and memory of its window (`startWindow`), a serving side the CPU it spent from the moment it
 * served until it was stopped (`reportServingOnStop`). One definition for atlasnet's processes,
 * the references' and the other libraries', so that their figures mean the same.
 */
import { peakResidentBytes } from '../resident-memory.js';
import { threadCpuSince, threadTimes } from './thread-cpu.js';

export interface WindowFigures {
  elapsedMs: number;
  /** CPU seconds of every thread of the process. */
  cpuSeconds: number;
  /** The same, main thread and others apart (where /proc is there). */
  threads?: { mainSeconds: number; otherSeconds: number };
  /** The process's high-water mark of resident memory (the kernel's, bench/resident-memory.ts: polling it cost CPU the window would count). */
  peakRssBytes: number;
}

/** Starts a window now; the function returned ends it and answers its figures. */
export function startWindow(): () => WindowFigures {
  const cpuBefore = process.cpuUsage();
  const threadsBefore = threadTimes();
  const startedAt = performance.now();
  return () => {
    const elapsedMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    const threads = threadCpuSince(threadsBefore);
    return { elapsedMs, cpuSeconds: (cpu.user + cpu.system) / 1e6, ...(threads ? { threads } : {}), peakRssBytes: peakResidentBytes() };
  };
}

/** The line a serving process prints when it counts its serving CPU afresh (SIGUSR2). */
export const RECOUNTING = 'recountingServeCpu';

/**
 * Counts serving CPU from now; on SIGTERM or SIGINT prints `{"serveCpuSeconds": …}` (what
 * processes.ts's serveCpuOf reads), then `close`s and exits. The line is written before closing:
 * shutting down is not serving, and a close slower than the benchmark waits for must not lose it.
 * On SIGUSR2 it counts from then on instead, and prints `{"recountingServeCpu": true}`: a peer
 * that served a warm-up catch-up reports only what it spent after it.
 */
export function reportServingOnStop(close: () => Promise<unknown>): void {
  let cpuAtReady = process.cpuUsage();
  process.on('SIGUSR2', () => {
    cpuAtReady = process.cpuUsage();
    process.stdout.write(JSON.stringify({ [RECOUNTING]: true }) + '\n');
  });
  const stop = () => {
    const served = process.cpuUsage(cpuAtReady);
    process.stdout.write(JSON.stringify({ serveCpuSeconds: (served.user + served.system) / 1e6 }) + '\n', () => {
      void close().then(() => process.exit(0));
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
