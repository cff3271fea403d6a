/**
 * Runs benchmark suites: `npm run bench [-- --quick] [name...]`. Each suite prints a table with
 * its reference beside every figure and writes JSON to bench/results/. A slow figure is
 * reported, never a failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, meetsTarget, type BenchSuite } from './report.js';

const suites: Record<string, () => Promise<{ default: BenchSuite }>> = {
  hash: () => import('./hash.js'),
  store: () => import('./store.js'),
  inventory: () => import('./inventory.js'),
  sync: () => import('./sync.js'),
  scale: () => import('./scale.js'),
  load: () => import('./load.js'),
  sim: () => import('./sim.js'),
  attack: () => import('./attack.js'),
  stacks: () => import('./stacks.js'),
};

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('--'));
const selected = names.length > 0 ? names : Object.keys(suites);
const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(resultsDir, { recursive: true });

let slow = 0;
for (const name of selected) {
  const load = suites[name];
  if (!load) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(suites).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  const suite = (await load()).default;
  const report = await suite({ quick });
  console.log(formatReport(report) + '\n');
  slow += report.rows.filter((row) => meetsTarget(row) === false).length;
  writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify({ ...report, quick, at: new Date().toISOString() }, null, 2));
}
console.log(slow === 0 ? 'benchmarks: every figure with a target met it' : `benchmarks: ${slow} figure(s) below target (reported, not a failure)`);
