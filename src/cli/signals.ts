/**
 * Waiting for SIGINT/SIGTERM. The first signal resolves the wait (the command then closes what it
 * opened); a second one while closing exits at once with 130, for a user who does not want to wait.
 */
import { EXIT_INTERRUPTED } from './errors.js';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface SignalWait {
  promise: Promise<StopSignal>;
  /** Removes the handlers; call once the command is done. */
  dispose(): void;
}

export function untilSignal(signals: readonly StopSignal[] = ['SIGINT', 'SIGTERM']): SignalWait {
  let received = false;
  let resolve!: (signal: StopSignal) => void;
  const promise = new Promise<StopSignal>((r) => (resolve = r));
  const handler = (signal: StopSignal) => {
    if (received) {
      process.stderr.write(`atlas: ${signal} again, exiting without waiting\n`);
      process.exit(EXIT_INTERRUPTED);
    }
    received = true;
    resolve(signal);
  };
  for (const signal of signals) process.on(signal, handler);
  return {
    promise,
    dispose: () => {
      for (const signal of signals) process.off(signal, handler);
    },
  };
}
