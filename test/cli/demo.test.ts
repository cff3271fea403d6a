/**
 * `atlas demo` as a real process: small networks that converge and exit 0 with the summary and no
 * temporary data left behind, a --json summary, a --data corpus, and the --timeout failure; the
 * put phase (chunks put to node 0) under --timeout, with progress lines, stopped by SIGINT.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { atlasCommand, errorLines, ROOT, runAtlas } from './helpers.js';

/** Each run gets its own TMPDIR, so what the demo leaves behind is visible. */
const base = mkdtempSync(join(tmpdir(), 'atlas-demo-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
function tempDir(name: string): string {
  return mkdtempSync(join(base, `${name}-`));
}

/** What a demo left in its TMPDIR (tsx keeps its own cache there too). */
function leftovers(tmp: string): string[] {
  return readdirSync(tmp).filter((name) => name.startsWith('atlas-demo-'));
}

describe('atlas demo', () => {
  it('converges with 3 nodes and 200 generated chunks, prints the summary, exits 0 and removes its data', async () => {
    const tmp = tempDir('small');
    const result = await runAtlas(['demo', '--nodes', '3', '--chunks', '200', '--generated', '--timeout', '60'], { env: { TMPDIR: tmp }, timeoutMs: 70_000 });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toMatch(/^atlas demo: 3 nodes over HTTP on 127\.0\.0\.1, 200 generated zone files/m);
    // progress lines, since stdout is not a terminal here
    expect(result.stdout).toMatch(/^\[\s*\d+\.\d s\] node0 200\/200 {2}node1 \d+\/200 {2}node2 \d+\/200/m);
    for (const node of [0, 1, 2]) expect(result.stdout).toMatch(new RegExp(`^${node}\\s+127\\.0\\.0\\.1:\\d+\\s+200/200\\s+\\d+\\.\\d+ s`, 'm'));
    expect(result.stdout).toMatch(/^converged: every node holds every chunk after \d+\.\d+ s$/m);
    expect(result.stdout).toMatch(/^bytes on the wire: /m);
    expect(errorLines(result.stderr)).toEqual([]);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('prints a JSON summary with --json and keeps its data with --keep', async () => {
    const tmp = tempDir('json');
    const result = await runAtlas(['demo', '--nodes', '2', '--chunks', '50', '--generated', '--json', '--keep', '--no-progress'], { env: { TMPDIR: tmp }, timeoutMs: 70_000 });
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as {
      converged: boolean;
      workload: { source: string; chunks: number; bytes: number };
      nodes: { node: number; have: number; total: number; convergedMs: number | null; chunkBytesReceived: number; redundancy: number | null }[];
      usefulBytes: number;
    };
    expect(summary.converged).toBe(true);
    expect(summary.workload.source).toBe('generated');
    expect(summary.workload.chunks).toBe(50);
    expect(summary.usefulBytes).toBe(summary.workload.bytes);
    expect(summary.nodes.map((n) => [n.node, n.have, n.total])).toEqual([
      [0, 50, 50],
      [1, 50, 50],
    ]);
    for (const node of summary.nodes) expect(node.convergedMs).not.toBeNull();
    const kept = /data kept in (\S+)/.exec(result.stderr)?.[1];
    expect(kept).toBeDefined();
    expect(existsSync(join(kept as string, 'chain.jsonl'))).toBe(true);
    expect(readdirSync(kept as string).sort()).toEqual(['chain.jsonl', 'node0', 'node1']);
  });

  it('replicates the zone files of a --data file', async () => {
    const tmp = tempDir('data');
    const corpus = join(base, 'corpus.txt');
    const chunks = generateChunks(30, seededRandom(7));
    writeFileSync(corpus, chunks.map((c) => `${c.address}\n${Buffer.from(c.data).toString('utf8').replace(/\n/g, '\\n')}\n`).join(''));
    const result = await runAtlas(['demo', '--nodes', '2', '--data', corpus, '--no-progress'], { env: { TMPDIR: tmp }, timeoutMs: 70_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`30 zone files`);
    expect(result.stdout).toContain(`from ${corpus}`);
    expect(result.stdout).toMatch(/^1\s+127\.0\.0\.1:\d+\s+30\/30/m);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('reports and exits 1 with one line when it does not converge in time', async () => {
    const tmp = tempDir('timeout');
    const result = await runAtlas(['demo', '--nodes', '2', '--chunks', '300', '--generated', '--timeout', '0.001'], { env: { TMPDIR: tmp }, timeoutMs: 70_000 });
    expect(result.code).toBe(1);
    expect(errorLines(result.stderr)).toEqual(['atlas: the demo did not converge within 0.001 s']);
    expect(result.stdout).toMatch(/^did not converge within/m);
    expect(result.stdout).toMatch(/^1\s+127\.0\.0\.1:\d+\s+\d+\/300\s+no\s/m);
    expect(leftovers(tmp)).toEqual([]);
  });
});

/** A put progress line: `[   0.3 s] putting chunks: 1,500 of 3,000`. */
const PUT_LINE = /^\[\s*\d+\.\d s\] putting chunks: ([\d,]+) of ([\d,]+)$/gm;

function putLines(text: string): { put: number; total: number }[] {
  return [...text.matchAll(PUT_LINE)].map((m) => ({ put: Number((m[1] as string).replace(/,/g, '')), total: Number((m[2] as string).replace(/,/g, '')) }));
}

describe('atlas demo: the put phase', () => {
  it('stops putting at --timeout, reports what the nodes hold and exits 1 with the usual line', async () => {
    // 3,000 chunks are 6 batches to node 0; past a 1 ms deadline at most the batch under way (or
    // the one after it) goes in: before, every chunk was put whatever --timeout said.
    const tmp = tempDir('put-timeout');
    const result = await runAtlas(['demo', '--nodes', '3', '--chunks', '3000', '--generated', '--timeout', '0.001', '--json'], { env: { TMPDIR: tmp }, timeoutMs: 70_000 });
    expect(result.code, result.stderr).toBe(1);
    const errors = errorLines(result.stderr);
    expect(errors.at(-1)).toBe('atlas: the demo did not converge within 0.001 s');
    // Progress lines go to stderr under --json: the put phase's last one says how far it got.
    const puts = putLines(result.stderr);
    expect(puts.length, result.stderr).toBeGreaterThan(0);
    expect(puts.at(-1)?.total).toBe(3000);
    expect(puts.at(-1)?.put).toBeLessThanOrEqual(1000);
    const summary = JSON.parse(result.stdout) as {
      converged: boolean;
      workload: { bytes: number };
      nodes: { node: number; have: number; total: number; chunkBytes: number; convergedMs: number | null }[];
      usefulBytes: number;
    };
    expect(summary.converged).toBe(false);
    expect(summary.nodes[0]?.have).toBe(puts.at(-1)?.put);
    // What was replicated is what the receiving nodes hold, not the workload once per node.
    const held = summary.nodes.filter((n) => n.node !== 0).reduce((sum, n) => sum + n.chunkBytes, 0);
    expect(summary.usefulBytes).toBe(held);
    expect(summary.usefulBytes).toBeLessThan(summary.workload.bytes);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('prints progress lines while it puts the chunks to node 0, the last one with every chunk', async () => {
    const tmp = tempDir('put-progress');
    const result = await runAtlas(['demo', '--nodes', '2', '--chunks', '3000', '--generated', '--timeout', '60', '--interval', '0.001'], { env: { TMPDIR: tmp }, timeoutMs: 70_000 });
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const puts = putLines(result.stdout);
    expect(puts.at(-1), result.stdout).toEqual({ put: 3000, total: 3000 });
    // Counting up, and before the nodes' lines.
    expect(puts.map((p) => p.put)).toEqual([...puts.map((p) => p.put)].sort((a, b) => a - b));
    const lastPut = result.stdout.lastIndexOf('putting chunks: 3,000 of 3,000');
    const firstNodes = result.stdout.search(/^\[\s*\d+\.\d s\] node0 /m);
    expect(firstNodes).toBeGreaterThan(lastPut);
    expect(result.stdout).toMatch(/^converged: every node holds every chunk/m);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('stops at SIGINT while it puts the chunks, prints the summary, exits 130 and removes its data', async () => {
    const tmp = tempDir('put-sigint');
    const { command, args } = atlasCommand(['demo', '--nodes', '2', '--chunks', '20000', '--generated', '--timeout', '600', '--interval', '0.001']);
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
    delete env.ATLAS_DEBUG;
    delete env.NODE_OPTIONS;
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalledDuringPut: boolean | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (signalledDuringPut !== undefined || putLines(stdout).length === 0) return;
      // The first put line: the signal goes in while chunks are being put (unless that was the last batch).
      signalledDuringPut = putLines(stdout).every((p) => p.put < p.total);
      child.kill('SIGINT');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the demo did not end within 90 s\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, 90_000);
      child.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(signalledDuringPut, `no put progress line before the end\n${stdout}`).toBe(true);
    expect(code, stderr).toBe(130);
    expect(errorLines(stderr)).toEqual(['atlas: interrupted by SIGINT']);
    // What is known: how far the put got, and the table.
    expect(putLines(stdout).at(-1)?.put).toBeLessThan(20000);
    expect(stdout).toMatch(/^interrupted after \d+\.\d+ s: \d of 2 nodes held every chunk$/m);
    expect(stdout).toMatch(/^0\s+127\.0\.0\.1:\d+\s+[\d,]+\/20,000\s/m);
    expect(leftovers(tmp)).toEqual([]);
  }, 100_000);
});
