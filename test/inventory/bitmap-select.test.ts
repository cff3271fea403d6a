// ATLAS_BITMAP and the default choice, each in a fresh node (the backend is picked once at load).
// The fallback itself (roaring installed without its binary, or not installed) is exercised for
// real by test/package/install.test.ts.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fallbackNotice, isNotInstalled } from '../../src/native-fallback.js';
import { nativeRoaringMissing } from './backend.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const moduleUrl = pathToFileURL(join(root, 'src', 'inventory', 'index.ts')).href;

interface Report {
  ok: boolean;
  backend?: string;
  info?: { backend: string; forced: boolean; nativeUnavailable?: string };
  bytes?: number[];
  code?: string;
  message?: string;
  stderr: string;
}

function runChild(atlasBitmap: string | undefined): Promise<Report> {
  const script = `
    try {
      const m = await import(${JSON.stringify(moduleUrl)});
      const bytes = Array.from(m.Inventory.fromPositions([0, 2, 3, 7, 9], 10).toBytes());
      console.log(JSON.stringify({ ok: true, backend: m.bitmapBackend(), info: m.bitmapBackendInfo(), bytes }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, code: error.code, message: error.message }));
    }`;
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ATLAS_BITMAP;
  if (atlasBitmap !== undefined) env.ATLAS_BITMAP = atlasBitmap;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, env, timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`child failed: ${error.message}\n${stderr}`));
      resolve({ ...(JSON.parse(stdout.trim().split('\n').pop() ?? '') as Omit<Report, 'stderr'>), stderr });
    });
  });
}

describe('ATLAS_BITMAP, in child processes', () => {
  it('wasm is used when asked for, encodes the same bytes, and prints nothing', async () => {
    const report = await runChild('wasm');
    expect(report).toMatchObject({ ok: true, backend: 'wasm', info: { backend: 'wasm', forced: true }, bytes: [0b1011_0001, 0b0100_0000] });
    expect(report.stderr).toBe('');
  });

  it.skipIf(nativeRoaringMissing() !== undefined)('with roaring loadable, the default and ATLAS_BITMAP=native use it, silently', async () => {
    const [auto, forced] = await Promise.all([runChild(undefined), runChild('native')]);
    expect(auto).toMatchObject({ ok: true, backend: 'native', info: { forced: false }, bytes: [0b1011_0001, 0b0100_0000] });
    expect(forced).toMatchObject({ ok: true, backend: 'native', info: { forced: true } });
    expect(auto.stderr + forced.stderr).toBe('');
  });

  it('an unknown value is refused at load, naming the valid ones', async () => {
    const report = await runChild('simd');
    expect(report).toMatchObject({ ok: false, code: 'INTERNAL' });
    expect(report.message).toContain('ATLAS_BITMAP="simd" is not one of native, wasm');
  });
});

describe('the fallback notice', () => {
  it('is one line naming what runs instead, how to get native speed and how to silence it', () => {
    const line = fallbackNotice([
      { component: 'hashing', running: 'node:crypto', silence: 'ATLAS_HASH=node', rebuild: 'atlasnet' },
      { component: 'bitmaps', running: 'roaring-wasm', silence: 'ATLAS_BITMAP=wasm', rebuild: 'roaring' },
    ]);
    expect(line).toBe(
      'atlasnet: native code unavailable, running hashing on node:crypto, bitmaps on roaring-wasm (slower); ' +
        'for native speed let install scripts run with a C++ toolchain present (`npm rebuild atlasnet roaring`); ' +
        'to silence, set ATLAS_HASH=node ATLAS_BITMAP=wasm',
    );
    expect(fallbackNotice([])).toBeUndefined();
  });

  it('advises installing a package npm left out (its build failed at install), rebuilding one that is there', () => {
    const line = fallbackNotice([
      { component: 'hashing', running: 'node:crypto', silence: 'ATLAS_HASH=node', rebuild: 'atlasnet' },
      { component: 'bitmaps', running: 'roaring-wasm', silence: 'ATLAS_BITMAP=wasm', rebuild: 'roaring', missing: true },
    ]);
    expect(line).toContain('(`npm rebuild atlasnet`, `npm install roaring`)');
    expect(isNotInstalled("Cannot find module 'roaring'")).toBe(true);
    expect(isNotInstalled('Cannot find package \'roaring\' imported from /x.js')).toBe(true);
    expect(isNotInstalled('roaring.node: invalid ELF header')).toBe(false);
  });
});
