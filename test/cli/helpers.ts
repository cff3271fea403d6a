/**
 * Running the real `atlas` command in a child process: from the TypeScript sources through tsx
 * (fast, no build), or the published launcher bin/atlas.js against dist/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_SOURCE = join(ROOT, 'src', 'cli', 'main.ts');
export const BIN = join(ROOT, 'bin', 'atlas.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** tsx named by its path: `--import tsx` resolves from the child's working folder, which may be any. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** How the command is launched: tsx over the sources by default. */
export function atlasCommand(args: readonly string[], entry: 'source' | 'bin' = 'source'): { command: string; args: string[] } {
  return entry === 'source'
    ? { command: process.execPath, args: ['--import', TSX, CLI_SOURCE, ...args] }
    : { command: process.execPath, args: [BIN, ...args] };
}

/** A child environment without a TTY and without the debug switch, like CI. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.ATLAS_DEBUG;
  delete env.NODE_OPTIONS;
  return env;
}

/** Runs `atlas ...args` to completion; kills it (and fails) past timeoutMs. */
export function runAtlas(args: readonly string[], options: { timeoutMs?: number; entry?: 'source' | 'bin'; cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const { command, args: argv } = atlasCommand(args, options.entry);
  return runProcess(command, argv, options);
}

export function runProcess(command: string, args: readonly string[], options: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  // Generous: a loaded 2-core machine running several tsx processes at once can take long to start them.
  return collect(child, options.timeoutMs ?? 60_000, `${args.join(' ')}`);
}

function collect(child: ChildProcess, timeoutMs: number, label: string): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`atlas ${label} still running after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface RunningNode {
  child: ChildProcess;
  address: string;
  /** Everything written to stderr so far (JSON log lines). */
  stderr(): string;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/** Starts `atlas node ... --json` and resolves once it logs the address it listens on. */
export function startAtlasNode(args: readonly string[], timeoutMs = 20_000): Promise<RunningNode> {
  const { command, args: argv } = atlasCommand(['node', '--json', ...args]);
  const child = spawn(command, argv, { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = collect(child, 120_000, 'node');
  let stderr = '';
  child.stderr?.on('data', (d: Buffer | string) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`atlas node did not report its address within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    const onData = () => {
      for (const line of stderr.split('\n')) {
        const parsed = parseJson(line);
        if (parsed?.msg === 'listening' && typeof parsed.address === 'string') {
          clearTimeout(timer);
          child.stderr?.off('data', onData);
          resolve({
            child,
            address: parsed.address,
            stderr: () => stderr,
            stop: async (signal = 'SIGTERM') => {
              child.kill(signal);
              return exited;
            },
          });
          return;
        }
      }
    };
    child.stderr?.on('data', onData);
    exited.then(
      (result) => {
        clearTimeout(timer);
        reject(new Error(`atlas node exited early (${result.code})\n${result.stderr}`));
      },
      () => undefined,
    );
  });
}

function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Non-empty lines of a text. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim().length > 0);
}

/**
 * Lines of stderr other than Node's process warnings, e.g. the one-time notice that the native
 * hash addon is unavailable (on a machine without a compiler): they are not the CLI's output.
 */
export function errorLines(stderr: string): string[] {
  return lines(stderr).filter((l) => !/^\(node:\d+\) /.test(l) && !l.startsWith('(Use `node --trace-warnings'));
}

/** The failure contract: a non-zero `code` and exactly one line on stderr, `atlas: ...` matching `pattern`, no stack trace. */
export function expectOneLineFailure(result: RunResult, code: number, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  const errors = errorLines(result.stderr);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^atlas: /);
  expect(errors[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}
