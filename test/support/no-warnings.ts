/**
 * Setup file for every test file: any process warning (MaxListenersExceededWarning, a deprecation,
 * an experimental feature...) fails the file that caused it, with the warning's name and stack.
 */
import { afterAll } from 'vitest';

/**
 * The one warning atlasnet emits on purpose: on a machine where the native hash addon could not be
 * built, loading the package says once which fallback hashes instead. It reports the machine, not
 * a defect, so it does not fail the suite there.
 */
const EXPECTED_CODES = new Set(['ATLAS_HASH_FALLBACK']);

const warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  if (EXPECTED_CODES.has((warning as NodeJS.ErrnoException).code ?? '')) return;
  warnings.push(warning);
};
process.on('warning', onWarning);

afterAll(async () => {
  await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
  process.off('warning', onWarning);
  if (warnings.length === 0) return;
  const report = warnings.map((w) => `${w.name}: ${w.message}\n${w.stack ?? ''}`).join('\n\n');
  const count = warnings.length;
  warnings.length = 0;
  throw new Error(`${count} process warning(s) were emitted:\n${report}`);
});
