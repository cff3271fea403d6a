/**
 * `atlas sim` refuses bad usage before anything runs, in one line naming the option, exit code 2,
 * like every other atlas command: sizes past their documented bounds (SIM_MAX_NODES,
 * SIM_MAX_CHUNKS, SIM_MAX_STORED_BYTES of memory by the measured estimate, SIM_MAX_SEED), a size
 * the scenario sets itself, and an --svg file that cannot be written. The bounds are in its help text.
 *
 * In-process through runSimCommand, with every scenario's run replaced by one that fails at once:
 * a usage error must be found before any run starts (before the bounds, such runs took hours).
 * One real `atlas sim` process shows the same line, and its exit code, through the command.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { runSimCommand, SIM_USAGE } from '../../src/sim/cli.js';
import { chunkCopiesMemory, SIM_MAX_CHUNKS, SIM_MAX_NODES, SIM_MAX_STORED_BYTES, SIM_MEMORY_PER_CHUNK_COPY } from '../../src/sim/limits.js';
import { SCENARIOS } from '../../src/sim/scenarios/index.js';
import { errorLines, runAtlas } from './helpers.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

let scenarioRuns: MockInstance[] = [];
beforeEach(() => {
  scenarioRuns = SCENARIOS.map((scenario) => vi.spyOn(scenario, 'run').mockRejectedValue(new Error(`the ${scenario.name} scenario started`)));
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Runs `atlas sim` in-process, where no scenario can run: only for argv refused before a run, or listings and help. */
async function sim(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = capture();
  const code = await runSimCommand(argv, io);
  const started = SCENARIOS.filter((_, i) => scenarioRuns[i]!.mock.calls.length > 0).map((scenario) => scenario.name);
  expect(started, `scenarios started by atlas sim ${argv.join(' ')}`).toEqual([]);
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
    expectUsageLine(await sim(['mesh', '--quiet', '--nodes', String(SIM_MAX_NODES + 1)]), new RegExp(`--nodes .*from 2 to ${SIM_MAX_NODES}, got "${SIM_MAX_NODES + 1}"`));
    // Below a scenario's own minimum: refused the same way, naming that minimum.
    expectUsageLine(await sim(['line', '--quiet', '--nodes', '2']), new RegExp(`--nodes must be a whole number from 3 to ${SIM_MAX_NODES}, got "2"`));
    expectUsageLine(await sim(['mesh', '--quiet', '--chunks', String(SIM_MAX_CHUNKS + 1)]), new RegExp(`--chunks .*from 1 to ${SIM_MAX_CHUNKS}, got "${SIM_MAX_CHUNKS + 1}"`));
    expectUsageLine(
      await sim(['scale', '--quiet', '--nodes', '5000']),
      new RegExp(`--nodes 5000 x --chunks 1000 \\(the default\\).*more than the ${SIM_MAX_STORED_BYTES / 1024 ** 3} GiB`),
    );
    expectUsageLine(await sim(['mesh', '--quiet', '--seed', '9007199254740992']), /--seed .*2\^53 - 1, got "9007199254740992"/);
    // 40 KiB chunks count for their size.
    expectUsageLine(await sim(['big-chunks', '--chunks', '20000']), /--chunks 20000 would take about 2\.3 GiB of memory for its chunk copies \(41,984 B a copy, 40,960 B of it the chunk/);
  });

  it('bounds a run by its measured memory, not 180 B a chunk copy, and says what would fit', async () => {
    // 110 x 100,000 passed the old bound (1.8 GiB of chunk bytes) and went past 5 GB of RSS.
    const refused = await sim(['mesh', '--quiet', '--nodes', '110', '--chunks', '100000']);
    expectUsageLine(
      refused,
      new RegExp(
        `^atlas sim: --nodes 110 x --chunks 100000 would take about 12\\.3 GiB of memory for its chunk copies \\(${(180 + SIM_MEMORY_PER_CHUNK_COPY).toLocaleString('en-US')} B a copy, 180 B of it the chunk, as measured\\), ` +
          `more than the 2 GiB a run may take; at most --chunks (\\d+) with 110 nodes, or --nodes (\\d+) with 100000 chunks`,
      ),
    );
    // What it proposes fits, and one more does not.
    const [, chunks, nodes] = /--chunks (\d+) with 110 nodes, or --nodes (\d+)/.exec(refused.err) as unknown as [string, string, string];
    expect(chunkCopiesMemory(110, Number(chunks), 180)).toBeLessThanOrEqual(SIM_MAX_STORED_BYTES);
    expect(chunkCopiesMemory(110, Number(chunks) + 1, 180)).toBeGreaterThan(SIM_MAX_STORED_BYTES);
    expect(chunkCopiesMemory(Number(nodes), 100_000, 180)).toBeLessThanOrEqual(SIM_MAX_STORED_BYTES);
    expect(chunkCopiesMemory(Number(nodes) + 1, 100_000, 180)).toBeGreaterThan(SIM_MAX_STORED_BYTES);
    // Measured sizes within the bound are taken (the stubbed run then fails at once).
    const { io, err } = capture();
    expect(await runSimCommand(['mesh', '--quiet', '--nodes', '40', '--chunks', '20000'], io)).toBe(1);
    expect(err.join('')).toMatch(/mesh could not run: the mesh scenario started/);
  });

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
      // sim() checks that the scenario never started.
      const result = await sim(['mesh', '--nodes', '3', '--chunks', '5', '--svg', path]);
      expectUsageLine(result, new RegExp(`--svg ".*": ${why.source}`));
    }
  });

  it('creates a new --svg file to check it (then removes it) rather than trusting access(), and leaves an existing one as it is', async () => {
    // access() says yes to root for a folder nothing can be created in: the whole run went on, then failed to write (exit 1).
    // /proc is such a folder on Linux; elsewhere there is none to try.
    if (existsSync('/proc/self')) {
      expectUsageLine(await sim(['mesh', '--nodes', '3', '--chunks', '5', '--svg', '/proc/atlas-test-x.svg']), /--svg "\/proc\/atlas-test-x\.svg": cannot create a file in \/proc\b/);
    }
    const existing = join(dir, 'existing.svg');
    const before = Buffer.from('<svg>not to be touched</svg>\n');
    await writeFile(existing, before);
    const fresh = join(dir, 'fresh.svg');
    for (const path of [existing, fresh]) {
      // Accepted: the (stubbed) scenario starts, and fails at once, so nothing writes the plot.
      const { io, err } = capture();
      expect(await runSimCommand(['mesh', '--nodes', '3', '--chunks', '5', '--quiet', '--svg', path], io)).toBe(1);
      expect(err.join('')).toMatch(/mesh could not run: the mesh scenario started/);
    }
    expect(await readFile(existing)).toEqual(before);
    await expect(stat(fresh)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('the real command prints the same one line through `atlas sim`', async () => {
    const result = await runAtlas(['sim', 'mesh', '--bogus']);
    expectUsageLine(result, /unknown option '--bogus'.*atlas sim --help/);
    expect(result.stderr).not.toContain('usage:');
  });
});
