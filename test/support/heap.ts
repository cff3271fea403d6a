/** Heap measurement after full garbage collections, for "memory stays bounded" checks. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A full garbage collection, e.g. so that timings start from the same heap state. */
export function collectGarbage(): void {
  gc();
}

/** JS heap plus ArrayBuffer memory in use after two full collections, in bytes. */
export function liveBytes(): number {
  gc();
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * Memory outside the JS heap (buffers, WebAssembly memory) after two full collections, in bytes.
 * Garbage buffers count here until collected; WebAssembly memory never shrinks.
 */
export function externalBytes(): number {
  gc();
  gc();
  return process.memoryUsage().external;
}
