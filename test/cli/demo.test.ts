/**
 * `atlas demo` as a real process: small networks that converge and exit 0 with the summary and no
 * temporary data left behind, a --json summary, a --data corpus, and the --timeout failure.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/runtime.js';
import { generateChunks } from '../../src/sim/workload.js';
import { errorLines, runAtlas } from './helpers.js';

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
