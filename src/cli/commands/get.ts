/** `atlas get <address> --peer <addr> [-o file]`: one chunk from a running node, hash-checked. */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { hash160Hex, hashReady } from '../../hash/index.js';
import { parseChunkAddress, parsePeer, secondsParser } from '../args.js';
import { CliError } from '../errors.js';
import { DEFAULT_REMOTE_TIMEOUT_S, peerError, withRemote } from '../remote.js';

interface GetOptions {
  peer: string;
  output?: string;
  timeout: number;
}

export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('fetch one chunk from a running node; its bytes go to stdout or to --output')
    .argument('<address>', 'chunk address, 40 hex characters', parseChunkAddress)
    .requiredOption('-p, --peer <host:port>', 'the node to ask', parsePeer)
    .option('-o, --output <file>', 'write the chunk to this file instead of stdout')
    .option('-t, --timeout <seconds>', 'deadline of the call', secondsParser(3600), DEFAULT_REMOTE_TIMEOUT_S)
    .action(async (address: string, options: GetOptions) => {
      const reply = await withRemote(options.timeout, async ({ client }) => {
        try {
          return await client.getChunks(options.peer, { addresses: [address] });
        } catch (error) {
          throw peerError(options.peer, error);
        }
      });
      const chunk = reply.chunks.find((c) => c.address === address);
      if (chunk === undefined) throw new CliError(`${options.peer} does not hold ${address}`);
      await hashReady();
      if (hash160Hex(chunk.data) !== address) throw new CliError(`${options.peer} sent bytes that do not hash to ${address}`);
      if (options.output !== undefined) {
        await writeFile(options.output, chunk.data).catch((error: NodeJS.ErrnoException) => {
          throw new CliError(`cannot write ${options.output}: ${error.code ?? error.message}`);
        });
        process.stderr.write(`${address}: ${chunk.data.byteLength} bytes written to ${options.output}\n`);
      } else {
        await new Promise<void>((resolve, reject) => process.stdout.write(chunk.data, (error) => (error ? reject(error) : resolve())));
      }
    });
}
