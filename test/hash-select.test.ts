// Backend selection happens once, at load, from ATLAS_HASH and from whether the addon exists, so
// each case runs in its own child process (`node --import tsx`) that reports what it picked.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATIVE_ADDON_PATH } from '../src/hash/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonBuilt = existsSync(NATIVE_ADDON_PATH);
const ABC = 'bb1be98c142444d7a56aa3981c3942a978e4dc33'; // see test/hash.test.ts for its provenance
const CHILD_TIMEOUT_MS = 30_000;

interface ChildReport {
  ok: boolean;
  backend?: string;
  abc?: string;
  /** What hashing did before hashReady() resolved: 'hashed' or an error code. */
  early?: string;
  code?: string;
  message?: string;
  stderr: string;
}

/**
 * Imports the hash module at `moduleRoot` in a fresh node, with ATLAS_HASH set or unset, and
 * hashes (unless `importOnly`, which stands for a CLI call such as --version that hashes nothing).
 */
function runChild(
  moduleRoot: string,
  atlasHash: string | undefined,
  preload: string[] = [],
  options: { env?: NodeJS.ProcessEnv; importOnly?: boolean } = {},
): Promise<ChildReport> {
  const moduleUrl = pathToFileURL(join(moduleRoot, 'src', 'hash', 'index.ts')).href;
  const script = `
    try {
      const m = await import(${JSON.stringify(moduleUrl)});
      if (${options.importOnly === true}) {
        console.log(JSON.stringify({ ok: true, backend: m.hashBackend() }));
        process.exit(0);
      }
      let early = 'hashed';
      try { m.hash160(new Uint8Array(0)); } catch (error) { early = error.code; }
      await m.hashReady();
      console.log(JSON.stringify({ ok: true, backend: m.hashBackend(), abc: m.hash160Hex(new TextEncoder().encode('abc')), early }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, code: error.code, message: error.message }));
    }`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.ATLAS_HASH;
  if (atlasHash !== undefined) env.ATLAS_HASH = atlasHash;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...preload, '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: moduleRoot, env, timeout: CHILD_TIMEOUT_MS, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`child failed: ${error.message}\n${stderr}`));
        const lastLine = stdout.trim().split('\n').pop() ?? '';
        resolve({ ...(JSON.parse(lastLine) as Omit<ChildReport, 'stderr'>), stderr });
      },
    );
  });
}

/** Lines of the fallback notice (src/native-fallback.ts) in a child's stderr. */
const fallbackWarnings = (stderr: string): number => stderr.split('\n').filter((line) => line.startsWith('atlasnet: native code unavailable')).length;

describe('ATLAS_HASH and fallback, in child processes', () => {
  // A copy of the sources with no build/ beside it: what a user without a compiler has.
  let withoutAddon: string;

  beforeAll(() => {
    withoutAddon = mkdtempSync(join(tmpdir(), 'atlas-hash-noaddon-'));
    // Only what src/hash/ imports: itself, the error types and the fallback notice.
    cpSync(join(root, 'src', 'hash'), join(withoutAddon, 'src', 'hash'), { recursive: true });
    for (const file of ['errors.ts', 'native-fallback.ts']) cpSync(join(root, 'src', file), join(withoutAddon, 'src', file));
    writeFileSync(join(withoutAddon, 'package.json'), JSON.stringify({ type: 'module' }));
    symlinkSync(join(root, 'node_modules'), join(withoutAddon, 'node_modules'), 'dir');
  });

  afterAll(() => {
    if (withoutAddon) rmSync(withoutAddon, { recursive: true, force: true });
  });

  it('forced backends are used, hash correctly, and warn about nothing', async () => {
    const [node, wasm] = await Promise.all([runChild(root, 'node'), runChild(root, 'wasm')]);
    expect(node).toMatchObject({ ok: true, backend: 'node', abc: ABC });
    expect(wasm).toMatchObject({ ok: true, backend: 'wasm', abc: ABC });
    // hash-wasm instantiates asynchronously: before hashReady() the sync API says so clearly.
    expect(wasm.early).toBe('NOT_STARTED');
    expect(node.early).toBe('hashed');
    expect(fallbackWarnings(node.stderr) + fallbackWarnings(wasm.stderr)).toBe(0);
  });

  it.skipIf(!addonBuilt)('with the addon built, the default and ATLAS_HASH=native both use it, silently', async () => {
    const [auto, forced, empty] = await Promise.all([runChild(root, undefined), runChild(root, 'native'), runChild(root, '')]);
    for (const report of [auto, forced, empty]) {
      expect(report).toMatchObject({ ok: true, backend: 'native', abc: ABC });
      expect(fallbackWarnings(report.stderr)).toBe(0);
    }
  });

  it('without the addon, the default falls back to node:crypto and says so in one line, at the first hash', async () => {
    const report = await runChild(withoutAddon, undefined);
    expect(report).toMatchObject({ ok: true, backend: 'node', abc: ABC });
    expect(fallbackWarnings(report.stderr)).toBe(1);
    expect(report.stderr.trim().split('\n')).toHaveLength(1);
    // How to get native speed, and how to silence it.
    expect(report.stderr).toContain('hashing on node:crypto');
    expect(report.stderr).toContain('npm rebuild atlasnet');
    expect(report.stderr).toContain('set ATLAS_HASH=node');
    expect(report.stderr).not.toContain('Warning');
  });

  it('without the addon, nothing is printed when nothing is hashed, when ATLAS_HASH chose, or with ATLAS_SKIP_NATIVE=1', async () => {
    const [importOnly, chosen, skipped] = await Promise.all([
      runChild(withoutAddon, undefined, [], { importOnly: true }),
      runChild(withoutAddon, 'node'),
      runChild(withoutAddon, undefined, [], { env: { ATLAS_SKIP_NATIVE: '1' } }),
    ]);
    expect(importOnly).toMatchObject({ ok: true, backend: 'node' });
    expect(chosen).toMatchObject({ ok: true, backend: 'node', abc: ABC });
    expect(skipped).toMatchObject({ ok: true, backend: 'node', abc: ABC });
    for (const report of [importOnly, chosen, skipped]) expect(report.stderr).toBe('');
  });

  it('without the addon and without RIPEMD-160 in node:crypto, it falls back to hash-wasm and warns once', async () => {
    // Simulates a node whose OpenSSL keeps RIPEMD-160 in the legacy provider (OpenSSL 3.0.0-3.0.6).
    const preload = join(withoutAddon, 'no-ripemd160.cjs');
    writeFileSync(
      preload,
      `const crypto = require('node:crypto');
       const refuse = (original) => function (algorithm, ...rest) {
         if (String(algorithm).toLowerCase() === 'ripemd160') throw new Error('Digest method not supported');
         return original.call(this, algorithm, ...rest);
       };
       crypto.createHash = refuse(crypto.createHash);
       if (crypto.hash) crypto.hash = refuse(crypto.hash);
       require('node:module').syncBuiltinESMExports();`,
    );
    const report = await runChild(withoutAddon, undefined, ['--require', preload]);
    expect(report).toMatchObject({ ok: true, backend: 'wasm', abc: ABC });
    expect(fallbackWarnings(report.stderr)).toBe(1);
    expect(report.stderr).toContain('hashing on hash-wasm');
    expect(report.stderr).toContain('set ATLAS_HASH=wasm');
    // And forcing node:crypto there is a clear error.
    const forced = await runChild(withoutAddon, 'node', ['--require', preload]);
    expect(forced).toMatchObject({ ok: false, code: 'INTERNAL' });
    expect(forced.message).toContain('node:crypto has no ripemd160');
  });

  it('without the addon, ATLAS_HASH=native is a clear error at load', async () => {
    const report = await runChild(withoutAddon, 'native');
    expect(report.ok).toBe(false);
    expect(report.code).toBe('INTERNAL');
    expect(report.message).toContain('ATLAS_HASH=native');
    expect(report.message).toContain('npm run build:native');
  });

  it('an unknown ATLAS_HASH value is refused at load, naming the valid ones', async () => {
    const report = await runChild(root, 'openssl');
    expect(report).toMatchObject({ ok: false, code: 'INTERNAL' });
    expect(report.message).toContain('"openssl" is not one of native, node, wasm');
  });
});
