#!/usr/bin/env node
// The `atlas` command: a launcher for the compiled CLI in dist/ (built by `npm install` via prepare).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('atlas: the CLI is not built (dist/cli/main.js is missing): run `npm install` or `npm run build`\n');
  process.exit(1);
}
const { main } = await import(pathToFileURL(entry).href);
await main(process.argv.slice(2));
