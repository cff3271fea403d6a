#!/usr/bin/env node
// The `atlas` command: a launcher for the compiled CLI in dist/ (built by `npm install` via prepare).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('atlas: the CLI is not built (dist/cli/main.js is missing): run `npm install` or `npm run build`\n');
  process.exit(1);
}
// Loading the CLI takes a few hundred milliseconds, with nothing open yet: a stop meanwhile ends it
// here as the CLI would, with one line and 128 + the signal's number.
const whileLoading = (signal, code) => () => {
  process.stderr.write(`atlas: interrupted by ${signal}\n`);
  process.exit(code);
};
const onInterrupt = whileLoading('SIGINT', 130);
const onTerminate = whileLoading('SIGTERM', 143);
process.once('SIGINT', onInterrupt);
process.once('SIGTERM', onTerminate);
const { main } = await import(pathToFileURL(entry).href);
process.removeListener('SIGINT', onInterrupt);
process.removeListener('SIGTERM', onTerminate);
await main(process.argv.slice(2));
