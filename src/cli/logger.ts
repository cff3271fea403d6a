/**
 * The CLI's logger: the library's `Logger` interface, filtered by level, written to stderr either
 * as one readable line per event or as JSON lines (for log collectors). The library itself stays
 * silent unless given a logger; only the CLI creates one.
 */
import type { Logger, LogLevel } from '../runtime.js';
import { printable, terminalSafeJson } from './output.js';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** 'silent' turns every level off. */
export type CliLogLevel = LogLevel | 'silent';
export const CLI_LOG_LEVELS: readonly CliLogLevel[] = [...LOG_LEVELS, 'silent'];

export type LogFormat = 'pretty' | 'json';

export interface CliLoggerOptions {
  level: CliLogLevel;
  format: LogFormat;
  /** Where lines go; default process.stderr. */
  write?: (line: string) => void;
  /** Time stamp source, injectable for tests; default the wall clock. */
  now?: () => Date;
  /** Fields added to every line, e.g. { node: 2 }. */
  base?: Record<string, unknown>;
}

export function isCliLogLevel(value: string): value is CliLogLevel {
  return (CLI_LOG_LEVELS as readonly string[]).includes(value);
}

export function createLogger(options: CliLoggerOptions): Logger & { child(fields: Record<string, unknown>): Logger } {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const threshold = options.level === 'silent' ? LOG_LEVELS.length : LOG_LEVELS.indexOf(options.level);
  const base = options.base ?? {};

  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const all = { ...base, ...fields };
    write(options.format === 'json' ? terminalSafeJson(jsonLine(now(), level, message, all)) : printable(prettyLine(now(), level, message, all)));
  };

  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger({ ...options, write, now, base: { ...base, ...fields } }),
  };
}

function jsonLine(time: Date, level: LogLevel, message: string, fields: Record<string, unknown>): string {
  return safeStringify({ time: time.toISOString(), level, msg: message, ...fields });
}

function prettyLine(time: Date, level: LogLevel, message: string, fields: Record<string, unknown>): string {
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${formatValue(value)}`);
  const clock = time.toISOString().slice(11, 23);
  return [clock, level.toUpperCase().padEnd(5), message, ...parts].join(' ');
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value instanceof Error) return JSON.stringify(value.message);
  return safeStringify(value);
}

/** JSON.stringify that never throws (cycles, BigInt) and keeps Error messages. */
function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (v instanceof Error) return { name: v.name, message: v.message };
        if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
        if (typeof v === 'object' && v !== null) {
          if (seen.has(v)) return '[circular]';
          seen.add(v);
        }
        return v;
      }) ?? 'undefined'
    );
  } catch {
    return '"[unserialisable]"';
  }
}
