/**
 * How the CLI fails: one clear line on stderr and a non-zero exit code, never a stack trace.
 * Exit codes: 1 an operation failed (unreachable peer, refused chunk, bad file, timeout),
 * 2 bad usage (unknown option, malformed argument), 130 interrupted.
 */
import { oneLine } from '../command-line.js';
import { isAtlasError } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

/** An error the CLI reports as one line, with its exit code. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_FAILURE, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** A command that has already reported its own outcome: only the exit code is left to set. */
export class ReportedExit extends CliError {
  constructor(exitCode: number) {
    super('', exitCode);
    this.name = 'ReportedExit';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EPERM: 'operation not permitted',
  EADDRINUSE: 'address already in use',
};

/** One line, no stack: the message of anything thrown, with the AtlasError code when there is one. */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof CliError) text = error.message;
  else if (isAtlasError(error)) text = `${error.message} (${error.code})`;
  else if (isErrnoException(error)) {
    const known = error.code !== undefined ? FILE_ERRORS[error.code] : undefined;
    text = known !== undefined && error.path !== undefined ? `${error.path}: ${known}` : error.message;
  } else if (error instanceof Error) text = error.message;
  else text = String(error);
  // One line, shown and never obeyed by the terminal: the message may quote a remote node.
  return oneLine(text);
}

export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : EXIT_FAILURE;
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}
