/** `atlas announce <file>... --chain <devchain>`: hashes each file and appends its address to a DevChain. */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { readChunkFiles } from '../files.js';
import { readyHash } from '../hash-on-demand.js';
import { formatTable, writeJson, writeLine } from '../output.js';
import { DEFAULT_DATA_DIR } from './node.js';

interface AnnounceOptions {
  chain: string;
  json?: boolean;
}

export function registerAnnounceCommand(program: Command): void {
  program
    .command('announce')
    .description('announce chunk files on a DevChain: each file\'s address is appended, so nodes following that chain admit it')
    .argument('<file...>', 'chunk files (1 to 40,960 bytes each)')
    .option('-c, --chain <file>', 'the DevChain file (created when absent)', `${DEFAULT_DATA_DIR}/chain.jsonl`)
    .option('--json', 'print JSON: [{ file, address, position }]')
    .action(async (files: string[], options: AnnounceOptions) => {
      const chunks = await readChunkFiles(files);
      const [{ hash160Hex }, { announceAll, openDevChain }] = await Promise.all([readyHash(), import('../chain.js')]);
      const items = chunks.map((c) => ({ file: c.file, address: hash160Hex(c.data), key: basename(c.file) }));
      const chain = await openDevChain(resolve(options.chain));
      let positions: number[];
      try {
        positions = await announceAll(chain, items);
      } finally {
        await chain.close();
      }
      const rows = items.map((item, i) => ({ file: item.file, address: item.address, position: positions[i] as number }));
      if (options.json) writeJson(rows);
      else {
        writeLine(
          formatTable(
            [{ header: 'position', align: 'right' }, { header: 'address' }, { header: 'file' }],
            rows.map((r) => [String(r.position), r.address, r.file]),
          ),
        );
      }
    });
}
