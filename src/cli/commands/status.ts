/** `atlas status [-p <peer>]`: a running node's state, address, chunks held, peers and neighbours. */
import type { Command } from 'commander';
import { secondsParser } from '../args.js';
import { CliError } from '../errors.js';
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
      const status = await readStatus(options.peer, options.timeout * 1000);
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
        ['neighbours', (status.neighbors ?? []).join(', ') || '-'],
        ['rate', `${(status.chunksPerSecond ?? 0).toFixed(1)} chunks/s`],
      ];
      writeLine(formatTable([{ header: 'status' }, { header: '' }], rows));
    });
}

async function readStatus(peer: string, timeoutMs: number): Promise<StatusReply> {
  let response: Response;
  try {
    response = await fetch(`http://${peer}/status`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    if ((error as Error).name === 'TimeoutError') throw new CliError(`${peer} did not answer in time (${timeoutMs / 1000} s)`);
    throw new CliError(`cannot reach ${peer}: ${cause ?? (error as Error).message}`, undefined, { cause: error });
  }
  const body = await readBounded(response, MAX_STATUS_BYTES, peer);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new CliError(`${peer} sent a status that is not JSON (HTTP ${response.status})`);
  }
  if (!response.ok) throw new CliError(`${peer} refused the status request (HTTP ${response.status})`);
  if (typeof parsed !== 'object' || parsed === null) throw new CliError(`${peer} sent a malformed status`);
  return parsed as StatusReply;
}

async function readBounded(response: Response, maxBytes: number, peer: string): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const next = await reader?.read();
    if (next === undefined || next.done) break;
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader?.cancel();
      throw new CliError(`${peer} sent a status larger than ${maxBytes} bytes`);
    }
    parts.push(next.value);
  }
  return Buffer.concat(parts).toString('utf8');
}
