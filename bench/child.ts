import { spawn } from 'node:child_process';

export interface JsonChildOptions {
  /** Named in errors, e.g. "sim worker (mesh, 100 nodes)". */
  label: string;
  /** Node flags before `--import tsx`, e.g. ['--expose-gc']. */
  nodeArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Killed past this; the run then fails. */
  timeoutMs?: number;
}

/**
 * Runs a TypeScript bench script in its own process (its own heap and RSS, or another backend
 * chosen by environment) and resolves with the last line it prints, parsed as JSON.
 */
export function runJsonChild<T>(script: string, args: readonly string[], options: JsonChildOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      ...(options.env ? { env: options.env } : {}),
    });
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (timer !== undefined) clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`${options.label} exited with ${code} without a result`));
      resolve(JSON.parse(last) as T);
    });
  });
}
