/** `atlas missing --peer <addr>`: the announced chunks a running node does not hold yet. */
import type { Command } from 'commander';
import { intParser, secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { getNodeJson } from '../node-http.js';
import { formatSeconds, formatTable, inlineText, remoteText, writeJson, writeLine } from '../output.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerOption } from '../remote.js';
import { MISSING_PATH } from '../../sync/sources/missing-route.js';

interface MissingOptions {
  peer: string;
  timeout: number;
  limit: number;
  json?: boolean;
}

interface MissingItem {
  address: string;
  positions: number[];
  ageMs: number;
  attempts: number;
  lastAttemptAt?: number;
  nextAttemptAt: number;
  lastError?: string;
}

/** A listed chunk with the fields a row shows, of their types (a remote node may send anything). */
function isMissingItem(value: unknown): value is MissingItem {
  if (typeof value !== 'object' || value === null) return false;
  const item = value as Record<string, unknown>;
  return typeof item.address === 'string' && Array.isArray(item.positions) && typeof item.ageMs === 'number' && typeof item.attempts === 'number' && typeof item.nextAttemptAt === 'number' && (item.lastAttemptAt === undefined || typeof item.lastAttemptAt === 'number') && (item.lastError === undefined || typeof item.lastError === 'string');
}

export function registerMissingCommand(program: Command): void {
  program
    .command('missing')
    .description('list the announced chunks a running node does not hold, with their age and last attempt')
    .addOption(peerOption('the node to ask'))
    .option('--limit <n>', 'most chunks listed', intParser(1, 1_000), 100)
    .option('-t, --timeout <seconds>', 'deadline of the call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .option('--json', 'print JSON')
    .action(async (options: MissingOptions) => {
      const { status, body } = await getNodeJson(options.peer, `${MISSING_PATH}?limit=${options.limit}`, options.timeout);
      if (status !== 200 || !Array.isArray(body.missing)) throw new CliError(`${options.peer} answered HTTP ${status}: ${String(body.error ?? 'no missing list')}`);
      const items = (body.missing as unknown[]).filter(isMissingItem);
      if (options.json) {
        writeJson(body);
        return;
      }
      const skipped = (body.missing as unknown[]).length - items.length;
      if (skipped > 0) process.stderr.write(`atlas: ${skipped} malformed item(s) of ${options.peer}'s list skipped\n`);
      if (items.length === 0) {
        if (skipped === 0) writeLine('every announced chunk is held');
        return;
      }
      // Attempt times are the node's clock: shown relative to the first-seen age.
      const rows = items.map((m) => [m.address, String(m.positions.length), formatSeconds(m.ageMs), String(m.attempts), m.lastAttemptAt === undefined ? '-' : `${formatSeconds(m.nextAttemptAt - m.lastAttemptAt)} back-off`, (m.lastError ?? '').slice(0, 80)]);
      writeLine(
        formatTable(
          [
            { header: 'address' },
            { header: 'positions', align: 'right' },
            { header: 'age', align: 'right' },
            { header: 'attempts', align: 'right' },
            { header: 'retry' },
            { header: 'last error' },
          ],
          rows,
        ),
      );
      writeLine(`${inlineText(remoteText(body.total))} announced chunk(s) not held`);
    });
}
