#!/usr/bin/env node
// `install`: makes the optional native hash addon available. When a binary that loads is already
// there (prebuilds/ shipped in the package, or an earlier build) nothing is built; otherwise it is
// built from native/ into build/Release/. Install must never fail because of it: without a
// compiler, or with ATLAS_SKIP_NATIVE=1, the library hashes with node:crypto / hash-wasm.
// Prints exactly one line; `--force` (npm run build:native) always builds and exits 1 on failure.
// `npm install --build-from-source` (or `--build-from-source=atlasnet`, this package alone) builds
// even when a prebuilt binary loads; a build that fails then leaves that binary in use.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localNodedir } from './native-headers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');

if (process.env.ATLAS_SKIP_NATIVE === '1' && !force) {
  console.log('atlasnet: ATLAS_SKIP_NATIVE=1, not building the native hash addon');
  process.exit(0);
}

/** The addon node-gyp-build would load, if it loads and hashes correctly. */
function loadableAddon() {
  try {
    const path = require('node-gyp-build').path(root);
    const addon = require(path);
    // An addon built before hash160Chain existed loads, but is rebuilt so it has every function.
    const current = typeof addon.hash160Chain === 'function';
    return current && addon.hash160(new Uint8Array(0)).toString('hex') === 'b472a266d0bd89c13706a4132ccfb16f7c3b9fcb' ? path : undefined;
  } catch {
    return undefined;
  }
}

/** npm's --build-from-source, for every package (true) or for this one by name. */
const fromSource = ['true', 'atlasnet'].includes(process.env.npm_config_build_from_source ?? '');

if (!force && !fromSource) {
  const ready = loadableAddon();
  if (ready) {
    console.log(`atlasnet: native hash addon ready (${ready.slice(root.length + 1)}), nothing to build`);
    process.exit(0);
  }
}

function nodeGypCommand() {
  // npm hands lifecycle scripts the path of its own bundled node-gyp.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return [process.execPath, [fromNpm]];
  try {
    return [process.execPath, [require.resolve('node-gyp/bin/node-gyp.js')]];
  } catch {
    return ['node-gyp', []];
  }
}

/** The most telling line of a failed build: the compiler's or the shell's complaint first. */
function failureReason(result) {
  if (result.error) return result.error.message;
  const lines = `${result.stderr || ''}\n${result.stdout || ''}`.split('\n').map((line) => line.trim());
  const telling = [/: (fatal )?error: /, /not found|no such file/i, /gyp ERR! stack Error:/, /error/i];
  for (const pattern of telling) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line.replace(/^gyp ERR! stack /, '').slice(0, 200);
  }
  return `node-gyp exited ${result.status}`;
}

const nodedir = localNodedir();
const [command, prefix] = nodeGypCommand();
const result = spawnSync(command, [...prefix, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], {
  cwd: root,
  stdio: process.env.ATLAS_NATIVE_VERBOSE === '1' ? 'inherit' : 'pipe',
  encoding: 'utf8',
});

if (result.status === 0) {
  console.log('atlasnet: native hash addon built');
} else {
  // Without --build-from-source, nothing was loadable before the build (else it did not run).
  const prebuilt = fromSource && !force ? loadableAddon() : undefined;
  const instead = prebuilt ? `the prebuilt addon (${prebuilt.slice(root.length + 1)}) runs instead` : 'hashing falls back to node:crypto';
  console.log(`atlasnet: native hash addon not built (${failureReason(result)}); ${instead}`);
  if (force) process.exit(1);
}
