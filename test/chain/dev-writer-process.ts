/**
 * One writer of dev-writers.test.ts, in a process of its own: waits for the go file, then
 * announces `count` addresses one at a time on the dev chain at `path`, each starting with its
 * `prefix` digit; prints "done" once all are written.
 * node --import tsx dev-writer-process.ts <path> <goFile> <prefix> <count>
 */
import { existsSync } from 'node:fs';
import { DevChain } from '../../src/chain/dev.js';

const [path, goFile, prefix, countArg] = process.argv.slice(2) as [string, string, string, string];
const chain = await DevChain.open(path);
for (let waited = 0; !existsSync(goFile); waited++) {
  if (waited > 2_000) throw new Error('no go file');
  await new Promise((resolve) => setTimeout(resolve, 5));
}
for (let i = 0; i < Number(countArg); i++) await chain.announce({ address: `${prefix}${i.toString(16).padStart(39, '0')}` });
await chain.close();
process.stdout.write('done\n');
