/**
 * `atlas sim` refuses bad usage before anything runs, in one line naming the option, exit code 2,
 * like every other atlas command: sizes past their documented bounds (SIM_MAX_NODES,
 * SIM_MAX_CHUNKS, SIM_MAX_STORED_BYTES, SIM_MAX_SEED), a size the scenario sets itself, and an
 * --svg file that cannot be written. The bounds are in its help text.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimCommand, SIM_MAX_CHUNKS, SIM_MAX_NODES, SIM_MAX_STORED_BYTES, SIM_USAGE } from '../../src/sim/cli.js';
import { errorLines, runAtlas, type RunResult } from './helpers.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

/** Runs `atlas sim` in-process; only for argv that must be refused before a run, or that run briefly. */
async function sim(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = capture();
  const code = await runSimCommand(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}

/** One line on stderr, `atlas sim: ...`, naming what was wrong, exit code 2, nothing on stdout. */
function expectUsageLine(result: { code: number | null; out?: string; stdout?: string; err?: string; stderr?: string }, pattern: RegExp): void {
  const stderr = result.err ?? result.stderr ?? '';
  expect(result.code, stderr).toBe(2);
  const errors = errorLines(stderr);
  expect(errors, stderr).toHaveLength(1);
  expect(errors[0]).toMatch(/^atlas sim: /);
  expect(errors[0]).toMatch(pattern);
  expect(result.out ?? result.stdout).toBe('');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atlas-sim-usage-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('atlas sim usage errors', () => {
  it('reports bad usage in one line naming the option, not the whole help text', async () => {
    expectUsageLine(await sim(['mesh', '--bogus']), /unknown option '--bogus'/);
    expectUsageLine(await sim([]), /name one scenario/);
    expectUsageLine(await sim(['mesh', 'line']), /name one scenario.*"mesh" "line"/);
    expectUsageLine(await sim(['nope']), /unknown scenario "nope"/);
    expectUsageLine(await sim(['mesh', '--nodes', 'x']), /--nodes .*"x"/);
    expectUsageLine(await sim(['mesh', '--nodes']), /--nodes/);
    expectUsageLine(await sim(['--list', 'mesh']), /--list/);
    expectUsageLine(await sim(['--list', '--nodes', '3']), /--list .*--nodes/);
    // --quiet and --json change nothing of a listing, and are taken with it as they always were.
    for (const flag of ['--quiet', '--json']) {
      const listed = await sim(['--list', flag]);
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(/^mesh /m);
    }
  });

  it('refuses sizes past their bounds, naming the option and the bound, before anything runs', async () => {
    // In child processes, killed past the timeout: before the bounds these ran for hours.
    const [nodes, chunks, stored, seed] = await Promise.all([
      runAtlas(['sim', 'mesh', '--quiet', '--nodes', String(SIM_MAX_NODES + 1)], { timeoutMs: 30_000 }),
      runAtlas(['sim', 'mesh', '--quiet', '--chunks', String(SIM_MAX_CHUNKS + 1)], { timeoutMs: 30_000 }),
      runAtlas(['sim', 'scale', '--quiet', '--nodes', '5000'], { timeoutMs: 30_000 }),
      runAtlas(['sim', 'mesh', '--quiet', '--seed', '9007199254740992'], { timeoutMs: 30_000 }),
    ]);
    expectUsageLine(nodes as RunResult, new RegExp(`--nodes .*from 1 to ${SIM_MAX_NODES}, got "${SIM_MAX_NODES + 1}"`));
    expectUsageLine(chunks as RunResult, new RegExp(`--chunks .*from 1 to ${SIM_MAX_CHUNKS}, got "${SIM_MAX_CHUNKS + 1}"`));
    expectUsageLine(stored as RunResult, new RegExp(`--nodes 5000 x --chunks 10000 \\(the default\\).*more than the ${SIM_MAX_STORED_BYTES / 1024 ** 3} GiB`));
    expectUsageLine(seed as RunResult, /--seed .*2\^53 - 1, got "9007199254740992"/);
    // 40 KiB chunks count for their size.
    expectUsageLine(await sim(['big-chunks', '--chunks', '20000']), /--chunks 20000 x 40960 B/);
  }, 60_000);

  it('documents the bounds in its help text', async () => {
    const help = await sim(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toBe(SIM_USAGE);
    expect(help.out).toContain(`1 to ${SIM_MAX_NODES.toLocaleString('en-US')}`);
    expect(help.out).toContain(`1 to ${SIM_MAX_CHUNKS.toLocaleString('en-US')}`);
    expect(help.out).toContain(`${SIM_MAX_STORED_BYTES / 1024 ** 3} GiB`);
    expect(help.out).not.toContain('npm');
  });

  it('refuses --nodes for a scenario that sets its own node count, naming the option', async () => {
    const result = await sim(['inventory', '--nodes', '3', '--quiet']);
    expectUsageLine(result, /--nodes does not apply to the inventory scenario/);
    const list = await sim(['--list']);
    expect(list.out).toMatch(/^inventory .*\(1 node fixed; default 25 chunks\)$/m);
    expect(list.out).toMatch(/^mesh .*\(default 9 nodes, 200 chunks\)$/m);
  });

  it('checks the --svg file before the run, not after it', async () => {
    await writeFile(join(dir, 'file.txt'), 'x');
    for (const [path, why] of [
      [join(dir, 'missing-folder', 'plot.svg'), /the folder .*missing-folder does not exist/],
      [dir, /is a directory/],
      [join(dir, 'file.txt', 'plot.svg'), /.*file\.txt is not a folder/],
    ] as const) {
      const result = await sim(['mesh', '--nodes', '3', '--chunks', '5', '--svg', path]);
      // No progress line: the scenario never started.
      expectUsageLine(result, new RegExp(`--svg ".*": ${why.source}`));
    }
  });

  it('the real command prints the same one line through `atlas sim`', async () => {
    const result = await runAtlas(['sim', 'mesh', '--bogus']);
    expectUsageLine(result, /unknown option '--bogus'.*atlas sim --help/);
    expect(result.stderr).not.toContain('usage:');
  });
});
