#!/usr/bin/env node
// `prepack`: builds the hash addon for the platform the package is packed on into
// prebuilds/<platform>-<arch>/ (N-API, so one binary serves every node version), where
// node-gyp-build finds it at run time. An install of the tarball on that platform then has native
// hashing without a compiler and without running install scripts. Fails the pack when the build
// fails: a package published without its prebuild would silently be slower.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localNodedir } from './native-headers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuildify = createRequire(import.meta.url)('prebuildify');
const nodedir = localNodedir();
// prebuildify hands node-gyp a copy of process.env, which node-gyp reads nodedir from.
if (nodedir !== undefined) process.env.npm_config_nodedir = nodedir;

rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
prebuildify({ cwd: root, napi: true, strip: true, quiet: process.env.ATLAS_NATIVE_VERBOSE !== '1'}, (error) => {
  if (error) {
    console.error(`atlasnet: prebuild of the native hash addon failed: ${error.message ?? error}`);
    process.exit(1);
  }
  console.log(`atlasnet: native hash addon prebuilt for ${process.platform}-${process.arch}`);
});
