// The package as a user gets it: `npm pack` from a copy of this checkout (which runs prepack:
// the prebuilt hash addon, and prepare: the build), then the tarball installed into fresh
// projects three ways. Each time `import('atlasnet')` must work, hash and encode correctly, and
// report the backends that really run. Uses the user's npm cache with --prefer-offline; skips,
// saying why, when the registry cannot be reached. Everything lives under one temporary folder,
// removed at the end.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ABC = 'bb1be98c142444d7a56aa3981c3942a978e4dc33'; // hash160("abc"), see test/hash.test.ts
const STEP_TIMEOUT_MS = 8 * 60_000;
const NOTICE = 'atlasnet: native code unavailable';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without anything a parent `npm test` or the developer set for atlasnet. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key.startsWith('ATLAS_') || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: options.timeout ?? STEP_TIMEOUT_MS, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** Why the registry cannot be used from here, or undefined when it answers. */
async function registryUnreachable(): Promise<string | undefined> {
  const ping = await run('npm', ['ping', '--fetch-timeout=10000', '--fetch-retries=0'], { cwd: tmpdir(), timeout: 30_000 });
  return ping.code === 0 ? undefined : `npm ping failed: ${(ping.stderr || ping.stdout).trim().split('\n').pop()}`;
}

const unreachable = await registryUnreachable();
if (unreachable) console.warn(`skipping the install test: the npm registry cannot be reached (${unreachable})`);

/** Runs in the installed project: what a user's first lines would do. */
const PROBE = `
import { createRequire } from 'node:module';
const m = await import('atlasnet');
await m.hashReady();
const abc = m.hash160Hex(new TextEncoder().encode('abc'));
const length = 70_001;
const inventory = m.Inventory.fromPositions([0, 2, 3, 7, 70_000], length);
const bytes = inventory.toBytes();
const decoded = m.Inventory.fromBytes(bytes, length);
let roaringLoads = true;
try { createRequire(import.meta.url)('roaring'); } catch { roaringLoads = false; }
console.log(JSON.stringify({
  abc,
  hash: m.hashBackend(),
  bitmaps: m.bitmapBackend(),
  firstByte: bytes[0],
  lastByte: bytes[bytes.length - 1],
  byteLength: bytes.length,
  decoded: Array.from(decoded.positions()),
  roaringLoads,
}));
`;

interface Probe {
  abc: string;
  hash: string;
  bitmaps: string;
  firstByte: number;
  lastByte: number;
  byteLength: number;
  decoded: number[];
  roaringLoads: boolean;
}

interface Installed {
  probe: Probe;
  /** The probe's stderr. */
  stderr: string;
  version: Run;
  help: Run;
}

/** A folder holding only node, npm and sh: a machine without cc, c++, make or python. */
function binWithoutCompilers(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const npmCli = join(dirname(realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const links: Record<string, string> = { node: realpathSync(process.execPath), npm: existsSync(npmCli) ? npmCli : realpathSync(whichSync('npm')), sh: realpathSync('/bin/sh') };
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(bin, name));
  return bin;
}

function whichSync(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`${name} is not on PATH`);
}

/** The checkout's files as git sees them (tracked, or new and not ignored): a clean clone. */
async function copyCheckout(to: string): Promise<void> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, env: process.env });
  if (listed.code !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir');
}

describe.skipIf(unreachable !== undefined)('the packed tarball, installed three ways', () => {
  let base: string;
  let tarball: string;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'atlasnet-install-'));
    const checkout = join(base, 'checkout');
    await copyCheckout(checkout);
    const packed = await run('npm', ['pack', '--pack-destination', base, '--loglevel=error'], { cwd: checkout });
    expect(packed.code, `npm pack failed:\n${packed.stderr}`).toBe(0);
    const name = readdirSync(base).find((file) => file.endsWith('.tgz'));
    expect(name).toBeDefined();
    tarball = join(base, name as string);
  }, STEP_TIMEOUT_MS);

  afterAll(() => {
    if (base) rmSync(base, { recursive: true, force: true });
  });

  async function installAndProbe(way: string, flags: string[], env: NodeJS.ProcessEnv): Promise<Installed> {
    const project = join(base, way);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `probe-${way}`, version: '1.0.0', private: true, type: 'module' }));
    writeFileSync(join(project, 'probe.mjs'), PROBE);
    const installed = await run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...flags], { cwd: project, env });
    expect(installed.code, `npm install (${way}) failed:\n${installed.stderr}`).toBe(0);
    const probed = await run(process.execPath, ['probe.mjs'], { cwd: project, env });
    expect(probed.code, `import('atlasnet') failed (${way}):\n${probed.stderr}`).toBe(0);
    const atlas = join(project, 'node_modules', 'atlasnet', 'bin', 'atlas.js');
    const version = await run(process.execPath, [atlas, '--version'], { cwd: project, env });
    const help = await run(process.execPath, [atlas, '--help'], { cwd: project, env });
    return { probe: JSON.parse(probed.stdout.trim().split('\n').pop() as string) as Probe, stderr: probed.stderr, version, help };
  }

  function expectCorrect(probe: Probe): void {
    expect(probe.abc).toBe(ABC);
    // Positions 0, 2, 3, 7 are the byte 10110001; 70,000 is bit 0 of byte 8,750.
    expect(probe.firstByte).toBe(0b1011_0001);
    expect(probe.byteLength).toBe(8751);
    expect(probe.lastByte).toBe(0x80);
    expect(probe.decoded).toEqual([0, 2, 3, 7, 70_000]);
    // Native hashing everywhere: the prebuilt addon needs neither a compiler nor install scripts.
    expect(probe.hash).toBe('native');
    // bitmapBackend() tells the truth: native exactly when the roaring addon loads.
    expect(probe.bitmaps).toBe(probe.roaringLoads ? 'native' : 'wasm');
  }

  /** One notice line exactly when a backend fell back; `atlas --version` and `--help` always quiet. */
  function expectNotices(result: Installed): void {
    const notices = result.stderr.split('\n').filter((line) => line.startsWith(NOTICE));
    expect(notices).toHaveLength(result.probe.bitmaps === 'wasm' ? 1 : 0);
    if (notices.length === 1) expect(notices[0]).toContain('ATLAS_BITMAP=wasm');
    expect(result.version.code).toBe(0);
    expect(result.version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(result.version.stderr).toBe('');
    expect(result.help.code).toBe(0);
    expect(result.help.stdout).toContain('Usage: atlas');
    expect(result.help.stderr).toBe('');
  }

  it(
    'normally (install scripts run): native hashing and native bitmaps',
    async () => {
      const result = await installAndProbe('normal', [], cleanEnv());
      expectCorrect(result.probe);
      expect(result.probe.bitmaps).toBe('native');
      // The prebuilt hash addon loads, so nothing is compiled.
      expect(existsSync(join(base, 'normal', 'node_modules', 'atlasnet', 'build'))).toBe(false);
      expectNotices(result);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'with --build-from-source=atlasnet: the hash addon is compiled although a prebuilt one loads, and runs',
    async () => {
      const result = await installAndProbe('from-source', ['--build-from-source=atlasnet'], cleanEnv());
      expectCorrect(result.probe);
      expect(existsSync(join(base, 'from-source', 'node_modules', 'atlasnet', 'build', 'Release', 'atlas_native.node'))).toBe(true);
      expectNotices(result);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'with --ignore-scripts: native hashing from the prebuild, bitmaps on roaring-wasm',
    async () => {
      const result = await installAndProbe('ignore-scripts', ['--ignore-scripts'], cleanEnv());
      expectCorrect(result.probe);
      // roaring ships no binary in its package: without its install script it cannot load.
      expect(result.probe.bitmaps).toBe('wasm');
      expectNotices(result);
    },
    STEP_TIMEOUT_MS,
  );

  it(
    'without a compiler and without network beyond the registry: the install succeeds, roaring is dropped or unloadable',
    async () => {
      const bin = binWithoutCompilers(base);
      const registry = new URL((await run('npm', ['config', 'get', 'registry'], { cwd: base })).stdout.trim() || 'https://registry.npmjs.org/');
      // Downloads other than the registry's (roaring's binary from its release host) go to a
      // proxy that refuses connections.
      const env = cleanEnv({ PATH: bin, http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', no_proxy: registry.hostname, NO_PROXY: registry.hostname });
      for (const tool of ['cc', 'c++', 'g++', 'gcc', 'make', 'python3', 'python']) expect(existsSync(join(bin, tool))).toBe(false);
      const result = await installAndProbe('no-compiler', [], env);
      expectCorrect(result.probe);
      expect(result.probe.bitmaps).toBe('wasm');
      expectNotices(result);
    },
    STEP_TIMEOUT_MS,
  );
});
