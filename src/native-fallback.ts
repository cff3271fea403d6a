/**
 * The one notice atlasnet prints when it runs without a native backend it expected: a single
 * stderr line, at the first real use (so `atlas --version` and `--help` stay quiet), never when
 * ATLAS_HASH / ATLAS_BITMAP chose the fallback explicitly.
 */

/** A component that fell back from native code without being told to. */
export interface Fallback {
  /** What slowed down, e.g. "hashing". */
  readonly component: string;
  /** The backend running instead, e.g. "node:crypto". */
  readonly running: string;
  /** Setting that picks the running backend explicitly (and silences the notice), e.g. "ATLAS_HASH=node". */
  readonly silence: string;
  /** The package whose install script builds the native code, e.g. "atlasnet". */
  readonly rebuild: string;
  /**
   * The package is not installed at all: npm leaves out an optional dependency whose build failed,
   * and `npm rebuild` cannot build what is not there; it is installed again instead.
   */
  readonly missing?: boolean;
}

/** Set to 1 when installing to skip the addon's build; at run time it also means "no notice". */
export const SKIP_NATIVE_ENV = 'ATLAS_SKIP_NATIVE';

/** True when the user chose to run without native code (no notice then). */
export function nativeSkipped(): boolean {
  return process.env[SKIP_NATIVE_ENV] === '1';
}

/**
 * The backend an environment variable names (e.g. ATLAS_HASH=node), undefined when it is unset;
 * a name not in `names` throws from `refuse`.
 */
export function backendChosenBy<Name extends string>(env: string, names: readonly Name[], refuse: (message: string) => Error): Name | undefined {
  const raw = process.env[env];
  if (raw === undefined || raw === '') return undefined;
  if ((names as readonly string[]).includes(raw)) return raw as Name;
  throw refuse(`${env}=${JSON.stringify(raw)} is not one of ${names.join(', ')}`);
}

const pending: Fallback[] = [];
let printed = false;

/** Records a fallback; the notice names every one recorded before the first use. */
export function recordFallback(fallback: Fallback): void {
  pending.push(fallback);
}

/** The notice line for these fallbacks; undefined when there are none. */
export function fallbackNotice(fallbacks: readonly Fallback[]): string | undefined {
  if (fallbacks.length === 0) return undefined;
  const what = fallbacks.map((f) => `${f.component} on ${f.running}`).join(', ');
  const packages = (missing: boolean) => [...new Set(fallbacks.filter((f) => (f.missing === true) === missing).map((f) => f.rebuild))].join(' ');
  const commands = [packages(false) && `npm rebuild ${packages(false)}`, packages(true) && `npm install ${packages(true)}`].filter(Boolean).join('`, `');
  const silence = fallbacks.map((f) => f.silence).join(' ');
  return (
    `atlasnet: native code unavailable, running ${what} (slower); ` +
    `for native speed let install scripts run with a C++ toolchain present (\`${commands}\`); ` +
    `to silence, set ${silence}`
  );
}

/** Prints the notice at most once per process. */
export function printFallbackNotice(): void {
  if (printed) return;
  printed = true;
  const line = fallbackNotice(pending);
  if (line !== undefined) process.stderr.write(`${line}\n`);
}

/**
 * A stand-in for `target` whose every method prints the notice, then calls `swap(target)` so the
 * caller uses `target` itself from then on (no cost after the first call) and delegates.
 */
export function noticeOnFirstCall<T extends object>(target: T, swap: (target: T) => void): T {
  const stand = {} as Record<string, unknown>;
  for (const [key, value] of Object.entries(target)) {
    stand[key] =
      typeof value === 'function'
        ? (...args: unknown[]) => {
            printFallbackNotice();
            swap(target);
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          }
        : value;
  }
  return stand as T;
}

/** Whether a native module failed to load because it is not installed (not because its addon did not build). */
export function isNotInstalled(reason: string): boolean {
  return /Cannot find (module|package)|MODULE_NOT_FOUND/.test(reason);
}
