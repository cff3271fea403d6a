import { spawn, type ChildProcess, type Serializable } from 'node:child_process';

export interface JsonChildOptions {
  /** Named in errors, e.g. "sim worker (mesh, 100 nodes)". */
  label: string;
  /** Node flags before `--import tsx`, e.g. ['--expose-gc']. */
  nodeArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Killed past this; the run then fails. */
  timeoutMs?: number;
  /** A plain JavaScript script runs without the TypeScript loader (default false: `--import tsx`). */
  plainJs?: boolean;
}

/**
 * Runs a TypeScript bench script in its own process (its own heap and RSS, or another backend
 * chosen by environment) and resolves with the last line it prints, parsed as JSON.
 */
export function runJsonChild<T>(script: string, args: readonly string[], options: JsonChildOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const loader = options.plainJs ? [] : ['--import', 'tsx'];
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script, ...args], {
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

/**
 * Starts a TypeScript bench script as a long-running service in its own process and resolves
 * with the first line it prints, parsed as JSON (its address, say), once it is ready. With `ipc`
 * the child also gets an IPC channel (process.send / 'message'); `plainJs` as for runJsonChild.
 */
export function startJsonService<T>(script: string, args: readonly string[], options: { ipc?: boolean; plainJs?: boolean } = {}): Promise<{ child: ChildProcess; info: T }> {
  return new Promise((resolve, reject) => {
    const loader = options.plainJs ? [] : ['--import', 'tsx'];
    const child = spawn(process.execPath, [...loader, script, ...args], { stdio: options.ipc ? ['ignore', 'pipe', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const onData = (data: Buffer) => {
      out += data.toString();
      const newline = out.indexOf('\n');
      if (newline >= 0) {
        child.stdout!.off('data', onData);
        resolve({ child, info: JSON.parse(out.slice(0, newline)) as T });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${script} exited ${code} before it was ready`)));
  });
}

/** Stops each child still running (SIGTERM, SIGKILL 5 s later) and resolves once all are gone. */
export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          // Ended already (by a signal, exitCode stays null), or once its output is closed too.
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        }),
    ),
  );
}

/** How long a bench child may take to answer one IPC question (askChild). */
const ANSWER_TIMEOUT_MS = 30_000;

/**
 * Asks a child started with `ipc` one question and resolves with its next message; rejects when
 * the child has gone, goes before answering, or does not answer within `timeoutMs`.
 */
export function askChild<T>(child: ChildProcess, message: Serializable, timeoutMs = ANSWER_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error, answer?: unknown) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(answer as T);
    };
    const onMessage = (answer: unknown) => settle(undefined, answer);
    const onExit = () => settle(new Error(`bench process ${child.pid} exited before answering ${JSON.stringify(message)}`));
    const timer = setTimeout(() => settle(new Error(`bench process ${child.pid} did not answer ${JSON.stringify(message)} within ${timeoutMs} ms`)), timeoutMs);
    if (child.exitCode !== null || child.signalCode !== null || !child.connected) return onExit();
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.send(message, (error) => {
      if (error) settle(error);
    });
  });
}
