/** `atlas put <file>... --peer <addr>`: puts chunks to a running node; says saved or refused per file. */
import type { Command } from 'commander';
import { hash160Hex, hashReady } from '../../hash/index.js';
import { DEFAULT_LIMITS } from '../../protocol/limits.js';
import { parsePeer, secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { readChunkFiles } from '../files.js';
import { formatTable, writeJson, writeLine } from '../output.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerError, withRemote } from '../remote.js';

interface PutOptions {
  peer: string;
  json?: boolean;
  timeout: number;
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
    .requiredOption('-p, --peer <host:port>', 'the node to put to', parsePeer)
    .option('--json', 'print JSON: [{ file, address, bytes, saved }]')
    .option('-t, --timeout <seconds>', 'deadline of each call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .action(async (files: string[], options: PutOptions) => {
      const chunks = await readChunkFiles(files);
      await hashReady();
      const reports: PutReport[] = chunks.map((c) => ({ file: c.file, address: hash160Hex(c.data), bytes: c.data.byteLength, saved: false }));
      await withRemote(options.timeout, async ({ client }) => {
        for (let i = 0; i < chunks.length; i += DEFAULT_LIMITS.maxPutChunks) {
          const batch = chunks.slice(i, i + DEFAULT_LIMITS.maxPutChunks);
          let saved: boolean[];
          try {
            saved = (await client.putChunks(options.peer, { chunks: batch.map((c) => c.data) })).saved;
          } catch (error) {
            throw peerError(options.peer, error);
          }
          saved.forEach((ok, j) => {
            const report = reports[i + j];
            if (report) report.saved = ok;
          });
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
        throw new CliError(`${refused} of ${reports.length} chunks refused by ${options.peer} (not announced on its chain?)`);
      }
    });
}
