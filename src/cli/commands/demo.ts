/**
 * `atlas demo` (in a checkout, `npm start` runs it): several nodes over real HTTP on 127.0.0.1, a DevChain
 * announcing the real zone files (generated ones when absent), every chunk put to node 0, live
 * progress until every node holds every chunk, a summary table, then a clean exit that removes
 * the temporary data unless --keep. Bounded by --timeout, after which it reports and exits 1.
 * The work is in actions/demo.ts, loaded when the command runs.
 */
import type { Command } from 'commander';
import type { DemoOptions } from '../actions/demo.js';
import { intParser, parseLogLevel, secondsParser } from '../args.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a small network on 127.0.0.1 and watch it replicate zone files (start here)')
    .option('--nodes <n>', 'nodes to run', intParser(2, 32), 5)
    .option('--chunks <n>', 'zone files to replicate (default: all 1,631)', intParser(1, 1_000_000))
    .option('--generated', 'use generated zone files even when the real ones are present')
    .option('--data <file>', 'zone files to use (pairs of lines: address, zone file with \\n escaped)')
    .option('--timeout <seconds>', 'give up, report and exit 1 after this long', secondsParser(86_400), 120)
    .option('--keep', 'keep the temporary chain and stores (their folder is printed)')
    .option('--json', 'print the summary as JSON on stdout (progress lines go to stderr)')
    .option('--interval <seconds>', 'period of progress lines when not on a terminal', secondsParser(3600), 1)
    .option('--no-progress', 'no live progress, only the summary')
    .option('--log-level <level>', 'node logs on stderr: debug, info, warn, error or silent', parseLogLevel, 'warn')
    .action(async (options: DemoOptions) => (await import('../actions/demo.js')).runDemo(options));
}
