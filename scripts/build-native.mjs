#!/usr/bin/env node
// Builds the optional native hash addon (native/ -> build/Release/atlas_native.node).
// Install must never fail because of it: without a compiler, or with ATLAS_SKIP_NATIVE=1,
// the library falls back to node:crypto / hash-wasm and says so once at run time.
// Prints exactly one line; `--force` (npm run build:native) exits 1 when the build fails.
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

// The addon calls the OpenSSL inside the running node binary, so it must compile against the
// headers of that very node. Most installs ship them beside the binary (<prefix>/include/node,
// OpenSSL's included); using them also spares node-gyp a download of the headers, which fails
// offline. An explicit nodedir (npm config or environment) still wins.
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = join(dirname(process.execPath), '..');
  const headers = join(prefix, 'include', 'node');
  return existsSync(join(headers, 'node_api.h')) && existsSync(join(headers, 'openssl', 'sha.h')) ? [`--nodedir=${prefix}`] : [];
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

const [command, prefix] = nodeGypCommand();
const result = spawnSync(command, [...prefix, 'rebuild', ...nodedirArgs()], {
  cwd: root,
  stdio: process.env.ATLAS_NATIVE_VERBOSE === '1' ? 'inherit' : 'pipe',
  encoding: 'utf8',
});

if (result.status === 0) {
  console.log('atlasnet: native hash addon built');
} else {
  console.log(`atlasnet: native hash addon not built (${failureReason(result)}); using the node:crypto fallback`);
  if (force) process.exit(1);
}
