/**
 * Bench processes that measure a node run plain JavaScript, as an application on the built
 * package does: the script and the sources it imports are bundled (dependencies stay packages).
 * Under the TypeScript loader the same code ran slower and each process held ~30 MB more (a worker
 * thread and its transpile cache). The bundle sits two levels under the checkout, as dist/ files
 * do, so the native addon is found.
 */
import { build } from 'esbuild';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const results = join(dirname(fileURLToPath(import.meta.url)), 'results');
const bundles = new Map<string, Promise<string>>();

/** The bundled form of the TypeScript script `entry` (built once per run), `bench/results/<prefix><name>.mjs`. */
export function bundleScript(entry: string, prefix = ''): Promise<string> {
  let bundle = bundles.get(entry);
  if (bundle === undefined) {
    const outfile = join(results, `${prefix}${basename(entry).replace(/\.ts$/, '')}.mjs`);
    bundle = build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'warning' }).then(() => outfile);
    bundles.set(entry, bundle);
  }
  return bundle;
}
