/**
 * CPU time of this process's threads, split into the main thread (JavaScript, the event loop) and
 * the rest (V8's compiler and garbage collector threads, libuv's file and fsync threads), read
 * from /proc/self/task (Linux; undefined elsewhere): each thread's time on a CPU in nanoseconds
 * (`schedstat`), or, where the kernel does not keep it, its user and system time in clock ticks of
 * 10 ms (`stat`), too coarse for a catch-up of a fraction of a second.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of utime and stime in /proc/<pid>/task/<tid>/stat. */
const TICKS_PER_SECOND = 100;

export type ThreadTimes = Map<number, number>;

/** Each thread's CPU seconds, by thread id; undefined without /proc. */
export function threadTimes(): ThreadTimes | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const times: ThreadTimes = new Map();
  for (const tid of tids) {
    try {
      times.set(Number(tid), threadSeconds(`/proc/self/task/${tid}`));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return times;
}

/** One thread's CPU seconds: its schedstat's first field (nanoseconds on a CPU), else its stat's utime + stime. */
function threadSeconds(task: string): number {
  try {
    const onCpu = Number(readFileSync(`${task}/schedstat`, 'utf8').split(' ')[0]);
    // 0 (or an empty file) where the kernel keeps no figures: every thread that exists has run.
    if (Number.isFinite(onCpu) && onCpu > 0) return onCpu / 1e9;
  } catch {
    // No schedstat (a kernel without it): the tick counts below.
  }
  const stat = readFileSync(`${task}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and
  // stime are the 14th and 15th fields of the line, the 12th and 13th after ") ".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Seconds of CPU since `before` on the main thread and on every other thread (ones that ended since are not counted). */
export function threadCpuSince(before: ThreadTimes | undefined): { mainSeconds: number; otherSeconds: number } | undefined {
  const now = threadTimes();
  if (before === undefined || now === undefined) return undefined;
  let mainSeconds = 0;
  let otherSeconds = 0;
  for (const [tid, seconds] of now) {
    const spent = seconds - (before.get(tid) ?? 0);
    if (tid === process.pid) mainSeconds += spent;
    else otherSeconds += spent;
  }
  return { mainSeconds, otherSeconds };
}
