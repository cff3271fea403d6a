/**
 * The CLI's help speaks to an installed `atlas`: no `npm start` or other npm script (an installed
 * CLI has none); the way in is `atlas demo`.
 */
import { describe, expect, it } from 'vitest';
import { runAtlas } from './helpers.js';

const COMMANDS = ['node', 'demo', 'inspect', 'announce', 'put', 'get', 'peers', 'status', 'check', 'resolve', 'missing'];

describe('atlas help text', () => {
  it('points at `atlas demo` and never at npm scripts', async () => {
    // Two processes at a time (the machine's cores), not thirteen at once beside the other test files.
    const asks = [['--help'], ['sim', '--help'], ...COMMANDS.map((c) => [c, '--help'])];
    const results: Awaited<ReturnType<typeof runAtlas>>[] = [];
    for (let i = 0; i < asks.length; i += 2) results.push(...(await Promise.all(asks.slice(i, i + 2).map((args) => runAtlas(args)))));
    const top = results[0]!;
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Start with `atlas demo`');
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(/\bnpm\b/);
    }
    // Every command that asks one node asks the local one by default, as the README says.
    for (const command of ['status', 'peers', 'get', 'put', 'resolve', 'missing']) {
      expect(results[COMMANDS.indexOf(command) + 2]!.stdout, command).toMatch(/-p, --peer <host:port> .*\(default: "127\.0\.0\.1:6264"\)/);
    }
  }, 120_000);
});
