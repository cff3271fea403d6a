#!/usr/bin/env node
// Builds the optional native hash addon (native/ -> build/Release/atlas_native.node).
// Install must never fail because of it: without a compiler, or with ATLAS_SKIP_NATIVE=1,
// the library falls back to node:crypto / hash-wasm and says so once at run time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');

if (process.env.ATLAS_SKIP_NATIVE === '1' && !force) {
  console.log('atlasnet: ATLAS_SKIP_NATIVE=1, not building the native hash addon');
  process.exit(0);
}

function nodeGypCommand() {
  // npm hands lifecycle scripts the path of its own bundled node-gyp.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, [fromNpm]];
  try {
    const require = createRequire(import.meta.url);
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js')]];
  } catch {
    return ['node-gyp', []];
  }
}

const [command, prefix] = nodeGypCommand();
const result = spawnSync(command, [...prefix, 'rebuild'], {
  cwd: root,
  stdio: process.env.ATLAS_NATIVE_VERBOSE === '1' ? 'inherit' : 'pipe',
  encoding: 'utf8',
});

if (result.status === 0) {
  console.log('atlasnet: native hash addon built');
} else {
  const reason = result.error
    ? result.error.message
    : (result.stderr || '').split('\n').filter((l) => /error/i.test(l)).slice(0, 1).join('') || `node-gyp exited ${result.status}`;
  console.log(`atlasnet: native hash addon not built (${reason.trim()}); using the node:crypto fallback`);
  if (force) process.exit(1);
}
