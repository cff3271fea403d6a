/** `atlas sim <scenario> ...`: the simulator's own command line (src/sim/cli.ts), under atlas. */
import type { Command } from 'commander';
import { ReportedExit } from '../errors.js';

export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run a scenario in the deterministic simulator (`atlas sim --help`, `atlas sim --list`)')
    .helpOption(false) // the simulator prints its own usage
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'scenario and options, as `atlas sim --help` describes')
    .action(async (args: string[]) => {
      const { runSimCommand } = await import('../../sim/cli.js');
      const code = await runSimCommand(args);
      if (code !== 0) throw new ReportedExit(code);
    });
}
