/**
 * `atlas put <file>... [-p <peer>]`: puts chunks to a running node; says saved or refused per file.
 * A node refuses a chunk whose announcement it has not applied yet; right after `atlas announce`
 * it may not have re-read the chain, so refused chunks are offered again for up to --wait seconds.
 */
import type { Command } from 'commander';
import { DEFAULT_LIMITS } from '../../protocol/limits.js';
import { secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { readChunkFiles } from '../files.js';
import { readyHash } from '../hash-on-demand.js';
import { formatTable, writeJson, writeLine } from '../output.js';
import type { ProtocolClient } from '../../protocol/client.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerError, peerOption, withRemote } from '../remote.js';

/** How long refused chunks are offered again by default, waiting for the node to see their announcement. */
export const DEFAULT_PUT_WAIT_S = 10;
const PUT_RETRY_MS = 500;

interface PutOptions {
  peer: string;
  json?: boolean;
  timeout: number;
  wait: number;
}

export interface PutReport {
  file: string;
  address: string;
  bytes: number;
  saved: boolean;
}

export function registerPutCommand(program: Command): void {
  program
    .command('put')
    .description('put chunk files to a running node; each is stored only if its address was announced on the chain')
    .argument('<file...>', 'chunk files (1 to 40,960 bytes each)')
    .addOption(peerOption('the node to put to'))
    .option('--json', 'print JSON: [{ file, address, bytes, saved }]')
    .option('-t, --timeout <seconds>', 'deadline of each call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .option('-w, --wait <seconds>', 'offer refused chunks again for this long: the node may not have applied their announcement yet (0: no wait)', secondsParser(3600, 'no wait'), DEFAULT_PUT_WAIT_S)
    .action(async (files: string[], options: PutOptions) => {
      const chunks = await readChunkFiles(files);
      const { hash160Hex } = await readyHash();
      const reports: PutReport[] = chunks.map((c) => ({ file: c.file, address: hash160Hex(c.data), bytes: c.data.byteLength, saved: false }));
      await withRemote(options.timeout, async ({ client }) => {
        const deadline = Date.now() + options.wait * 1000;
        let told = false;
        for (;;) {
          const pending = reports.flatMap((r, i) => (r.saved ? [] : [i]));
          await putBatches(client, options.peer, pending.map((i) => chunks[i]!.data), (j, ok) => {
            (reports[pending[j]!] as PutReport).saved = ok;
          });
          const refused = reports.filter((r) => !r.saved).length;
          if (refused === 0 || Date.now() >= deadline) break;
          if (!told) {
            process.stderr.write(`atlas: ${options.peer} refused ${refused} chunk(s): waiting up to ${options.wait} s for it to apply their announcement\n`);
            told = true;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(PUT_RETRY_MS, Math.max(0, deadline - Date.now()))));
        }
      });
      if (options.json) writeJson(reports);
      else {
        writeLine(
          formatTable(
            [{ header: 'result' }, { header: 'address' }, { header: 'bytes', align: 'right' }, { header: 'file' }],
            reports.map((r) => [r.saved ? 'saved' : 'refused', r.address, String(r.bytes), r.file]),
          ),
        );
      }
      const refused = reports.filter((r) => !r.saved).length;
      if (refused > 0) {
        throw new CliError(`${refused} of ${reports.length} chunks refused by ${options.peer} (not announced on its chain${options.wait > 0 ? ` after waiting ${options.wait} s` : ''}?)`);
      }
    });
}

async function putBatches(client: ProtocolClient, peer: string, chunks: readonly Uint8Array[], outcome: (index: number, saved: boolean) => void): Promise<void> {
  for (let i = 0; i < chunks.length; i += DEFAULT_LIMITS.maxPutChunks) {
    let saved: boolean[];
    try {
      saved = (await client.putChunks(peer, { chunks: chunks.slice(i, i + DEFAULT_LIMITS.maxPutChunks) })).saved;
    } catch (error) {
      throw peerError(peer, error);
    }
    saved.forEach((ok, j) => outcome(i + j, ok));
  }
}
