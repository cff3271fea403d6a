import type { ChildProcess } from 'node:child_process';
import { bundleScript } from '../bundle.js';
import { runJsonChild, startJsonService } from '../child.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

// Every process of the sync benchmark, the references' too, runs bundled plain JavaScript (bundle.ts).

/** Starts `bench/sync/<script>`; resolves with the first JSON line it prints. */
export async function startService<T>(script: string, args: string[]): Promise<{ child: ChildProcess; info: T }> {
  return startJsonService<T>(await bundleScript(join(here, script), 'sync-'), args, { plainJs: true });
}

/** Runs `bench/sync/<script>` to completion; resolves with the last JSON line it printed. */
export async function runToEnd<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  return runJsonChild<T>(await bundleScript(join(here, script), 'sync-'), args, { label: script, timeoutMs, plainJs: true });
}

/**
 * Keeps every line `child` prints from now on; `last()` is the last one that parses as JSON (what
 * a service reports when it is stopped), or undefined when none does (a service killed before it
 * reported, or cut off mid-line).
 */
export function laterLines(child: ChildProcess): { last(): unknown; printed(text: string, timeoutMs: number): Promise<void> } {
  let out = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => (out += text));
  return {
    /** Resolves once `text` was printed; rejects after `timeoutMs` without it. */
    async printed(text, timeoutMs) {
      for (const deadline = Date.now() + timeoutMs; !out.includes(text); ) {
        if (Date.now() > deadline) throw new Error(`the service did not print ${JSON.stringify(text)} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    last() {
      const lines = out.split('\n');
      for (let i = lines.length - 1; i >= 0; i--) {
        try {
          return JSON.parse(lines[i] as string) as unknown;
        } catch {
          // not a whole JSON line: look at the one before
        }
      }
      return undefined;
    },
  };
}

/** The CPU a stopped server reported spending (its last JSON line's serveCpuSeconds), or undefined when it reported none. */
export function serveCpuOf(report: { last(): unknown }): number | undefined {
  const seconds = (report.last() as { serveCpuSeconds?: unknown } | undefined)?.serveCpuSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? seconds : undefined;
}
