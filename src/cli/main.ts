/**
 * The `atlas` command: one module per command under commands/, wired here. Every failure ends as
 * one line on stderr and a non-zero exit code (see errors.ts), never a stack trace.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerAnnounceCommand } from './commands/announce.js';
import { registerCheckCommand } from './commands/check.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerGetCommand } from './commands/get.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerNodeCommand } from './commands/node.js';
import { registerPeersCommand } from './commands/peers.js';
import { registerPutCommand } from './commands/put.js';
import { registerSimCommand } from './commands/sim.js';
import { registerStatusCommand } from './commands/status.js';
import { registerMissingCommand } from './commands/missing.js';
import { registerResolveCommand } from './commands/resolve.js';
import { oneLine } from '../command-line.js';
import { describeError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeOf, ReportedExit } from './errors.js';
import { installStopHandlers, stopReason } from './signals.js';
import { packageRoot } from './package-root.js';

/** Builds the program; commands added later (e.g. `atlas sim`) register on the returned Command. */
export function buildProgram(): Command {
  const program = new Command('atlas')
    .description('Run, watch and talk to peers of the Atlas network (a chain-announced, replicated chunk store).')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
      outputError: (text, write) => write(`atlas: ${oneLine(text.replace(/^error: /, ''))} (see --help)\n`),
    });
  program.addHelpText(
    'after',
    '\nStart with `atlas demo`: a small network on 127.0.0.1 replicating zone files. Commands that print data take --json.\nEvery command has --help, e.g. `atlas node --help`.',
  );
  registerNodeCommand(program);
  registerDemoCommand(program);
  registerInspectCommand(program);
  registerAnnounceCommand(program);
  registerPutCommand(program);
  registerGetCommand(program);
  registerPeersCommand(program);
  registerStatusCommand(program);
  registerSimCommand(program);
  registerCheckCommand(program);
  registerResolveCommand(program);
  registerMissingCommand(program);
  return program;
}

/** Runs the CLI on `argv` (without node and script), resolving to the exit code. */
export async function runCli(argv: readonly string[], program: Command = buildProgram()): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already written help, the version, or its own one-line error.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT_OK;
      if (error.code === 'commander.executeSubCommandAsync') return error.exitCode || EXIT_FAILURE;
      // 'commander.help': help shown because no command was given (`atlas` alone) is a usage error.
      return EXIT_USAGE;
    }
    if (error instanceof ReportedExit) return error.exitCode;
    process.stderr.write(`atlas: ${describeError(error)}\n`);
    if (process.env.ATLAS_DEBUG) process.stderr.write(`${(error as Error | undefined)?.stack ?? ''}\n`);
    return exitCodeOf(error);
  }
}

function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Sets the exit code and makes sure the process ends even if some handle was left open. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  installStopHandlers();
  // A reader that went away (EPIPE) is the normal end of `atlas ... | head`, not a failure.
  const result = await runCli(argv);
  const code = stopReason() === 'EPIPE' ? EXIT_OK : result;
  process.exitCode = code;
  const guard = setTimeout(() => process.exit(code), 3_000);
  guard.unref();
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) await main();
