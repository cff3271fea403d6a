import type { ChildProcess } from 'node:child_process';
import { runJsonChild, startJsonService } from '../child.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Starts `bench/sync/<script>` under tsx; resolves with the first JSON line it prints. */
export function startService<T>(script: string, args: string[]): Promise<{ child: ChildProcess; info: T }> {
  return startJsonService<T>(join(here, script), args);
}

/** Runs `bench/sync/<script>` to completion; resolves with the last JSON line it printed. */
export function runToEnd<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  return runJsonChild<T>(join(here, script), args, { label: script, timeoutMs });
}

export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        }),
    ),
  );
}
