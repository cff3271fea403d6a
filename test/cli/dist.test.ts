/**
 * The published shape: bin/atlas.js launching the compiled CLI in dist/, and the examples run
 * against the compiled package as `import ... from 'atlasnet'`. The package is compiled into a
 * temporary copy (package.json, bin/, examples/, node_modules and build/ linked) so the test
 * neither needs nor touches the checkout's own dist/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLines, ROOT, runProcess } from './helpers.js';

const RECORD_IMPORTS = join(ROOT, 'test', 'support', 'record-imports.mjs');
/** Modules outside dist/cli/ that the command declarations import (parsers, limits, file names). */
const LIGHT_MODULES = [
  'dist/errors.js',
  'dist/address.js',
  'dist/peer-address.js',
  'dist/http-body.js',
  'dist/command-line.js',
  'dist/peers/address-policy.js',
  'dist/protocol/limits.js',
  'dist/inventory/varint.js',
  'dist/options-overlay.js',
  'dist/store/lmdb-file.js',
  'dist/store/lock.js',
  'dist/file-lock.js',
  'dist/store/file-error.js',
  'dist/durable-file.js',
  'dist/store/types.js',
  'dist/store/chunk-log-format.js',
  'dist/transport/http-io.js',
  'dist/sync/sources/missing-route.js',
];

const pkg = mkdtempSync(join(tmpdir(), 'atlas-dist-test-'));
const bare = mkdtempSync(join(tmpdir(), 'atlas-bare-test-'));
afterAll(() => {
  rmSync(pkg, { recursive: true, force: true });
  rmSync(bare, { recursive: true, force: true });
});

const atlas = (args: string[], timeoutMs = 30_000) => runProcess(process.execPath, [join(pkg, 'bin', 'atlas.js'), ...args], { cwd: pkg, timeoutMs });

beforeAll(() => {
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'examples'), join(pkg, 'examples'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  if (existsSync(join(ROOT, 'build'))) symlinkSync(join(ROOT, 'build'), join(pkg, 'build'), 'dir');
  const tsc = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist'), '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  // Type errors elsewhere still emit JavaScript; only a missing CLI is fatal here (typecheck is its own step).
  if (!existsSync(join(pkg, 'dist', 'cli', 'main.js')) || !existsSync(join(pkg, 'dist', 'index.js'))) {
    throw new Error(`the build did not produce dist/cli/main.js:\n${tsc.stdout}\n${tsc.stderr}`);
  }
  mkdirSync(join(bare, 'bin'));
  cpSync(join(ROOT, 'bin', 'atlas.js'), join(bare, 'bin', 'atlas.js'));
}, 120_000);

describe('bin/atlas.js', () => {
  it('says in one line how to build when dist/ is missing, exiting 1', async () => {
    const result = await runProcess(process.execPath, [join(bare, 'bin', 'atlas.js'), '--help'], { cwd: bare });
    expect(result.code).toBe(1);
    expect(errorLines(result.stderr)).toEqual(['atlas: the CLI is not built (dist/cli/main.js is missing): run `npm install` or `npm run build`']);
  });

  it('ends with its one line and 130 when interrupted while the CLI is still loading', async () => {
    // A module hook holds dist/cli/main.js back for 3 s: the launcher alone is up meanwhile.
    const hooks = `export async function load(url, context, next) {
  if (url.endsWith('/dist/cli/main.js')) await new Promise((resolve) => setTimeout(resolve, 3000));
  return next(url, context);
}`;
    const slow = join(pkg, 'slow-main.mjs');
    writeFileSync(slow, `import { register } from 'node:module';\nregister(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});\n`);
    const child = spawn(process.execPath, ['--import', pathToFileURL(slow).href, join(pkg, 'bin', 'atlas.js'), '--version'], { cwd: pkg, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(errorLines(stderr)).toEqual(['atlas: interrupted by SIGINT']);
  });

  it('runs the compiled CLI: version, help, bad usage', async () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    const [v, help, bad] = await Promise.all([atlas(['--version']), atlas(['put', '--help']), atlas(['demo', '--nodes', 'many'])]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(version);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: atlas put [options] <file...>');
    expect(bad.code).toBe(2);
    expect(errorLines(bad.stderr)).toHaveLength(1);
  });

  it('loads only what a command uses: the CLI itself, a command that reads /status, one that calls the protocol', async () => {
    const loaded = async (args: string[], exitCode: number): Promise<string[]> => {
      const log = join(pkg, `imports-${args.join('-').replace(/[^\w.-]/g, '_')}.log`);
      const result = await runProcess(process.execPath, ['--import', RECORD_IMPORTS, join(pkg, 'bin', 'atlas.js'), ...args], { cwd: pkg, env: { RECORD_IMPORTS_TO: log }, timeoutMs: 30_000 });
      expect(result.code, result.stderr).toBe(exitCode);
      if (exitCode !== 0) expect(errorLines(result.stderr)).toHaveLength(1);
      return readFileSync(log, 'utf8').split('\n').filter((url) => url.startsWith('file:')).map((url) => relative(pkg, fileURLToPath(url)));
    };
    // The CLI's own modules, commander, and the few small ones the command declarations use.
    const light = (path: string) =>
      path.startsWith('dist/cli/') || path === 'bin/atlas.js' || /(^|\/)node_modules\/commander\//.test(path) || LIGHT_MODULES.includes(path);
    // What only a command that calls a node's protocol needs on top.
    const client = (path: string) => /^dist\/(transport|protocol)\//.test(path) || path === 'dist/runtime.js' || path === 'dist/listen-error.js' || /(^|\/)node_modules\/msgpackr\//.test(path);
    const [version, status, peers, simList] = await Promise.all([
      loaded(['--version'], 0),
      loaded(['status', '-p', '127.0.0.1:1', '-t', '2'], 1),
      loaded(['peers', '-p', '127.0.0.1:1', '-t', '2'], 1),
      loaded(['sim', '--list'], 0),
    ]);
    expect(version).toContain('dist/cli/main.js');
    expect(version.filter((path) => !light(path))).toEqual([]);
    expect(status.filter((path) => !light(path))).toEqual([]);
    expect(peers).toContain('dist/protocol/client.js');
    expect(peers.filter((path) => !light(path) && !client(path))).toEqual([]);
    // the recorder sees the modules a command loads when it runs
    expect(simList.some((path) => path.startsWith('dist/sim/'))).toBe(true);
  });

  it('runs a command that needs no hash when the hash backend cannot load; one that hashes fails in one line', async () => {
    const env = { ATLAS_HASH: 'no-such-backend' };
    const [version, put] = await Promise.all([
      runProcess(process.execPath, [join(pkg, 'bin', 'atlas.js'), '--version'], { cwd: pkg, env, timeoutMs: 30_000 }),
      runProcess(process.execPath, [join(pkg, 'bin', 'atlas.js'), 'put', join(pkg, 'package.json'), '-p', '127.0.0.1:1', '-w', '0'], { cwd: pkg, env, timeoutMs: 30_000 }),
    ]);
    expect(version.code, version.stderr).toBe(0);
    expect(put.code).toBe(1);
    expect(errorLines(put.stderr)).toEqual([expect.stringMatching(/^atlas: ATLAS_HASH="no-such-backend" is not one of/)]);
  });

  it('runs the demo (what npm start runs) to convergence and exits 0', async () => {
    const result = await atlas(['demo', '--nodes', '2', '--chunks', '100', '--generated', '--timeout', '60'], 70_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^converged: every node holds every chunk/m);
  });
});

describe('entry points', () => {
  it('resolves atlasnet, atlasnet/legacy and atlasnet/testing by name, each with its own exports', async () => {
    const script = [
      "const [root, legacy, testing] = await Promise.all([import('atlasnet'), import('atlasnet/legacy'), import('atlasnet/testing')]);",
      "console.log(typeof root.AtlasNode, typeof legacy.legacyRoutes, typeof testing.MemoryNetwork, 'MemoryNetwork' in root, 'legacyRoutes' in root);",
    ].join('\n');
    const result = await runProcess(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg, timeoutMs: 30_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('function function function false false');
  });
});

describe('examples/', () => {
  const examples = readdirSync(join(ROOT, 'examples')).filter((name) => name.endsWith('.ts'));

  it('has the embedding and metrics examples, and this test runs each', () => {
    expect(examples.sort()).toEqual(['embed.ts', 'metrics.ts']);
  });

  it('embed.ts replicates one chunk between two nodes with a custom chain and transport, then exits 0', async () => {
    const result = await runProcess(process.execPath, ['--import', 'tsx', join(pkg, 'examples', 'embed.ts')], { cwd: pkg, timeoutMs: 40_000 });
    expect(result.code, result.stderr).toBe(0);
    const address = /^a: put ([0-9a-f]{40}) -> saved$/m.exec(result.stdout)?.[1];
    expect(address).toBeDefined();
    expect(result.stdout).toMatch(new RegExp(`^b: stored ${address} from 127\\.0\\.0\\.1:\\d+$`, 'm'));
    expect(result.stdout).toMatch(/^b: progress 1\/1$/m);
    expect(result.stdout).toMatch(/^b: holds \d+ bytes, identical: true$/m);
    // b reached a through its transport wrapper, which counted the calls
    const calls = JSON.parse(/^b's calls by method: (.*)$/m.exec(result.stdout)?.[1] ?? 'null') as Record<string, number>;
    expect(Object.values(calls).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(result.stdout.trimEnd().endsWith('closed')).toBe(true);
  });

  it('metrics.ts serves Prometheus text at /metrics through prom-client, then exits 0', async () => {
    const result = await runProcess(process.execPath, ['--import', 'tsx', join(pkg, 'examples', 'metrics.ts')], { cwd: pkg, timeoutMs: 40_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^GET \/metrics -> 200$/m);
    expect(result.stdout).toMatch(/^atlas_chunks_stored_total\{node="example"\} 3$/m);
    expect(result.stdout).toMatch(/^atlas_chunks_held\{node="example"\} 3$/m);
    expect(result.stderr).toContain('"msg":"node started"');
  });
});
