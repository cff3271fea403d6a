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
      const have = status.have ?? 0;
      const total = status.total ?? 0;
      const rows: [string, string][] = [
        ['node', `${options.peer} (${status.state ?? '?'}, network ${status.network ?? '?'})`],
        ['chunks', `${formatCount(have)} of ${formatCount(total)} announced positions held${total > have ? `, ${formatCount(total - have)} missing` : ''}`],
        ['peers', formatCount(status.peers ?? 0)],
        ['neighbours', (Array.isArray(status.neighbors) ? status.neighbors.map(String) : []).join(', ') || '-'],
        ['rate', `${(status.chunksPerSecond ?? 0).toFixed(1)} chunks/s`],
      ];
      writeLine(formatTable([{ header: 'status' }, { header: '' }], rows));
    });
}

async function readStatus(peer: string, timeoutSeconds: number): Promise<StatusReply> {
  const { status, body } = await getNodeJson(peer, '/status', timeoutSeconds, MAX_STATUS_BYTES);
  if (status !== 200) throw new CliError(`${peer} refused the status request (HTTP ${status})`);
  return body as StatusReply;
}
