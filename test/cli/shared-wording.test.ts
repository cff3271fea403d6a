/**
 * `atlas sim` and the other atlas commands read whole-number options and word their one-line
 * errors through the same helpers (src/command-line.ts): a bad number is said the same way, with
 * its range and the value quoted, and a control character typed on the command line never reaches
 * the terminal. In-process: commander's parse errors and the simulator's usage errors come before
 * any command runs.
 */
import { describe, expect, it, vi } from 'vitest';
import { intParser } from '../../src/cli/args.js';
import { buildProgram, runCli } from '../../src/cli/main.js';
import { readWholeNumber } from '../../src/command-line.js';
import { runSimCommand } from '../../src/sim/cli.js';
import { SIM_MAX_NODES } from '../../src/sim/limits.js';

/** Runs `atlas ...argv` in-process, resolving to its exit code and what it wrote to stderr. */
async function atlasErrors(argv: string[]): Promise<{ code: number; stderr: string }> {
  const written: string[] = [];
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const code = await runCli(argv, buildProgram());
    return { code, stderr: written.join('') };
  } finally {
    stderr.mockRestore();
  }
}

async function simErrors(argv: string[]): Promise<{ code: number; stderr: string }> {
  const written: string[] = [];
  const code = await runSimCommand(argv, { out: () => {}, err: (text) => written.push(text) });
  return { code, stderr: written.join('') };
}

const CONTROL_CHARACTER = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('wording shared by atlas and atlas sim', () => {
  it('says a bad whole number the same way in atlas sim and the other commands, range included', async () => {
    const demo = await atlasErrors(['demo', '--nodes', 'x']);
    expect(demo.code).toBe(2);
    expect(demo.stderr).toContain('--nodes');
    expect(demo.stderr).toContain('expected a whole number from 2 to 32, got "x"');
    const sim = await simErrors(['mesh', '--nodes', 'x']);
    expect(sim.code).toBe(2);
    expect(sim.stderr).toContain(`--nodes must be a whole number from 2 to ${SIM_MAX_NODES}, got "x"`); // mesh needs 2 nodes
  });

  it('quotes an out-of-range value and names the range', () => {
    expect(() => intParser(1, 10)('11')).toThrow('expected a whole number from 1 to 10, got "11"');
    expect(() => intParser(1, 10)('2x')).toThrow('expected a whole number from 1 to 10, got "2x"');
    expect(intParser(0, 10)(' 7')).toBe(7);
  });

  it('reads only decimal digits within the bounds, naming 2^53 - 1 by its name', () => {
    expect(readWholeNumber('42', 1, 100)).toEqual({ value: 42 });
    for (const text of ['', '-1', '1e3', '1.5', '0x10', '101', '0']) expect(readWholeNumber(text, 1, 100)).toHaveProperty('problem');
    expect(readWholeNumber('9007199254740992', 0, Number.MAX_SAFE_INTEGER)).toEqual({ problem: 'a whole number from 0 to 2^53 - 1, got "9007199254740992"' });
    // A long value is cut at 40 characters, and says so.
    expect(readWholeNumber('1'.repeat(60), 1, 100)).toEqual({ problem: `a whole number from 1 to 100, got "${'1'.repeat(40)}…"` });
    expect(readWholeNumber('x'.repeat(40), 1, 100)).toEqual({ problem: `a whole number from 1 to 100, got "${'x'.repeat(40)}"` });
  });

  it('keeps a control character typed on the command line off the terminal, in one line', async () => {
    for (const result of [await atlasErrors(['--bo\u001b[2Jgus']), await simErrors(['mesh', '--bo\u001b[2Jgus'])]) {
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("unknown option '--bo?[2Jgus'");
      expect(result.stderr.trimEnd()).not.toContain('\n');
      expect(result.stderr).not.toMatch(CONTROL_CHARACTER);
    }
  });
});
