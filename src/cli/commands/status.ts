/** `atlas status [-p <peer>]`: a running node's state, address, chunks held, peers and neighbours. */
import type { Command } from 'commander';
import { secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { getNodeJson } from '../node-http.js';
import { formatCount, formatTable, writeJson, writeLine } from '../output.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerOption } from '../remote.js';

/** Largest status reply read. */
const MAX_STATUS_BYTES = 1 << 20;

interface StatusOptions {
  peer: string;
  json?: boolean;
  timeout: number;
}

interface StatusReply {
  state?: string;
  address?: string;
  network?: string;
  sequenceLength?: number;
  have?: number;
  total?: number;
  chunks?: number;
  peers?: number;
  neighbors?: string[];
  chunksPerSecond?: number;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("show a running node's state: chunks held out of announced, peers, neighbours")
    .addOption(peerOption('the node to ask'))
    .option('--json', "print the node's whole status as JSON")
    .option('-t, --timeout <seconds>', 'deadline of the call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .action(async (options: StatusOptions) => {
      const status = await readStatus(options.peer, options.timeout);
      if (options.json) {
        writeJson(status);
        return;
      }
      const { shown, skipped } = shownFields(status);
      if (skipped.length > 0) process.stderr.write(`atlas: ${options.peer}'s status: field(s) of the wrong type skipped: ${skipped.join(', ')}\n`);
      const count = (n: number | undefined) => (n === undefined ? '?' : formatCount(n));
      const { have, total } = shown;
      const missing = have !== undefined && total !== undefined && total > have ? `, ${formatCount(total - have)} missing` : '';
      const rows: [string, string][] = [
        ['node', `${options.peer} (${shown.state ?? '?'}, network ${shown.network ?? '?'})`],
        ['chunks', `${count(have)} of ${count(total)} announced positions held${missing}`],
        ['peers', count(shown.peers)],
        ['neighbours', (shown.neighbors ?? []).join(', ') || '-'],
        ['rate', shown.chunksPerSecond === undefined ? '?' : `${shown.chunksPerSecond.toFixed(1)} chunks/s`],
      ];
      writeLine(formatTable([{ header: 'status' }, { header: '' }], rows));
    });
}

async function readStatus(peer: string, timeoutSeconds: number): Promise<StatusReply> {
  const { status, body } = await getNodeJson(peer, '/status', timeoutSeconds, MAX_STATUS_BYTES);
  if (status !== 200) throw new CliError(`${peer} refused the status request (HTTP ${status})`);
  return body as StatusReply;
}

/**
 * The fields a human status shows, each of its type, and the names of those sent with another
 * type, which are left out (a remote node may send anything).
 */
function shownFields(reply: StatusReply): { shown: StatusReply; skipped: ShownField[] } {
  const shown: Record<string, unknown> = {};
  const skipped: ShownField[] = [];
  for (const key of SHOWN_FIELDS) {
    const value = (reply as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (hasShownType(key, value)) shown[key] = key === 'neighbors' ? (value as unknown[]).map(String) : value;
    else skipped.push(key);
  }
  return { shown: shown as StatusReply, skipped };
}

function hasShownType(key: ShownField, value: unknown): boolean {
  if (key === 'neighbors') return Array.isArray(value);
  return typeof value === (STRING_FIELDS.has(key) ? 'string' : 'number');
}

/** The fields the human status shows, in the order a skipped one is named. */
const SHOWN_FIELDS = ['state', 'network', 'have', 'total', 'peers', 'neighbors', 'chunksPerSecond'] as const;
type ShownField = (typeof SHOWN_FIELDS)[number];
const STRING_FIELDS: ReadonlySet<ShownField> = new Set(['state', 'network']);
