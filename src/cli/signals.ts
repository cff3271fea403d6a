/**
 * How the CLI stops. SIGINT, SIGTERM, and a closed output pipe (EPIPE: `atlas demo | head -3`)
 * all ask the running command to stop. A command that has something to close waits with
 * untilSignal() and closes it; the process then ends at the latest STOP_GRACE_MS after the
 * request, whatever is still pending, and at once on a second signal. With no command waiting,
 * the process ends at once, with the same `atlas: interrupted by <signal>` line. A closed pipe
 * ends quietly: no stack trace, exit code unchanged.
 */
import { EXIT_INTERRUPTED } from './errors.js';

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'EPIPE';

/** Longest a command may take to close after a stop request. */
export const STOP_GRACE_MS = 5_000;

const EXIT_BY_SIGNAL: Readonly<Record<StopSignal, number>> = { SIGINT: EXIT_INTERRUPTED, SIGTERM: 143, EPIPE: 0 };

export interface SignalWait {
  promise: Promise<StopSignal>;
  /** Stops waiting; call once the command is done. */
  dispose(): void;
}

const waiters = new Set<(signal: StopSignal) => void>();
let stopRequested: StopSignal | undefined;
let installed = false;

/** Installs the process-wide handlers; main() calls it once. Idempotent. */
export function installStopHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('SIGINT', () => requestStop('SIGINT'));
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      silence(stream);
      requestStop('EPIPE');
    });
  }
}

/** Resolves at the first stop request (at once if one came already). */
export function untilSignal(): SignalWait {
  let resolve!: (signal: StopSignal) => void;
  const promise = new Promise<StopSignal>((r) => (resolve = r));
  if (stopRequested !== undefined) resolve(stopRequested);
  else waiters.add(resolve);
  return { promise, dispose: () => void waiters.delete(resolve) };
}

/** The exit code of a command ended by `signal`: 130 for SIGINT, 143 for SIGTERM (128 + the signal number), 0 for a closed pipe. */
export function exitCodeForSignal(signal: StopSignal): number {
  return EXIT_BY_SIGNAL[signal];
}

/** What asked the process to stop, if anything did. */
export function stopReason(): StopSignal | undefined {
  return stopRequested;
}

export function requestStop(signal: StopSignal): void {
  if (stopRequested !== undefined) {
    if (signal === 'EPIPE') return;
    exitNow(signal, `${signal} again, exiting without waiting`);
  }
  stopRequested = signal;
  // Nothing to close: the command ends now, saying why, as one that closes first does.
  if (waiters.size === 0) exitNow(signal, `interrupted by ${signal}`);
  const woken = [...waiters];
  waiters.clear();
  for (const wake of woken) wake(signal);
  setTimeout(() => exitNow(signal, `still closing ${STOP_GRACE_MS / 1000} s after ${signal}, exiting`), STOP_GRACE_MS).unref();
}

function exitNow(signal: StopSignal, message?: string): never {
  if (message !== undefined && signal !== 'EPIPE') process.stderr.write(`atlas: ${message}\n`);
  process.exit(signal === 'EPIPE' ? (typeof process.exitCode === 'number' ? process.exitCode : 0) : EXIT_BY_SIGNAL[signal]);
}

/** Writes to a stream whose reader has gone are dropped. */
function silence(stream: NodeJS.WriteStream): void {
  stream.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}
